#pragma once
/// Internal to runtime/storage: the background WAL checkpointer of one database.
///
/// Commits do not run SQLite's automatic checkpoint (wal_autocheckpoint=0), so their latency is the
/// WAL append and its fsync. This thread runs passive checkpoints on its own connection: passive
/// checkpoints take no lock that a writer waits for, so they run concurrently with commits.
///
/// When to checkpoint: after every `checkpoint_wal_pages` pages the WAL grew since the last request
/// (and every `checkpoint_interval`). Not "while the WAL holds more than N pages": the WAL only
/// restarts from its beginning when a writer starts a transaction after a checkpoint that copied
/// everything, which a busy writer never lets a concurrent checkpoint achieve, so a size test
/// stays true and woke the thread after every commit: a checkpoint (two fsyncs and a sort of the
/// WAL's frames) per Raft batch. Instead, once the WAL holds `checkpoint_restart_wal_pages`, the
/// writing thread itself runs one passive checkpoint right after its commit (the wal hook): no
/// commit can interleave with it, so it copies what the background runs left (about the last
/// `checkpoint_wal_pages` pages), completes, and the next transaction restarts the WAL. That
/// bounds the WAL file and costs the writer a short pause once per restart size.

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

  /// The WAL hook of the writing connection `writer` calls this after each commit with the WAL size
  /// in frames (pages of the file), on the writing thread (one thread at a time, as the connection). Cheap, except once
  /// per `checkpoint_restart_wal_pages` where it checkpoints on `writer` (see above).
  void on_commit(sqlite3* writer, int wal_frames) noexcept;

 private:
  checkpointer(sqlite3* connection, std::string path, const options& opts);
  void run() noexcept;
  /// One passive checkpoint on `db`, reported to on_checkpoint_.
  void checkpoint_on(sqlite3* db) noexcept;

  sqlite3* db_;
  std::string path_;
  std::chrono::milliseconds interval_;
  int wal_pages_threshold_;
  int restart_pages_;
  /// The file's page size: the thresholds are in 4 KiB pages, the WAL hook counts the file's.
  int page_size_;
  /// WAL size at the last request (writing thread only); 0 after the WAL restarted.
  int requested_at_ = 0;
  /// WAL size at the writing thread's last restart checkpoint (0: none since the WAL restarted).
  int restart_tried_at_ = 0;
  std::function<void(const checkpoint_report&)> on_checkpoint_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace troupe::storage::detail
