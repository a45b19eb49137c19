#pragma once
/// The node's status page: a collector actor that keeps a status_board current, and the HTTP
/// handlers that render it on the metrics address (/status, /status.json, /status.txt, /health).
///
/// The HTTP handlers never talk to actors: they render the board's latest snapshot, so a scrape
/// or a load balancer's probe is answered at once even when the actor system is busy, and a stuck
/// raft actor shows up as stale status (503 on /health) rather than as a hanging request.

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/status/status_board.hpp"

namespace troupe::metrics {
class http_endpoint;
}

namespace troupe::node {

struct status_collector_config {
  caf::actor transport;
  caf::actor raft;  ///< the group's raft actor (answers raft::status_atom); may be null
  std::vector<std::uint64_t> peers;  ///< every other member
  std::shared_ptr<status_page::status_board> board;
  /// How often the transport is asked (each answer is one small message per peer).
  std::chrono::milliseconds interval{500};
};

/// Spawns the collector: every `interval`, asks the transport for each peer's connection state and
/// the raft actor for its group_status, and writes the answers to the board (the raft status with
/// the time it arrived, so a raft actor that stops answering shows up as stale status). Stop it with an exit message at shutdown.
caf::actor spawn_status_collector(caf::actor_system& system, status_collector_config config);

/// Installs the handlers of /status (HTML), /status.json, /status.txt and /health, rendering
/// `board` (which they keep alive). /health answers 200 or 503 with judge_health's one-line reason.
void serve_status(metrics::http_endpoint& endpoint, std::shared_ptr<status_page::status_board> board);

}  // namespace troupe::node
