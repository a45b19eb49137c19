#include "snapshot/actor/store_thread.hpp"

#include <cassert>
#include <utility>

namespace troupe::checkpoint::actor {

store_thread::store_thread(std::shared_ptr<store::checkpoint_store> store)
    : store_(std::move(store)), thread_([this] { run(); }) {
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

void store_thread::run() {
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
    status saved;
    {
      std::lock_guard<std::mutex> lock(store_mutex_);
      saved = store_->save(*next.state, next.meta);
    }
    next.done(saved);
  }
}

}  // namespace troupe::checkpoint::actor
