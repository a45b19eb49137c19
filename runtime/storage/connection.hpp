#pragma once
/// Internal to runtime/storage: what a `database` owns. Not part of the API.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

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

  connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  /// Stops the checkpointer, finalizes cached statements, closes the connection, drops the lock.
  ~connection();

  /// Returns a statement to the cache (or finalizes it when the cache is full).
  void give_back(std::string sql, sqlite3_stmt* stmt) noexcept;
};

}  // namespace troupe::storage::detail
