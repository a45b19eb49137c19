#pragma once
/// One seeded run of the deterministic Raft simulation: a 3- or 5-node cluster of real cores over a
/// faulty simulated network (drop, duplicate, delay, reorder, symmetric and asymmetric partitions),
/// crash-restart with loss of unsynced writes, paused nodes whose clock jumps, leadership transfers,
/// and simulated clients doing put/get/cas with retries against a key-value state machine. The
/// invariants run after every step; the history is checked for linearizability at the end.

#include <cstdint>
#include <string>

#include "consensus/core/types.hpp"

namespace troupe::raft::testing {

struct sim_options {
  std::uint64_t seed = 1;
  std::size_t nodes = 3;
  std::size_t clients = 4;
  std::size_t operations = 200;  ///< client operations to finish (or give up on) before stopping
  config::injected_bugs bugs;
  /// Membership mix (thesis chapter 4): `nodes` slots of which `initial_voters` (0: all) form the
  /// bootstrap configuration; the leader is asked for random changes (add, remove, replace, learners
  /// and their promotion, removing itself, shrinking to one voter and growing back), sometimes
  /// crashing right after proposing one.
  bool membership = false;
  std::size_t initial_voters = 0;
  /// Snapshots (Raft §7): nodes compact their logs every few dozen applied entries, lagging or
  /// restarted followers catch up by chunked InstallSnapshot (small chunks, a window of 1-3, a
  /// per-tick byte budget on some seeds), and restoring a snapshot takes 0 or up to 30 ticks.
  bool snapshots = true;
};

struct sim_outcome {
  bool ok = true;
  std::string failure;  ///< the first problem found, for the report
  std::uint64_t ticks = 0;
  std::uint64_t operations_acknowledged = 0;
  std::uint64_t operations_unknown = 0;
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t crashes = 0;
  std::uint64_t pauses = 0;
  std::uint64_t partitions = 0;
  std::uint64_t transfers = 0;
  std::uint64_t stale_leader_probes = 0;  ///< reads sent to a node that may be a deposed leader
  std::uint64_t conf_changes = 0;        ///< changes the leader accepted
  std::uint64_t leader_removals = 0;     ///< of them, removing the leader itself
  std::uint64_t learner_promotions = 0;
  std::uint64_t shrinks_to_one = 0;
  std::uint64_t grow_backs = 0;          ///< from one voter to several
  std::uint64_t crashes_mid_change = 0;  ///< the leader crashed right after proposing
  std::uint64_t compactions_requested = 0;
  std::uint64_t linearizability_steps = 0;
  bool linearizability_inconclusive = false;
  node_counters counters;
};

sim_outcome run_simulation(const sim_options& options);

}  // namespace troupe::raft::testing
