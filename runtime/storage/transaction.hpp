#pragma once
/// An open write transaction (database::begin). Rolled back on destruction unless committed.
/// Thread-safety: as its database. Must not outlive its database.

#include "runtime/base/result.hpp"

namespace troupe::storage {

namespace detail {
struct connection;
}

class transaction {
 public:
  transaction(transaction&& other) noexcept;
  transaction& operator=(transaction&& other) = delete;
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  /// Rolls back when neither commit() nor rollback() was called.
  ~transaction();

  /// Commits. With synchronous=FULL, success means the data is on stable storage. On failure the
  /// transaction is rolled back and the error names the file and the cause (disk full, I/O error).
  /// Either way the transaction is finished; calling commit() twice is errc::invalid_argument.
  status commit();
  /// Rolls back now. Safe to call on a finished transaction (does nothing).
  void rollback() noexcept;
  bool active() const noexcept { return conn_ != nullptr; }

 private:
  friend class database;
  explicit transaction(detail::connection* conn) noexcept : conn_(conn) {}
  detail::connection* conn_;
};

}  // namespace troupe::storage
