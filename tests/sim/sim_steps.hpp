#pragma once
// Steps the Raft-based simulations (tests/sim/raft, tests/sim/kv) share: the raft configuration they
// start from, the network's per-tick delivery, random partitions, and the client side of a ReadIndex
// read. Each draws from the simulation's rng in a fixed order, so a seed replays the same run.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "consensus/core/types.hpp"
#include "tests/scenario/raft/raft_cluster.hpp"

namespace troupe::testing {

/// Timing shared by the simulations: elections after 10 ticks, heartbeats every 2, 10 ms a tick, 8
/// messages in flight per peer. `group` and `max_append_bytes` are each simulation's own.
inline raft::config sim_raft_config(raft::group_id group, std::uint64_t max_append_bytes) {
  raft::config c;
  c.group = group;
  c.election_timeout_ticks = 10;
  c.heartbeat_interval_ticks = 2;
  c.tick_duration_ns = 10'000'000;
  c.max_inflight_messages = 8;
  c.max_append_bytes = max_append_bytes;
  return c;
}

/// Delivers part of what is in flight (at least 8 messages, else 40-99% of them): the rest waits for
/// a later tick, which is delay and, with reordering, overtaking.
inline void deliver_some(raft::testing::cluster& cluster, raft::testing::rng& rng) {
  const std::size_t in_flight = cluster.in_flight().size();
  const std::size_t budget = std::max<std::size_t>(8, in_flight * (40 + rng.below(60)) / 100);
  for (std::size_t i = 0; i < budget && cluster.deliver_one(); ++i) {
  }
}

/// One side of a random partition: each of nodes 1..`nodes` with probability 1/2.
inline std::set<raft::node_id> random_side(raft::testing::rng& rng, std::size_t nodes) {
  std::set<raft::node_id> side;
  for (raft::node_id id = 1; id <= nodes; ++id) {
    if (rng.chance(50)) side.insert(id);
  }
  return side;
}

/// The clients waiting on `id` for read request `r.request_id` learn their read index (Raft thesis
/// 6.4: the read is served once the node has applied up to it). `Client` has busy, is_read,
/// submitted, rid, target, have_index and read_index.
template <class Client>
void note_read_index(std::vector<Client>& clients, raft::node_id id, const raft::read_state& r) {
  for (auto& c : clients) {
    if (c.busy && c.is_read && c.submitted && c.rid == r.request_id && c.target == id) {
      c.have_index = true;
      c.read_index = r.index;
    }
  }
}

/// The clients whose read request `rid` node `id` dropped retry at once (their deadline is `now`).
template <class Client>
void retry_dropped_read(std::vector<Client>& clients, raft::node_id id, std::uint64_t rid, std::uint64_t now) {
  for (auto& c : clients) {
    if (c.busy && c.is_read && c.submitted && c.rid == rid && c.target == id) c.deadline = now;
  }
}

}  // namespace troupe::testing
