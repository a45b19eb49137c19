#pragma once
// Steps the client-level simulations (tests/sim/kv, tests/sim/replicated) share: encoded requests
// and replies as log bytes, the faults they inject, the client side of the network that copies and
// delays requests, and the "quiet" condition that ends a run. Each draws from the simulation's rng
// in a fixed order, so a seed replays the same run.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/wire/client_codec.hpp"
#include "tests/sim/sim_steps.hpp"

namespace troupe::testing {

inline std::string bytes_of(const wire::message& m) {
  const auto b = m.bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

inline std::optional<wire::client_reply> decode_reply(const std::string& bytes) {
  auto msg = wire::message::parse(std::as_bytes(std::span(bytes.data(), bytes.size())));
  if (!msg) return std::nullopt;
  auto reply = wire::decode_client_reply(*msg);
  if (!reply) return std::nullopt;
  return *reply;
}

/// A copy of a request that the client side of the network delivers late (`at`, a tick).
struct delayed_copy {
  std::uint64_t at = 0;
  std::string bytes;
};

/// A lossy, sometimes duplicating, usually reordering network; returns the percentage of requests
/// the client side will copy and delay.
inline std::uint32_t random_network(raft::testing::cluster& cluster, raft::testing::rng& rng) {
  raft::testing::network_faults f;
  f.drop_percent = static_cast<std::uint32_t>(rng.below(3) * 2);
  f.duplicate_percent = static_cast<std::uint32_t>(rng.below(2) * 3);
  f.reorder = rng.chance(70);
  cluster.faults() = f;
  return 10 + static_cast<std::uint32_t>(rng.below(30));
}

/// One tick's faults: a crash now or before the next sync, restarts, a random partition, a heal.
/// Counts crashes and partitions.
inline void inject_faults(raft::testing::cluster& cluster, raft::testing::rng& rng, std::size_t nodes,
                          std::uint64_t& crashes, std::uint64_t& partitions) {
  const raft::node_id victim = 1 + rng.below(nodes);
  if (rng.below(1000) < 6 && cluster.is_up(victim)) {
    cluster.crash(victim);
    ++crashes;
  }
  if (rng.below(1000) < 4 && cluster.is_up(victim)) {
    cluster.crash_before_next_sync(victim);
    ++crashes;
  }
  for (raft::node_id id = 1; id <= nodes; ++id) {
    if (!cluster.is_up(id) && rng.chance(5)) cluster.restart(id);
  }
  if (rng.below(1000) < 4) {
    cluster.partition(random_side(rng, nodes));
    ++partitions;
  }
  if (rng.chance(2)) cluster.heal();
}

/// Delivers the copies that are due, to the leader half of the time (so that copies do reach the
/// log), else to a random node.
inline void deliver_copies(raft::testing::cluster& cluster, raft::testing::rng& rng, std::size_t nodes,
                           std::vector<delayed_copy>& copies, std::uint64_t tick) {
  for (auto it = copies.begin(); it != copies.end();) {
    if (it->at > tick) {
      ++it;
      continue;
    }
    raft::node_id to = 1 + rng.below(nodes);
    if (auto l = cluster.leader(); l && rng.chance(50)) to = *l;
    const std::string bytes = std::move(it->bytes);
    it = copies.erase(it);
    if (cluster.is_up(to)) (void)cluster.propose(to, bytes);
  }
}

/// Quiet: no client busy, no copy waiting, every node up and applied everything committed.
template <class Client>
bool quiet(raft::testing::cluster& cluster, std::size_t nodes, const std::vector<Client>& clients,
           const std::vector<delayed_copy>& copies) {
  if (!copies.empty()) return false;
  if (std::any_of(clients.begin(), clients.end(), [](const Client& c) { return c.busy; })) return false;
  const auto leader = cluster.leader();
  if (!leader) return false;
  const auto commit = cluster.at(*leader).status().commit;
  for (raft::node_id id = 1; id <= nodes; ++id) {
    if (!cluster.is_up(id)) return false;
    const auto st = cluster.at(id).status();
    if (st.commit != commit || st.applied != commit) return false;
  }
  return true;
}

}  // namespace troupe::testing
