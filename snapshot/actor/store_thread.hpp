#pragma once
/// The coordinator's checkpoint store on a thread of its own (snapshot/README.md "Storing off the
/// coordinator's thread").
///
/// Saving the global state of 10,000 participants takes a few hundred milliseconds of SQLite work
/// and an fsync. Run on the coordinator's thread, it kept the coordinator from taking reports and
/// ticks meanwhile, so the next checkpoints started late and overlapped. Here saves run one after
/// another, in submission order, on one dedicated thread (DESIGN.md 1: blocking I/O never on a
/// CAF scheduler thread, and now not on the coordinator's either); the caller learns of each
/// through `done`, and announces the checkpoint only then (persist before announcing).
///
/// No CAF here: `done` runs on the store thread and must forward into the caller's mailbox.
///
/// Why not runtime/storage's durable_writer, which also runs writes in order on a thread of its
/// own: it owns a `storage::database` and runs batches inside ITS transaction (group commit, a
/// savepoint per batch), while this runs `checkpoint_store::save`, which is a whole transaction
/// with its retention (sqlite_checkpoint_store.cpp) behind an interface that the memory store
/// also implements (tests and simulations); and the coordinator's reads and deletes share this
/// store between saves (`with_store`). Using durable_writer would mean a transaction-less save for
/// the SQLite store only and a second connection for the reads. What the two share is the queue
/// and the thread (~40 lines).
///
/// After a failed write the store stops for good, as durable_writer does: once an fsync failed,
/// what the page cache holds and what reached the disk are unknown (a retried fsync can report
/// success for pages the kernel already dropped: PostgreSQL's "fsyncgate", 2018), so a later
/// "stored" could be a lie. A save that fails with errc::io or errc::corrupt (the storage said no)
/// makes `failure()` that error; every later save completes with errc::closed naming it, without
/// touching the store, and `with_store` hands its function a store whose every call fails the
/// same way. Other failures (invalid_argument, busy "already stored") are the checkpoint's own
/// and leave the store working. Restarting the node reopens the file (SQLite recovers from its
/// WAL what was durable).
///
/// Thread-safety: every member function may be called from any thread. The store is used by one
/// thread at a time: saves on the store thread, `with_store` on the caller's, under one mutex.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "runtime/base/result.hpp"
#include "snapshot/core/global_state.hpp"
#include "snapshot/store/checkpoint_store.hpp"

namespace troupe::checkpoint::actor {

class store_thread {
 public:
  /// Called once per save, on the store thread, with the save's status. Must not throw and must
  /// not destroy the store_thread.
  using saved_function = std::function<void(const status&)>;

  /// Called with every errc::corrupt a store call answers (damaged data read back: a bad checksum
  /// or manifest), on the thread that made the call, under the store's lock. Must not throw.
  using corrupt_function = std::function<void(const error&)>;

  /// Starts the thread. `store` must not be used elsewhere while this object lives.
  /// `on_corrupt` (may be empty) lets the owner count damage however it was found: by a save, or
  /// by any call `with_store` makes (list, show, load, a restore plan, a delete).
  explicit store_thread(std::shared_ptr<store::checkpoint_store> store, corrupt_function on_corrupt = {});
  /// Runs every save still queued (each one's `done` too), then joins the thread.
  ~store_thread();
  store_thread(const store_thread&) = delete;
  store_thread& operator=(const store_thread&) = delete;

  /// Queues `store.save(*state, meta)`. `state` is shared with the caller, who must not change it
  /// until `done` ran (both threads only read it).
  void save(std::shared_ptr<const global_state> state, store::checkpoint_metadata meta,
            saved_function done);

  /// Runs `f(store)` on the calling thread, between saves (it waits for a running one). For the
  /// reads (list, show, load, plan) and the operator's delete. After `failure()`, `f` gets a
  /// store whose every call fails with errc::closed naming the failure (see the header comment).
  template <class F>
  auto with_store(F&& f) {
    std::lock_guard<std::mutex> lock(store_mutex_);
    if (stopped_) return f(*stopped_);
    return f(*watched_);
  }

  /// The failed write that stopped the store, nullopt while it works.
  std::optional<error> failure() const;

 private:
  struct job {
    std::shared_ptr<const global_state> state;
    store::checkpoint_metadata meta;
    saved_function done;
  };
  void run();

  std::shared_ptr<store::checkpoint_store> store_;
  /// store_ seen through a wrapper that reports errc::corrupt answers to on_corrupt.
  std::unique_ptr<store::checkpoint_store> watched_;
  std::mutex store_mutex_;  ///< held by whoever uses store_ or stopped_
  /// Set once, by the store thread under store_mutex_, when a write failed: answers every later
  /// call with the failure.
  std::unique_ptr<store::checkpoint_store> stopped_;
  mutable std::mutex queue_mutex_;
  std::optional<error> failure_;  ///< guarded by queue_mutex_ (failure() must not wait for a save)
  std::condition_variable wake_;
  std::deque<job> queue_;        ///< guarded by queue_mutex_
  bool stopping_ = false;        ///< guarded by queue_mutex_
  std::thread thread_;           ///< last: started once everything above exists
};

}  // namespace troupe::checkpoint::actor
