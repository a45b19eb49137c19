#pragma once
/// A prepared SQLite statement leased from its database's cache (database::prepare).
///
/// Parameters are numbered from 1, columns from 0, as in SQLite. Text and blob views returned by
/// column_* stay valid until the next step(), reset() or the statement's destruction.
/// Thread-safety: as its database (one thread at a time). Must not outlive its database.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "runtime/base/result.hpp"

struct sqlite3_stmt;

namespace troupe::storage {

namespace detail {
struct connection;
}

class statement {
 public:
  statement(statement&& other) noexcept;
  statement& operator=(statement&& other) noexcept;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  /// Resets the statement, clears its bindings and returns it to the cache.
  ~statement();

  status bind_int64(int index, std::int64_t value);
  status bind_double(int index, double value);
  /// Copies the text (SQLITE_TRANSIENT): the view need not outlive the call.
  status bind_text(int index, std::string_view value);
  /// Copies the bytes (SQLITE_TRANSIENT).
  status bind_blob(int index, std::span<const std::byte> value);
  /// Binds the bytes without copying them (SQLITE_STATIC): they must stay valid and unchanged until
  /// the parameter is bound again or the statement is destroyed (which clears its bindings).
  /// Saves a copy and an allocation per row where the caller holds the data anyway.
  status bind_blob_view(int index, std::span<const std::byte> value);
  status bind_null(int index);

  /// Advances: true when a row is available, false when the statement is done.
  result<bool> step();
  /// Steps to completion, for statements that return no rows (INSERT, UPDATE, DDL).
  status run();
  /// Resets to run again; keeps bindings.
  void reset() noexcept;

  int column_count() const noexcept;
  bool column_is_null(int column) const noexcept;
  std::int64_t column_int64(int column) const noexcept;
  double column_double(int column) const noexcept;
  std::string_view column_text(int column) const noexcept;
  std::span<const std::byte> column_blob(int column) const noexcept;

  /// Rows changed by the last run of an INSERT, UPDATE or DELETE on this connection.
  std::int64_t changes() const noexcept;
  std::int64_t last_insert_rowid() const noexcept;

 private:
  friend class database;
  statement(detail::connection* conn, sqlite3_stmt* stmt, std::string sql) noexcept;
  status check_bind(int rc, int index);
  void release() noexcept;

  detail::connection* conn_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;  // the cache key
};

}  // namespace troupe::storage
