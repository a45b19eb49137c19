#pragma once
/// Internal to runtime/storage: turns SQLite result codes into troupe::error values whose message
/// names the file, the cause a person can act on, and SQLite's own words.

#include <string>
#include <string_view>

#include "runtime/base/result.hpp"

struct sqlite3;

namespace troupe::storage::detail {

/// `rc` is the (extended) SQLite result code; `db`, when not null, supplies sqlite3_errmsg.
/// `doing` completes "while ...", e.g. "committing".
error sqlite_error(const std::string& path, int rc, sqlite3* db, std::string_view doing);

/// An error about `path` that did not come from SQLite.
error file_error(const std::string& path, errc code, std::string_view cause);

}  // namespace troupe::storage::detail
