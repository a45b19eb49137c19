#pragma once
/// The node's lock clock (examples/lock/README.md, "Time"): an actor that every `interval` runs one
/// interval of lock_clock_core (lock_clock_core.hpp, where the rules live): while the service holds
/// a live lease (the observer's count), it asks the node's raft actor for its status and, when this
/// node leads, proposes a tick of the lock service, one at a time; while no lease is live it proposes
/// nothing, so an idle cluster's log does not grow. So the leader's clock drives lock time; a node
/// that does not lead proposes nothing (and its next tick as leader restarts).
///
/// It also publishes the service's counters (atomic_lock_observer) and its own as Prometheus
/// metrics: troupe_lock_held, troupe_lock_leases, troupe_lock_grants_total,
/// troupe_lock_expirations_total, troupe_lock_releases_total, troupe_lock_clock_ticks_proposed_total,
/// troupe_lock_clock_idle_intervals_total (docs/metrics.md).
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
  /// The service's observer: may be null (no lock metrics, and the clock ticks whenever it leads).
  std::shared_ptr<const atomic_lock_observer> counts;
  log_function log;  ///< may be empty
};

caf::actor spawn_lock_clock(caf::actor_system& system, lock_clock_config config);

}  // namespace troupe::lock
