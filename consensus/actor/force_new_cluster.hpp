#pragma once
/// Disaster recovery after losing a majority for good (`troupe node --force-new-cluster`): turn a
/// surviving node's log into that of a one-node cluster, without consensus, before the core starts.
///
/// What it does (as etcd's --force-new-cluster): appends, in a new term (one above any this node
/// saw), one configuration
/// entry naming this node as the only voter (no learners, not joint), and sets the durable commit
/// index to it, so that every entry the survivor holds counts as committed. On start the core finds
/// that configuration as the latest in the log (thesis §4.1) and the node elects itself.
/// What may be lost or gained: entries the old majority committed that this node never received are
/// lost; entries this node holds that were never committed (their clients saw a timeout or
/// outcome_unknown) become committed. docs/operations.md says when to use it.
/// Pure of CAF; blocks on the disk (one sync).

#include <string>

#include "consensus/core/message.hpp"
#include "consensus/storage/sqlite_log_storage.hpp"
#include "runtime/base/result.hpp"

namespace troupe::raft {

struct forced_cluster {
  bool changed = false;          ///< false: the log was already this node's alone and all committed
  index_t config_index = 0;      ///< the appended configuration entry (0 when unchanged)
  index_t previous_commit = 0;   ///< the durable commit index before
  index_t newly_committed = 0;   ///< entries after it that were not known committed and now are
  std::string previous_members;  ///< the configuration in effect before, for the log line
};

/// Makes `self` the only voter of the group whose log is `log` (see above), durably. The new
/// configuration records `self_address` (empty: none) like every configuration entry, so that
/// members added later dial this node and redirect clients to it.
/// Errors: errc::io from the store (the node must not start), errc::corrupt for a configuration
/// entry that does not decode, errc::invalid_argument for self == no_node.
result<forced_cluster> force_new_cluster(sqlite_log_storage& log, node_id self, const std::string& self_address = {});

/// What `troupe node --force-new-cluster` calls before the group starts: opens the group's log and
/// its snapshot file, first installs in the log a snapshot it missed at a crash
/// (snapshot_io.hpp, install_latest_in_log), then force_new_cluster. In that order because the
/// install, done later by spawn_raft_actor, would discard a forced entry that sits below the
/// snapshot together with the rest of the log (Figure 13 step 7), and the node would silently keep
/// the old cluster's configuration from the snapshot. Errors: those of the two stores' open, of
/// install_latest_in_log and of force_new_cluster.
result<forced_cluster> force_new_cluster_files(const std::string& log_path, const std::string& snapshot_path,
                                               node_id self, const std::string& self_address);

}  // namespace troupe::raft
