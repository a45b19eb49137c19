#pragma once
/// The node's own services, as actors registered with the transport:
/// - `probe`: every interval, sends a probe to the `probe` endpoint of every peer on the
///   application lane and measures the round trip of the whole path (actor -> transport -> socket
///   -> transport -> actor, and back): `troupe_node_probe_round_trip_seconds{peer}`.
/// - `client`: answers ping itself; routes put/cas/del to the raft actor as proposals (the
///   request's own encoded bytes are the command) and get as a read, and turns the raft actor's
///   answers into ClientReply errors (not_leader with the leader's address, busy, unavailable,
///   timeout when the outcome is unknown). Application requests (AppRequest, actors/README.md):
///   a command is proposed like a put, a query is a read at its consistency with its minIndex
///   (docs/consistency.md). Without a raft actor, key-value requests get
///   `unavailable`. status is answered from the raft actor's group_status.
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
  /// The raft actor of `group` (consensus/actor/raft_actor.hpp); may be null (no key-value service).
  caf::actor raft;
  std::uint64_t group = 1;
  /// How long the client service waits for the raft actor before answering `timeout`.
  std::chrono::milliseconds raft_timeout{10'000};
  /// A backup being fetched (`troupe backup save`) that no chunk was asked of for this long is
  /// dropped: it holds the whole state in memory, and a client that died mid-fetch never asks again.
  std::chrono::milliseconds backup_idle_limit{60'000};
  prometheus::Registry* registry = nullptr;
  log_function log;
};

/// Spawns the probe and client service actors and registers them with the transport. Returns the
/// actors (so the node can stop them at shutdown).
std::vector<caf::actor> spawn_services(caf::actor_system& system, const services_config& config);

}  // namespace troupe::node
