#pragma once
// A Raft core over a real log store, driven alone: what the tests of a node's start
// (--force-new-cluster, --restore-from, restart from a snapshot) use to check that the node finds
// the configuration it should and elects itself. Header only; single-threaded.

#include "consensus/core/node.hpp"
#include "consensus/storage/sqlite_log_storage.hpp"

namespace troupe::raft::test_support {

/// A core configuration for node `id` of group 1 with short timeouts (10 ticks, heartbeat 1) and
/// no bootstrap voters: the log's configuration decides (thesis §4.1).
inline config solo_config(node_id id, index_t applied = 0) {
  config c;
  c.id = id;
  c.group = 1;
  c.applied = applied;
  c.election_timeout_ticks = 10;
  c.heartbeat_interval_ticks = 1;
  return c;
}

/// Ticks `core` (1 ms each) and carries out each ready batch into `log` (append, hard state, sync,
/// then advance) until it leads or 40 ticks passed. Returns the first store error, if any.
inline status run_until_leader(node& core, sqlite_log_storage& log) {
  monotonic_ns now = 0;
  for (int i = 0; i < 40 && core.status().role != role::leader; ++i) {
    core.tick(now += 1'000'000);
    auto rd = core.take_ready();
    if (!rd.entries.empty()) {
      if (auto s = log.append(rd.entries); !s) return s;
    }
    if (rd.hard_state_update) {
      if (auto s = log.set_hard_state(*rd.hard_state_update); !s) return s;
    }
    if (auto s = log.sync(); !s) return s;
    core.advance(rd);
  }
  return {};
}

}  // namespace troupe::raft::test_support
