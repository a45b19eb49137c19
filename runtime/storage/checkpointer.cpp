#include "runtime/storage/checkpointer.hpp"

#include <pthread.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <system_error>

#include "runtime/storage/sqlite_error.hpp"

namespace troupe::storage::detail {

namespace {

/// The page size of the file `db` is open on (PRAGMA page_size); 4096 if it cannot be read.
int page_size_of(sqlite3* db) noexcept {
  sqlite3_stmt* stmt = nullptr;
  int size = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    size = sqlite3_column_int(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return size > 0 ? size : 4096;
}

}  // namespace

result<std::unique_ptr<checkpointer>> checkpointer::start(sqlite3* connection, std::string path,
                                                          const options& opts) {
  std::unique_ptr<checkpointer> cp{new checkpointer(connection, std::move(path), opts)};
  try {
    cp->thread_ = std::thread([raw = cp.get()] { raw->run(); });
  } catch (const std::system_error& e) {
    return file_error(cp->path_, errc::internal,
                      std::string{"cannot start the checkpointer thread: "} + e.what());
  }
  return cp;
}

checkpointer::checkpointer(sqlite3* connection, std::string path, const options& opts)
    : db_(connection),
      path_(std::move(path)),
      interval_(opts.checkpoint_interval),
      wal_pages_threshold_(opts.checkpoint_wal_pages),
      restart_pages_(opts.checkpoint_restart_wal_pages),
      page_size_(page_size_of(connection)),
      on_checkpoint_(opts.on_checkpoint) {}

checkpointer::~checkpointer() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  sqlite3_close_v2(db_);
}

void checkpointer::on_commit(sqlite3* writer, int wal_frames) noexcept {
  // The thresholds count 4 KiB pages (options.hpp): the same WAL bytes whatever the file's pages.
  const int wal_pages = static_cast<int>(static_cast<std::int64_t>(wal_frames) * page_size_ / 4096);
  if (wal_pages < requested_at_) requested_at_ = 0;  // the WAL restarted from its beginning
  if (wal_pages < restart_tried_at_) restart_tried_at_ = 0;
  if (restart_pages_ > 0 && wal_pages >= restart_pages_) {
    // Finish on the writing thread, where no commit interleaves (see the header): the next
    // transaction restarts the WAL. If it cannot (SQLITE_BUSY while the background run holds the
    // checkpoint lock, or a reader still using old frames), try again once the WAL grew by an
    // eighth of the limit, not on every commit: each attempt costs the writer a checkpoint.
    if (restart_tried_at_ == 0 || wal_pages - restart_tried_at_ >= std::max(1, restart_pages_ / 8)) {
      restart_tried_at_ = wal_pages;
      checkpoint_on(writer);
    }
    return;
  }
  if (wal_pages - requested_at_ < wal_pages_threshold_) return;
  requested_at_ = wal_pages;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    requested_ = true;
  }
  wake_.notify_one();
}

void checkpointer::run() noexcept {
  // Named so that per-thread CPU (top -H, /proc/PID/task, perf) tells it from the writer.
  pthread_setname_np(pthread_self(), "wal-checkpoint");
  std::unique_lock<std::mutex> lock{mutex_};
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_ || requested_; });
    if (stopping_) break;
    requested_ = false;
    lock.unlock();
    checkpoint_on(db_);
    lock.lock();
  }
}

void checkpointer::checkpoint_on(sqlite3* db) noexcept {
  int wal_frames = -1;
  int checkpointed = -1;
  const auto started = std::chrono::steady_clock::now();
  const int rc =
      sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &checkpointed);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  if (!on_checkpoint_) return;
  checkpoint_report report;
  report.duration_seconds = took.count();
  report.wal_frames = wal_frames;
  report.checkpointed_frames = checkpointed;
  // SQLITE_BUSY from a passive checkpoint only means another checkpoint is running: not a failure.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    report.outcome = sqlite_error(path_, rc, db, "checkpointing the WAL");
  }
  on_checkpoint_(report);
}

}  // namespace troupe::storage::detail
