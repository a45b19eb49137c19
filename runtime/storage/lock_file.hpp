#pragma once
/// Internal to runtime/storage: the exclusive lock that keeps two processes (two nodes) from using
/// one database file. SQLite's own locks are per transaction and would let two nodes interleave
/// writes to one Raft log; this lock is held for as long as the database is open.

#include <string>

#include "runtime/base/result.hpp"

namespace troupe::storage::detail {

/// A reference to the process-wide flock on `<db path>-lock`. The first reference in the process
/// takes flock(LOCK_EX | LOCK_NB) and writes the pid into the file; the last one releases it.
/// References in the same process share the lock (several connections to one file). Thread-safe.
class lock_file {
 public:
  /// errc::busy naming the holder's pid when another process holds it; errc::io or
  /// errc::not_found when the lock file cannot be created.
  static result<lock_file> acquire(const std::string& db_path);

  lock_file(lock_file&& other) noexcept : key_(std::move(other.key_)) { other.key_.clear(); }
  lock_file& operator=(lock_file&& other) noexcept;
  lock_file(const lock_file&) = delete;
  lock_file& operator=(const lock_file&) = delete;
  ~lock_file();

 private:
  explicit lock_file(std::string key) noexcept : key_(std::move(key)) {}
  void release() noexcept;
  std::string key_;  // canonical lock file path; empty when moved from
};

}  // namespace troupe::storage::detail
