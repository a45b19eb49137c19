#pragma once
/// Internal to the store: binding a row's values in one call. Integers of any width and sign go in
/// as SQLite INTEGERs bit for bit (uint64 ids above 2^63 read back exactly through the same cast).

#include <concepts>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "runtime/base/result.hpp"
#include "runtime/storage/database.hpp"

namespace troupe::checkpoint::store::sql {

template <class T>
status bind_one(storage::statement& s, int index, const T& value) {
  if constexpr (std::same_as<T, bool>) {
    return s.bind_int64(index, value ? 1 : 0);
  } else if constexpr (std::integral<T>) {
    return s.bind_int64(index, static_cast<std::int64_t>(value));
  } else if constexpr (std::convertible_to<T, std::string_view>) {
    return s.bind_text(index, std::string_view{value});
  } else {
    return s.bind_blob(index, std::span<const std::byte>(value));
  }
}

/// Binds `values` to parameters 1, 2, ... and stops at the first error.
template <class... Ts>
status bind_all(storage::statement& s, const Ts&... values) {
  status out;
  int index = 0;
  ((out = out ? bind_one(s, ++index, values) : out), ...);
  return out;
}

/// Prepares `text`, binds `values` and runs it to completion (no rows).
template <class... Ts>
status run(storage::database& db, std::string_view text, const Ts&... values) {
  auto s = db.prepare(text);
  if (!s) return s.err();
  if (auto b = bind_all(*s, values...); !b) return b;
  return s->run();
}

/// Prepares `text`, binds `values` and calls `row(statement&)` for each row, until the rows end
/// or `row` (when it returns a status) answers an error, which is returned.
template <class F, class... Ts>
status for_each_row(storage::database& db, std::string_view text, F&& row, const Ts&... values) {
  auto s = db.prepare(text);
  if (!s) return s.err();
  if (auto b = bind_all(*s, values...); !b) return b;
  for (;;) {
    auto more = s->step();
    if (!more) return more.err();
    if (!*more) return {};
    if constexpr (std::is_void_v<std::invoke_result_t<F&, storage::statement&>>) {
      row(*s);
    } else if (auto r = row(*s); !r) {
      return r;
    }
  }
}

/// Reads a column stored by bind_one from an unsigned integer.
inline std::uint64_t column_u64(const storage::statement& s, int column) {
  return static_cast<std::uint64_t>(s.column_int64(column));
}

}  // namespace troupe::checkpoint::store::sql
