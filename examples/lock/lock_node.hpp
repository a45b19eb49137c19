#pragma once
/// The lock service's part of a node (`troupe node`): the service every replica registers with
/// its service host under "lock", and the node application that runs the lock clock
/// (lock_clock_actor.hpp) next to the raft actor. Both share the counters the clock publishes.
///
/// Thread-safety: make one per process, before the node starts; `service` and `app` may be called
/// from any thread.

#include <memory>

#include "examples/lock/lock_metrics.hpp"
#include "examples/lock/lock_service.hpp"
#include "runtime/node/node_app.hpp"

namespace troupe::lock {

class lock_hosting {
 public:
  lock_hosting();
  /// A fresh lock service for the state machine factory (every replica the same options).
  std::unique_ptr<lock_service> service() const;
  /// Starts the lock clock on the node's raft actor.
  const node::node_app& app() const noexcept { return app_; }

 private:
  std::shared_ptr<atomic_lock_observer> counts_;
  node::node_app app_;
};

}  // namespace troupe::lock
