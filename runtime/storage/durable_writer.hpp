#pragma once
/// Durable writes off the caller's thread (DESIGN.md 1: fsync never runs on a CAF scheduler
/// thread).
///
/// One dedicated thread owns the write connection. Callers submit batches; the thread runs the
/// batches waiting in the queue inside one transaction (group commit: one fsync for all of them),
/// then calls each batch's completion, in submission order, on the writer thread. The actor shell
/// forwards a completion into its own mailbox.
///
/// Metrics: `writer_options::on_commit` receives the commit duration in seconds and the number of
/// batches per transaction, so runtime/metrics can feed `troupe_storage_commit_duration_seconds`
/// without runtime/storage depending on Prometheus.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "runtime/base/result.hpp"
#include "runtime/storage/database.hpp"

namespace troupe::storage {

/// A unit of work run inside the writer's transaction. It may prepare and run statements on the
/// database it is given; it must not keep them past its return, and cannot begin or commit a
/// transaction (begin() refuses). Returning an error undoes this batch's writes only (it runs under
/// its own savepoint); other batches of the transaction still commit. An exception thrown by the
/// batch is caught and reported as errc::internal.
using write_batch = std::function<status(database&)>;

/// Called exactly once per accepted batch, on the writer thread, after the transaction holding the
/// batch committed (status ok: the batch is durable) or failed (the batch is not written). The
/// duration is that of the COMMIT (including the fsync); zero when the batch did not reach it.
/// Must not throw (the process stops) and must not call stop() (it would wait for itself).
using batch_completion = std::function<void(const status&, std::chrono::duration<double>)>;

/// What on_commit sees after each transaction the writer attempts.
struct commit_report {
  double duration_seconds = 0;  ///< the COMMIT statement, fsync included
  std::size_t batches = 0;      ///< batches in this transaction (group commit size)
  bool ok = false;
};

struct writer_options {
  /// Bound on batches waiting; submit() beyond it is errc::busy.
  std::size_t queue_capacity = 1024;
  /// Bound on batches merged into one transaction.
  std::size_t max_batches_per_transaction = 256;
  /// Metrics hook, called on the writer thread after each commit attempt. Must not throw.
  std::function<void(const commit_report&)> on_commit;
};

/// How stop() treats batches still in the queue.
enum class shutdown_mode {
  drain,         ///< run and commit them, then stop
  fail_pending,  ///< complete each with errc::closed without running it
};

class durable_writer {
 public:
  /// Takes the database (opened for writing) and starts the writer thread.
  static result<std::unique_ptr<durable_writer>> start(database db, writer_options opts = {});
  /// stop(shutdown_mode::drain).
  ~durable_writer();
  durable_writer(const durable_writer&) = delete;
  durable_writer& operator=(const durable_writer&) = delete;

  /// Queues a batch. Thread-safe. Errors (the completion is then never called):
  /// errc::busy when the queue is full; errc::closed after stop(); after a failed commit, the
  /// error of that commit (see `failure`).
  status submit(write_batch batch, batch_completion done);

  /// Stops the thread: drains or fails the queued batches, joins, closes the database. Idempotent;
  /// thread-safe; must not be called from a completion.
  void stop(shutdown_mode mode);

  /// After a commit fails (I/O error, disk full, ...) the writer stops writing for good: every
  /// queued and later batch fails with that error. Retrying after a failed fsync can acknowledge
  /// data the kernel already dropped, so the owner must stop (a node stops) or reopen the file.
  std::optional<error> failure() const;

  /// Batches waiting to run (not counting the transaction in progress).
  std::size_t queued() const;

 private:
  struct pending {
    write_batch batch;
    batch_completion done;
  };
  durable_writer(database db, writer_options opts);
  void run() noexcept;
  void run_transaction(std::deque<pending>& group) noexcept;
  void fail_all(std::deque<pending>& group, const error& err) noexcept;

  writer_options opts_;
  std::string path_;            // for messages from any thread
  std::optional<database> db_;  // touched only by the writer thread once started
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<pending> queue_;
  bool stopping_ = false;
  shutdown_mode mode_ = shutdown_mode::drain;
  std::optional<error> failure_;
  std::mutex join_mutex_;  // one stop() joins; the others wait for it
  std::thread thread_;
  std::thread::id writer_id_;  // set once by start(), before the writer is shared
};

}  // namespace troupe::storage
