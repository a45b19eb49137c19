#pragma once
/// The checkpoint store's SQLite schema, as storage migrations (README.md "Schema" explains each
/// table). Add a migration to change it; never edit a released one.

#include <vector>

#include "runtime/storage/options.hpp"

namespace troupe::checkpoint::store {

std::vector<storage::migration> schema_migrations();

}  // namespace troupe::checkpoint::store
