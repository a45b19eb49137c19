#pragma once
/// Internal to runtime/storage: the background WAL checkpointer of one database.
///
/// Commits never checkpoint (wal_autocheckpoint=0), so their latency is the WAL append and its
/// fsync only. This thread runs passive checkpoints on its own connection: passive checkpoints
/// take no lock that a writer waits for, so they run concurrently with commits.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/base/result.hpp"
#include "runtime/storage/options.hpp"

struct sqlite3;

namespace troupe::storage::detail {

class checkpointer {
 public:
  /// Takes ownership of `connection` (opened on the same file, same VFS and synchronous mode,
  /// because a checkpoint syncs with the flags of the connection that runs it). Starts the thread;
  /// errc::internal if it cannot be started (the connection is then closed).
  static result<std::unique_ptr<checkpointer>> start(sqlite3* connection, std::string path,
                                                     const options& opts);
  /// Stops and joins the thread, then closes the connection.
  ~checkpointer();
  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;

  /// The WAL hook of the writing connection calls this after each commit with the WAL size in
  /// pages. Thread-safe, cheap: wakes the thread only above the threshold.
  void on_commit(int wal_pages) noexcept;

 private:
  checkpointer(sqlite3* connection, std::string path, const options& opts);
  void run() noexcept;
  void checkpoint_once() noexcept;

  sqlite3* db_;
  std::string path_;
  std::chrono::milliseconds interval_;
  int wal_pages_threshold_;
  std::function<void(const checkpoint_report&)> on_checkpoint_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace troupe::storage::detail
