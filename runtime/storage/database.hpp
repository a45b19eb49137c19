#pragma once
/// A SQLite database file: one connection, opened in WAL mode with checked pragmas, a migrated
/// schema, an exclusive lock against other processes, and a background WAL checkpointer.
///
/// Thread-safety: a `database` (and the statements and transactions it hands out) is used by one
/// thread at a time; it may be moved to another thread between uses (durable_writer does that).
/// Statements and transactions stay valid when their database object is moved; a moved-from
/// database may only be destroyed or assigned to.
/// Several `database` objects of one process may open the same file (e.g. one writer and readers);
/// another process opening it is refused as long as any of them is open.

#include <memory>
#include <string>
#include <string_view>

#include "runtime/base/result.hpp"
#include "runtime/storage/options.hpp"
#include "runtime/storage/statement.hpp"
#include "runtime/storage/transaction.hpp"

namespace troupe::storage {

namespace detail {
struct connection;
}

class database {
 public:
  /// Opens (or creates) the database at `path`. Every failure is an error whose message starts with
  /// the path and says the cause:
  /// - errc::not_found: the directory does not exist, or the file does not and !create_if_missing;
  /// - errc::busy: another process holds the file (lock file `<path>-lock`), or a SQLite lock;
  /// - errc::io: read-only file or file system, disk full, I/O error;
  /// - errc::corrupt: not a database, malformed, or the open check failed;
  /// - errc::unsupported: the file's schema version is newer than the last migration;
  /// - errc::invalid_argument: migrations not numbered 1, 2, 3, ...;
  /// - errc::internal: a pragma did not take the value asked for (asserted by reading it back).
  static result<database> open(std::string path, const options& opts = {});

  database(database&&) noexcept;
  database& operator=(database&&) noexcept;
  /// Closes the connection (SQLite checkpoints and removes the WAL when it is the last one).
  /// All statements and transactions of this database must be gone (asserted).
  ~database();

  const std::string& path() const noexcept;
  /// PRAGMA user_version after migrations.
  int schema_version() const noexcept;

  /// A prepared statement for one SQL statement, from the cache when an idle one exists. The
  /// statement must not outlive this database.
  result<statement> prepare(std::string_view sql);
  /// Runs SQL text (one or more statements) that returns no rows we need.
  status exec(std::string_view sql);

  /// Starts a transaction (BEGIN IMMEDIATE: takes the write lock now, so commit cannot be refused
  /// for a lock). Only one transaction at a time: a second begin() is errc::invalid_argument.
  result<transaction> begin();
  bool in_transaction() const noexcept;

  /// PRAGMA quick_check or integrity_check. errc::corrupt lists the first problems SQLite found.
  status check_integrity(check_depth depth = check_depth::full);
  /// Runs a passive checkpoint now on this connection (tests, tools; the background checkpointer
  /// normally does this).
  status checkpoint();

 private:
  explicit database(std::unique_ptr<detail::connection> conn) noexcept;
  std::unique_ptr<detail::connection> conn_;
};

}  // namespace troupe::storage
