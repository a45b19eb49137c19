#pragma once
/// What one Raft group looks like from this node, for the status page (/status), `troupe status`,
/// /health and metrics. Plain values, no CAF: the raft actor fills it on request; the status page
/// renders it. Fields may be added; none removed or renamed without updating the status page.

#include <cstdint>
#include <string>
#include <vector>

#include "consensus/core/types.hpp"

namespace troupe::raft {

/// The leader's view of one follower (empty on followers).
struct peer_progress {
  node_id id = no_node;
  index_t match = 0;           ///< highest index known replicated on the peer
  index_t next = 0;            ///< next index the leader sends
  std::uint64_t lag_entries = 0;  ///< leader's last index - match
  std::string state;           ///< "probe", "replicate", or "snapshot <acked>/<size> MiB (<n>%)"
  bool recently_active = false;  ///< heard from within the last election timeout (CheckQuorum)
};

/// A change of leader as seen by this node (leader == no_node: the leader was lost).
struct leader_change {
  std::int64_t unix_ms = 0;  ///< wall-clock time this node saw it (for people, not for protocol)
  term_t term = 0;
  node_id leader = no_node;
};

struct group_status {
  node_status node;
  std::vector<peer_progress> peers;                 ///< leader only
  std::vector<leader_change> recent_leader_changes;  ///< oldest first, bounded (last 20)
  std::uint64_t pending_proposals = 0;
  std::uint64_t pending_reads = 0;
  bool storage_ok = true;  ///< false once a log-store write or sync failed (the node then stops)
  /// This node is not a member of the committed configuration (it was removed): it neither votes
  /// nor campaigns. `node.membership` is the configuration in effect, with member addresses.
  bool removed = false;
};

}  // namespace troupe::raft
