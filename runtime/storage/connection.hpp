#pragma once
/// Internal to runtime/storage: what a `database` owns. Not part of the API.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/storage/checkpointer.hpp"
#include "runtime/storage/lock_file.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace troupe::storage::detail {

struct connection {
  std::string path;
  sqlite3* db = nullptr;
  /// Idle prepared statements by SQL text; leased ones are counted, not listed.
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> idle_statements;
  std::size_t idle_count = 0;
  std::size_t cache_capacity = 64;
  std::size_t leased_statements = 0;
  bool in_transaction = false;
  int schema_version = 0;
  std::unique_ptr<lock_file> lock;            // null for read-only connections
  std::unique_ptr<checkpointer> checkpoints;  // null when disabled
  /// BEGIN IMMEDIATE and COMMIT, prepared once: sqlite3_exec would parse and compile them again for
  /// every transaction (one per Raft ready batch on the log store's storage thread).
  sqlite3_stmt* begin_statement = nullptr;
  sqlite3_stmt* commit_statement = nullptr;

  connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  /// Stops the checkpointer, finalizes cached statements, closes the connection, drops the lock.
  ~connection();

  /// Returns a statement to the cache (or finalizes it when the cache is full).
  void give_back(std::string sql, sqlite3_stmt* stmt) noexcept;
};

/// Steps `stmt` (prepared from `sql` on first use, kept for the connection's life) to completion
/// and resets it; an error names the file and says what was being done.
status run_cached(connection& conn, sqlite3_stmt*& stmt, const char* sql, std::string_view doing);

}  // namespace troupe::storage::detail
