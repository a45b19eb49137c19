#pragma once
/// The script `troupe kv txn` reads from standard input: one line each, blank lines and lines
/// starting with '#' ignored, words separated by spaces; a VALUE is the rest of the line after the
/// words before it (it may hold spaces; it may be empty).
///
///   compare value KEY OP VALUE                         OP: = != < >
///   compare version|create|mod KEY OP NUMBER           (0 for an absent key: `version KEY = 0`)
///   success|failure put KEY VALUE
///   success|failure del KEY
///   success|failure get KEY
///
/// Pure: no I/O. Errors name the line.

#include <string>

#include "runtime/base/result.hpp"
#include "runtime/wire/client_types.hpp"

namespace troupe::client {

result<wire::kv_txn> parse_txn_script(const std::string& text);

}  // namespace troupe::client
