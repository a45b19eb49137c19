#pragma once
/// The node's lock clock (examples/lock/README.md, "Time"): an actor that every `interval` asks the
/// node's raft actor for its status and, when this node leads, proposes a tick of the lock service,
/// one at a time (tick_clock.hpp decides its elapsed time or restart). So the leader's clock drives
/// lock time; a node that does not lead proposes nothing (and its next tick as leader restarts). Each tick is a wire ClientRequest carrying an AppRequest for the
/// service "lock", with the clock's own client session (a fresh random client id after any failed
/// tick, so that a new leadership always opens a session with sequence 1).
///
/// It also publishes the service's counters (atomic_lock_observer) as Prometheus metrics:
/// troupe_lock_held, troupe_lock_grants_total, troupe_lock_expirations_total,
/// troupe_lock_releases_total (docs/metrics.md).
///
/// Thread-safety: an actor; the registry must outlive it.

#include <chrono>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "examples/lock/lock_metrics.hpp"
#include "runtime/base/log_level.hpp"

namespace prometheus {
class Registry;
}

namespace troupe::lock {

struct lock_clock_config {
  caf::actor raft;  ///< the group's raft actor (consensus/actor/raft_actor.hpp)
  std::uint64_t group = 1;
  std::chrono::milliseconds interval{200};
  /// A tick not answered within this is treated as failed (the next one restarts).
  std::chrono::milliseconds timeout{2000};
  prometheus::Registry* registry = nullptr;  ///< may be null: no metrics
  std::shared_ptr<const atomic_lock_observer> counts;  ///< may be null: no metrics
  log_function log;  ///< may be empty
};

caf::actor spawn_lock_clock(caf::actor_system& system, lock_clock_config config);

}  // namespace troupe::lock
