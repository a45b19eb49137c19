#pragma once
/// One seeded run of the replicated service API in simulation: real Raft cores
/// (tests/scenario/raft's cluster: drop, duplicate, reorder, partitions, crash-restart with lost
/// unsynced writes), a replicated::service_host on every node hosting the counter example and a
/// register test service, and clients whose commands the client side of the network duplicates and
/// delays and that retry after a timeout with the same (clientId, sequence). Reads use every
/// consistency level of docs/consistency.md. Checks, in the docs' terms:
/// - exactly-once: no replica applies a (client, sequence) twice; each counter ends at the number of
///   distinct increments the committed log holds; every answer equals a model's, replaying the log
///   with a plain session rule;
/// - linearizable, lease and follower reads, with the register writes, pass the linearizability
///   checker (Wing-Gong/Lowe, unknown outcomes allowed);
/// - session reads: the answer is the state the log gave at the answer's index, and that index is
///   never below the session's own acknowledged writes nor its earlier answers;
/// - stale reads: only that the answer is the state the log gave at the answer's index.

#include <cstdint>
#include <string>

#include "tests/sim/sim_counts.hpp"

namespace troupe::replicated::testing {

/// Test-only injected bugs, each of which the checks must catch within the seed range.
enum class injected_bug {
  none,
  retry_with_new_sequence,   ///< the client retries a command under a new sequence number
  session_ignores_bound,     ///< a session read is served at once, whatever the node applied
  linearizable_served_local, ///< linearizable/lease/follower reads served at once by any node
};

struct replicated_sim_options {
  injected_bug bug = injected_bug::none;
  std::uint64_t seed = 1;
  std::size_t nodes = 3;
  std::size_t clients = 5;
  std::size_t operations = 200;  ///< client operations to finish (or give up on)
};

/// The common counts (ok, failure, ticks, acknowledged, unknown, copies_sent, retries, applied,
/// duplicates, crashes, partitions), then this simulation's own.
struct replicated_sim_outcome : troupe::testing::sim_counts {
  std::uint64_t stale_copies = 0; ///< older copies refused, all replicas
  std::uint64_t reads_by_level[5] = {};  ///< answered reads per wire::read_consistency
  std::uint64_t session_waits = 0;  ///< session reads that found their node behind and waited
  std::uint64_t stale_behind = 0;   ///< stale reads answered from a state older than the commit index
  std::uint64_t history_ops = 0;    ///< operations given to the linearizability checker
  std::uint64_t multi_sequence_ops = 0;  ///< commands sent under more than one sequence (bug only)
};

replicated_sim_outcome run_replicated_simulation(const replicated_sim_options& options);

}  // namespace troupe::replicated::testing
