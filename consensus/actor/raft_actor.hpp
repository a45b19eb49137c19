#pragma once
/// The raft actor: the CAF shell around one Raft group (core + durable log + state machine). See
/// consensus/actor/README.md for the persistence pipeline.
///
/// CAF message API (every reply is a value; no request ever fails with a CAF error except when the
/// actor is gone):
///
/// | request                                              | reply          |
/// |------------------------------------------------------|----------------|
/// | `(propose_atom, std::string command)`                | `raft_reply`   |
/// | `(read_atom, std::string request, read_mode mode)`   | `raft_reply`   |
/// | `(read_atom, std::string request, read_mode mode, std::uint64_t min_index)` | `raft_reply` |
/// | `(status_atom)`                                      | `group_status` |
/// | `(hand_over_atom, std::uint64_t deadline_ms)`        | `bool`         |
/// | `(conf_change_atom, std::vector<conf_change>)`       | `raft_reply`   |
/// | `(transfer_atom, node_id target)`                    | `raft_reply`   |
/// | `(backup_atom)`                                      | `raft_reply`   |
///
/// - propose: `command` goes into the log as is; once committed and applied, the reply carries what
///   `state_machine::apply` returned (code ok). Otherwise: not_leader (with the leader's node id, or
///   no_node), unavailable (no leader known), busy (admission bound, or a transfer in progress:
///   retry later), outcome_unknown (leadership or term changed before the entry committed: it may
///   still commit; retry with the same session sequence), stopped (storage failed or shutdown).
/// - read: `request` is handed to `state_machine::query` once the read is linearizable for `mode`
///   (see driver.hpp's read_mode; `min_index` is a session read's bound, 0 otherwise);
///   not_leader / unavailable / busy / stopped as above.
/// - status: what the status page renders (group_status.hpp).
/// - hand_over: a leader hands leadership to its most up-to-date follower (thesis §3.10) and answers
///   true once it no longer leads; false when the transfer aborted or `deadline_ms` passed. A
///   non-leader answers true at once. For SIGTERM.
/// - conf_change: a membership change (thesis §4.3; driver::change_membership): ok once complete;
///   rejected / busy with the reason in `data`. transfer: leadership transfer (thesis §3.10;
///   driver::transfer_leadership).
/// - backup: `data` is a backup file (backup_file.hpp) of the state machine, taken on the leader
///   once a linearizable read issued now is applied (driver::backup); errors as for read.
///
/// Membership in the shell: whenever the configuration in effect changes (it takes effect once in
/// the log, thesis §4.1) the actor tells the transport the members' addresses (`set_peers`, from
/// the addresses in the configuration, else the bootstrap `core.addresses`), so it dials added
/// members and says goodbye to removed ones, and logs the change. A node that is not a member of
/// the committed configuration logs that it was removed and, after two election timeouts (so its
/// last messages, such as a removed leader's TimeoutNow, still go out), disconnects from every
/// peer: it can no longer disturb the cluster. A node started without a configuration (joining)
/// never campaigns and logs when it was added.
///
/// The actor registers itself with the transport as endpoint `raft_endpoint(group)` and talks to
/// its peers' actors of the same name; votes, heartbeats and answers go on lane raft_control,
/// AppendEntries carrying entries on raft_bulk. fsync runs on a detached storage actor, never on a
/// scheduler thread.
///
/// Thread-safety: send messages from anywhere; the actor owns the store and the state machine.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "consensus/actor/driver.hpp"
#include "consensus/actor/group_status.hpp"
#include "consensus/core/membership.hpp"
#include "consensus/core/state_machine.hpp"
#include "consensus/core/types.hpp"
#include "runtime/base/log_level.hpp"
#include "runtime/base/result.hpp"

namespace prometheus {
class Registry;
}

namespace troupe::raft {

using propose_atom = caf::atom_constant<caf::atom("rf_prop")>;
using read_atom = caf::atom_constant<caf::atom("rf_read")>;
using status_atom = caf::atom_constant<caf::atom("rf_status")>;
using hand_over_atom = caf::atom_constant<caf::atom("rf_handovr")>;
using conf_change_atom = caf::atom_constant<caf::atom("rf_conf")>;
using transfer_atom = caf::atom_constant<caf::atom("rf_xfer")>;
using backup_atom = caf::atom_constant<caf::atom("rf_backup")>;

/// The answer to propose and read.
struct raft_reply {
  outcome_code code = outcome_code::ok;
  std::string data;          ///< the state machine's reply when code == ok
  node_id leader = no_node;  ///< the leader as this node knows it (for not_leader)
  std::string leader_address;  ///< its address from the configuration ("" when unknown)
};

/// "raft/<group>": the transport endpoint of a group's raft actor on every node.
std::string raft_endpoint(group_id group);

struct raft_actor_config {
  /// The core's configuration: id, group, voters, ticks, limits. Leave `applied` 0: spawn sets it
  /// to the index of the snapshot it restored the state machine from (0 without one).
  config core;
  std::chrono::nanoseconds tick_interval{50'000'000};
  driver_options limits;
  std::string log_path;  ///< the group's SQLite log file (created if missing)
  /// The group's snapshot file (consensus/storage/sqlite_snapshot_store.hpp); empty: beside the log,
  /// snapshot_path_for(log_path).
  std::string snapshot_path;
  caf::actor transport;
  prometheus::Registry* registry = nullptr;  ///< troupe_raft_* families; must outlive the actor
  log_function log;                          ///< may be empty
  /// Called (on the actor's thread) when the log store failed and the group stopped: the node
  /// must exit, as what is durable is unknown (consensus/storage/README.md).
  std::function<void(const error&)> on_fatal;
};

/// Opens the log (verifying every entry's checksum: errc::corrupt names the file and the index),
/// restores `sm` from the latest snapshot if there is one (snapshot_recovery.hpp), creates the core,
/// and spawns the actor, which replays the committed log after the snapshot into `sm` and then
/// registers with the transport. Errors: those of sqlite_log_storage::open, recover_from_snapshot
/// and node::create.
result<caf::actor> spawn_raft_actor(caf::actor_system& system, raft_actor_config cfg,
                                    std::unique_ptr<state_machine> sm);

/// Adds raft_reply, group_status and their parts to `cfg` (call before creating the system).
void add_message_types(caf::actor_system_config& cfg);

// ---- Inspection (CAF 0.17 form) -----------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, conf_change& x) {
  return f(caf::meta::type_name("troupe.raft.conf_change"), x.type, x.id, x.address);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_reply& x) {
  return f(caf::meta::type_name("troupe.raft.reply"), x.code, x.data, x.leader, x.leader_address);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("troupe.raft.node_status"), x.id, x.group, x.term, x.role, x.leader,
           x.voted_for, x.commit, x.applied, x.last_index, x.first_index, x.log_size,
           x.transfer_target, x.lease_valid);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_progress& x) {
  return f(caf::meta::type_name("troupe.raft.peer_progress"), x.id, x.match, x.next, x.lag_entries,
           x.state, x.recently_active);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, leader_change& x) {
  return f(caf::meta::type_name("troupe.raft.leader_change"), x.unix_ms, x.term, x.leader);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_status& x) {
  return f(caf::meta::type_name("troupe.raft.group_status"), x.node, x.peers,
           x.recent_leader_changes, x.pending_proposals, x.pending_reads, x.storage_ok, x.removed);
}

}  // namespace troupe::raft
