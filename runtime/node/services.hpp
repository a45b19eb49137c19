#pragma once
/// The node's own services, as actors registered with the transport:
/// - `probe`: every interval, sends a probe to the `probe` endpoint of every peer on the
///   application lane and measures the round trip of the whole path (actor -> transport -> socket
///   -> transport -> actor, and back): `troupe_node_probe_round_trip_seconds{peer}`.
/// - `client`: answers client requests that need no replicated state (ping, status); requests for
///   services this node does not run get a clear `unavailable` error.
/// Both hold references into the node's Prometheus registry, which must outlive them.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/node/log.hpp"

namespace prometheus {
class Registry;
}

namespace troupe::node {

struct member_address {
  std::uint64_t id = 0;
  std::string address;  ///< host:port as advertised
};

struct services_config {
  std::uint64_t self = 0;
  std::vector<member_address> members;  ///< every member of the initial cluster, self included
  std::chrono::milliseconds probe_interval{1000};
  caf::actor transport;
  prometheus::Registry* registry = nullptr;
  log_function log;
};

/// Spawns the probe and client service actors and registers them with the transport. Returns the
/// actors (so the node can stop them at shutdown).
std::vector<caf::actor> spawn_services(caf::actor_system& system, const services_config& config);

}  // namespace troupe::node
