#pragma once
// The counts every client-level simulation reports (tests/sim/client_simulation.hpp); each
// simulation's outcome derives from it and adds its own. Kept apart so that a test driver can read
// outcomes without the harness.

#include <cstdint>
#include <string>

namespace troupe::testing {

/// The counts every simulation reports; a simulation's outcome derives from it.
struct sim_counts {
  bool ok = true;
  std::string failure;  ///< the first problem found
  std::uint64_t ticks = 0;
  std::uint64_t acknowledged = 0;
  std::uint64_t unknown = 0;
  std::uint64_t copies_sent = 0;  ///< duplicated or delayed command copies injected
  std::uint64_t retries = 0;      ///< re-sends after a timeout, same (client, sequence)
  std::uint64_t applied = 0;      ///< fresh applications, all replicas
  std::uint64_t duplicates = 0;   ///< answered from a session table, all replicas
  std::uint64_t crashes = 0;
  std::uint64_t partitions = 0;

  /// Adds `o`'s counts to these (a test's totals over a seed range); ok and failure stay.
  void add_counts(const sim_counts& o) {
    ticks += o.ticks;
    acknowledged += o.acknowledged;
    unknown += o.unknown;
    copies_sent += o.copies_sent;
    retries += o.retries;
    applied += o.applied;
    duplicates += o.duplicates;
    crashes += o.crashes;
    partitions += o.partitions;
  }
};

}  // namespace troupe::testing
