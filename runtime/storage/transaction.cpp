#include "runtime/storage/transaction.hpp"

#include <sqlite3.h>

#include "runtime/storage/connection.hpp"
#include "runtime/storage/sqlite_error.hpp"

namespace troupe::storage {

transaction::transaction(transaction&& other) noexcept : conn_(other.conn_) {
  other.conn_ = nullptr;
}

transaction::~transaction() {
  rollback();
}

status transaction::commit() {
  if (conn_ == nullptr) {
    return make_error(errc::invalid_argument,
                      "transaction already finished (commit called twice?)");
  }
  detail::connection* conn = conn_;
  auto committed = detail::run_cached(*conn, conn->commit_statement, "COMMIT", "committing");
  if (committed) {
    conn->in_transaction = false;
    conn_ = nullptr;
    return {};
  }
  // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY): never leave it half-done.
  rollback();
  return committed;
}

void transaction::rollback() noexcept {
  if (conn_ == nullptr) return;
  // SQLite may already have rolled back by itself (after SQLITE_FULL or an I/O error).
  if (sqlite3_get_autocommit(conn_->db) == 0) {
    sqlite3_exec(conn_->db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  conn_->in_transaction = false;
  conn_ = nullptr;
}

}  // namespace troupe::storage
