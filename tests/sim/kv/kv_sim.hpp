#pragma once
/// One seeded run of the key-value service in simulation: real Raft cores (tests/scenario/raft's
/// cluster: drop, duplicate, reorder, partitions, crash-restart with lost unsynced writes) with a
/// troupe::kv::kv_state_machine on every node, and clients whose requests the client side of the
/// network duplicates and delays, and that retry after a timeout with the same (clientId,
/// sequence). Checks exactly-once application (thesis 6.3), that replicas converge, that
/// transfers between accounts (multi-key transactions) never show a half-applied state, and that
/// the committed log replayed through a plain model of the whole key space gives the same replies
/// and data, and that a watcher polling `changes` on random nodes gets every revision once, in
/// order, adding up to the final data.

#include <cstdint>
#include <string>

#include "tests/sim/sim_counts.hpp"

namespace troupe::kv::testing {

struct kv_sim_options {
  std::uint64_t seed = 1;
  std::size_t nodes = 3;
  std::size_t clients = 4;
  std::size_t operations = 200;  ///< client operations to finish (or give up on)
  /// Session table size; smaller than `clients` forces evictions and sessionExpired.
  std::size_t max_sessions = 100'000;
};

/// The common counts (ok, failure, ticks, acknowledged, unknown, copies_sent, retries, applied,
/// duplicates, crashes, partitions), then this simulation's own.
struct kv_sim_outcome : troupe::testing::sim_counts {
  std::uint64_t reads = 0;
  std::uint64_t stale = 0;              ///< older copies refused, all replicas
  std::uint64_t expired = 0;            ///< sessionExpired, all replicas
  std::uint64_t new_sessions = 0;       ///< clients that restarted under a new id
  std::uint64_t evictions = 0;          ///< sessions evicted (the largest count of a replica)
  std::uint64_t transfers = 0;            ///< multi-key transactions started
  std::uint64_t transfers_succeeded = 0;  ///< acknowledged with their compares holding
  std::uint64_t watch_polls = 0;          ///< changes pages the watcher read
};

kv_sim_outcome run_kv_simulation(const kv_sim_options& options);

}  // namespace troupe::kv::testing
