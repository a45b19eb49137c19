#include "snapshot/actor/store_thread.hpp"

#include <pthread.h>

#include <cassert>
#include <utility>

namespace troupe::checkpoint::actor {

namespace {

/// What `with_store` hands out once the store stopped: every call fails with the same error, so
/// list, show, load, restore plans and deletes say why instead of reading a file whose state is
/// unknown.
class stopped_store final : public store::checkpoint_store {
 public:
  stopped_store(error why, store::retention keep) : why_(std::move(why)), keep_(keep) {}
  status save(const global_state&, const store::checkpoint_metadata&) override { return why_; }
  result<std::vector<store::checkpoint_summary>> list() override { return why_; }
  result<checkpoint_id> highest_id() override { return why_; }
  result<store::manifest> show(checkpoint_id) override { return why_; }
  result<global_state> load(checkpoint_id) override { return why_; }
  status remove(checkpoint_id) override { return why_; }
  status keep_last(std::size_t) override { return why_; }
  const store::retention& kept() const noexcept override { return keep_; }

 private:
  error why_;
  store::retention keep_;
};

/// Forwards every call to the store and reports each errc::corrupt answer (`plan` and
/// `latest_complete` go through load and list, so they are seen too).
class watching_store final : public store::checkpoint_store {
 public:
  watching_store(store::checkpoint_store& inner, store_thread::corrupt_function on_corrupt)
      : inner_(inner), on_corrupt_(std::move(on_corrupt)) {}
  status save(const global_state& state, const store::checkpoint_metadata& meta) override {
    return seen(inner_.save(state, meta));
  }
  result<std::vector<store::checkpoint_summary>> list() override { return seen(inner_.list()); }
  result<checkpoint_id> highest_id() override { return seen(inner_.highest_id()); }
  result<store::manifest> show(checkpoint_id id) override { return seen(inner_.show(id)); }
  result<global_state> load(checkpoint_id id) override { return seen(inner_.load(id)); }
  status remove(checkpoint_id id) override { return seen(inner_.remove(id)); }
  status keep_last(std::size_t complete) override { return seen(inner_.keep_last(complete)); }
  const store::retention& kept() const noexcept override { return inner_.kept(); }

 private:
  template <class R>
  R seen(R r) {
    if (!r.ok() && r.err().code == errc::corrupt && on_corrupt_) on_corrupt_(r.err());
    return r;
  }
  store::checkpoint_store& inner_;
  store_thread::corrupt_function on_corrupt_;
};

/// Whether a failed save leaves the file in an unknown state: the storage said no (I/O error,
/// failed fsync, disk full, damage), as opposed to a checkpoint the store refused on its own.
bool storage_failed(const error& e) noexcept { return e.code == errc::io || e.code == errc::corrupt; }

/// What every call after `failure` answers.
error stopped_error(const error& failure) {
  return make_error(errc::closed, "checkpoint store stopped after a failed write (" + failure.message +
                                      "): nothing is stored or read until the node restarts");
}

}  // namespace

store_thread::store_thread(std::shared_ptr<store::checkpoint_store> store, corrupt_function on_corrupt)
    : store_(std::move(store)),
      watched_(std::make_unique<watching_store>(*store_, std::move(on_corrupt))),
      thread_([this] { run(); }) {
  assert(store_ != nullptr);
}

store_thread::~store_thread() {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  assert(queue_.empty());
}

void store_thread::save(std::shared_ptr<const global_state> state, store::checkpoint_metadata meta,
                        saved_function done) {
  assert(state != nullptr && done);
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    assert(!stopping_);
    queue_.push_back({std::move(state), std::move(meta), std::move(done)});
  }
  wake_.notify_one();
}

std::optional<error> store_thread::failure() const {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return failure_;
}

void store_thread::run() {
  // Named for per-thread CPU accounting (/proc/PID/task/*/comm, perf, top -H): it would otherwise
  // inherit the name of the thread that created it (the coordinator's "caf.actor").
  pthread_setname_np(pthread_self(), "ckpt-store");
  while (true) {
    job next;
    {
      std::unique_lock<std::mutex> lock(queue_mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Stopping drains: a checkpoint handed over was complete and is stored before the thread
      // ends (its announcement may then go nowhere, which is harmless).
      if (queue_.empty()) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    // After a failed write `with_store` hands over the stopped store: the save never writes again
    // (see the header comment) and fails with errc::closed, which is no storage failure, so the
    // first failure stays the one reported.
    const status saved = with_store([&](store::checkpoint_store& s) {
      auto out = s.save(*next.state, next.meta);
      if (!out && storage_failed(out.err())) {
        stopped_ = std::make_unique<stopped_store>(stopped_error(out.err()), store_->kept());
        std::lock_guard<std::mutex> queue_lock(queue_mutex_);
        failure_ = out.err();
      }
      return out;
    });
    next.done(saved);
  }
}

}  // namespace troupe::checkpoint::actor
