#pragma once
/// Plain value types shared by the Raft core and its callers: configuration, durable hard state, the
/// `ready` batch, status. No behaviour lives here.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "consensus/core/message.hpp"

namespace troupe::raft {

/// Monotonic time in nanoseconds, passed in by the shell with every step. The core never reads a
/// clock; only lease reads depend on it (thesis §6.4.1).
using monotonic_ns = std::int64_t;

/// What must be durable before a node answers anything (Raft Figure 2, "persistent state").
struct hard_state {
  term_t term = 0;
  node_id voted_for = no_node;
  index_t commit = 0;  ///< not required by the paper; kept so a restart applies without waiting

  friend bool operator==(const hard_state&, const hard_state&) = default;
};

enum class role : std::uint8_t { follower, pre_candidate, candidate, leader };

const char* to_string(role r) noexcept;

/// Static configuration of one node of one group. All durations are in ticks except the lease's
/// wall-clock inputs.
struct config {
  node_id id = no_node;
  group_id group = 0;
  /// The bootstrap configuration: every voter including `id` (or `id` among `learners`), no
  /// duplicates, no `no_node`. Used only while the log holds no configuration entry (thesis §4.1: the
  /// latest configuration in the log wins once there is one). Empty voters (and learners): a node
  /// that joins an existing cluster; it never campaigns and waits for a leader to replicate to it.
  std::vector<node_id> voters;
  std::vector<node_id> learners;  ///< bootstrap non-voting members (thesis §4.2.1)
  /// Bootstrap addresses of those members ("host:port", opaque to the core): part of the bootstrap
  /// configuration, so the first configuration entry carries every member's address.
  std::map<node_id, std::string> addresses;

  std::uint32_t election_timeout_ticks = 10;  ///< randomized per term in [E, 2E) (Raft §5.2)
  std::uint32_t heartbeat_interval_ticks = 1;  ///< must be < election_timeout_ticks

  bool pre_vote = true;      ///< thesis §9.6
  bool check_quorum = true;  ///< leader steps down without a quorum; followers stick (thesis §6.2)

  std::size_t max_inflight_messages = 64;            ///< per follower, in replicate state
  std::uint64_t max_inflight_bytes = 8u << 20;        ///< per follower, payload bytes in flight
  std::uint64_t max_append_bytes = 1u << 20;          ///< per AppendEntries (at least one entry)
  std::size_t max_committed_entries_per_ready = 1024;  ///< bounds one apply batch
  std::size_t max_uncommitted_entries = 4096;          ///< proposals beyond this are refused (busy)
  std::size_t max_pending_reads = 4096;                ///< read_index calls beyond this are refused

  /// Lease reads (thesis §6.4.1). The lease lasts (election_timeout_ticks - 1) * tick_duration_ns *
  /// (1 - lease_drift_ratio) from the send time of the confirming heartbeat round: a follower that
  /// heard from the leader rejects votes until E ticks of its own passed, which is at least E - 1
  /// tick durations of real time.
  bool lease_reads = true;
  monotonic_ns tick_duration_ns = 100'000'000;
  double lease_drift_ratio = 0.1;

  std::uint64_t random_seed = 1;  ///< seeds the election-timeout generator: one seed, one run

  /// The index the state machine already reflects at start (the shell's durable applied index, at
  /// least the log's snapshot index: restore the state machine from that snapshot first);
  /// committed entries after it are handed out again.
  index_t applied = 0;

  /// InstallSnapshot (Raft §7). The leader streams a snapshot in chunks of at most
  /// `snapshot_chunk_bytes`, at most `max_snapshot_chunks_in_flight` unacknowledged per follower,
  /// and at most `snapshot_bytes_per_tick` over all followers per tick (0: unlimited; the shell maps
  /// a byte rate to it through its tick duration).
  std::uint64_t snapshot_chunk_bytes = 1u << 20;
  std::size_t max_snapshot_chunks_in_flight = 4;
  std::uint64_t snapshot_bytes_per_tick = 0;
  /// A snapshot this node was receiving when it stopped and whose first `bytes` are durable (the
  /// shell's partial snapshot): the transfer resumes from there instead of from 0.
  struct partial_snapshot {
    snapshot_metadata metadata;
    std::uint64_t bytes = 0;
  };
  std::optional<partial_snapshot> partial;

  /// Test-only switches that plant known bugs, so the simulation can prove it catches each one.
  /// All off in production; a shell must never set them.
  struct injected_bugs {
    bool commit_old_term_by_counting = false;  ///< ignore Raft §5.4.2 (Figure 8)
    bool reply_before_vote_durable = false;    ///< send vote answers before the vote is persisted
    bool skip_no_op = false;                   ///< new leader appends no no-op, serves reads at once
    bool read_index_without_quorum = false;    ///< serve ReadIndex without a heartbeat round
    bool lease_after_expiry = false;           ///< keep serving lease reads after the lease ends
    bool joint_quorum_new_only = false;        ///< in C_old,new count only C_new (ignore thesis §4.3)
    bool snapshot_omits_membership = false;    ///< compaction records no configuration; an install keeps the old one
    bool accept_stale_snapshot = false;        ///< install a snapshot at or below the commit index (Figure 13)
  } bugs;
};

/// A read that may be served once the state machine applied `index` (thesis §6.4).
struct read_state {
  std::uint64_t request_id = 0;
  index_t index = 0;

  friend bool operator==(const read_state&, const read_state&) = default;
};

/// A received snapshot chunk the shell must make durable (append at `offset` to the partial
/// snapshot `metadata` names; offset 0 starts it, discarding any other partial; `done`: the last).
struct snapshot_chunk {
  snapshot_metadata metadata;
  std::uint64_t offset = 0;
  std::string data;
  bool done = false;

  friend bool operator==(const snapshot_chunk&, const snapshot_chunk&) = default;
};

/// Everything the caller must do after a batch of steps, in this order (DESIGN.md 1):
/// 1. send `messages` (may overlap with 2: a leader replicates while its own fsync runs, thesis
///    §10.2.1);
/// 2. persist `snapshot_chunks` (finishing the snapshot at the `done` one), then
///    `log_storage::apply_snapshot(*compacted)` and `apply_snapshot(*snapshot_to_restore)` if set,
///    then `entries` (truncating any conflicting suffix) and `hard_state_update` (if set), and sync;
/// 3. send `messages_after_persist`;
/// 4. if `snapshot_to_restore`: restore the state machine from that snapshot (now or later) and then
///    call `node::snapshot_restored`; no committed entry is handed out until then;
///    apply `committed_entries` in order; serve `read_states` once applied >= their index; fail
///    `dropped_reads`;
/// 5. call `node::advance(ready)`.
struct ready {
  std::optional<struct hard_state> hard_state_update;  ///< set when term, vote or commit changed
  std::vector<log_entry> entries;
  std::vector<raft_message> messages;
  std::vector<raft_message> messages_after_persist;
  std::vector<log_entry> committed_entries;
  std::vector<read_state> read_states;
  std::vector<std::uint64_t> dropped_reads;  ///< request ids that will never be served: retry
  /// Follower: received snapshot chunks to make durable before messages_after_persist go out.
  std::vector<snapshot_chunk> snapshot_chunks;
  /// Follower: a complete received snapshot (Figure 13 steps 6-8): the log now starts after it;
  /// restore the state machine from it, then call node::snapshot_restored(last_index).
  std::optional<snapshot_metadata> snapshot_to_restore;
  /// The shell's snapshot at this index was accepted by node::compact: drop the log up to it.
  std::optional<snapshot_metadata> compacted;

  bool empty() const noexcept {
    return !hard_state_update && entries.empty() && messages.empty() && messages_after_persist.empty() &&
           committed_entries.empty() && read_states.empty() && dropped_reads.empty() &&
           snapshot_chunks.empty() && !snapshot_to_restore && !compacted;
  }
};

/// Counters of rare protocol paths, for metrics and for the simulation's coverage report. Monotonic
/// over the life of one node object.
struct node_counters {
  std::uint64_t elections_started = 0;           ///< real elections (after PreVote, if on)
  std::uint64_t pre_votes_rejected = 0;          ///< PreVote answers that refused us
  std::uint64_t vote_requests_ignored_in_lease = 0;  ///< leader stickiness (thesis §6.2)
  std::uint64_t old_term_commit_deferred = 0;    ///< a Figure-8 situation: majority, older term
  std::uint64_t conflicting_suffix_truncated = 0;  ///< Raft §5.3: entries replaced
  std::uint64_t reads_waited_for_no_op = 0;      ///< thesis §6.4: read before the no-op committed
  std::uint64_t lease_reads = 0;                 ///< reads served from the lease
  std::uint64_t lease_expired_reads = 0;         ///< a lease existed but had expired at the read
  std::uint64_t reads_during_transfer = 0;       ///< reads registered while a transfer ran
  std::uint64_t reads_dropped = 0;               ///< reads failed back to the caller
  std::uint64_t check_quorum_step_downs = 0;
  std::uint64_t transfers_aborted = 0;
  // membership (thesis chapter 4)
  std::uint64_t conf_changes_proposed = 0;      ///< accepted propose_conf_change calls
  std::uint64_t conf_changes_refused_busy = 0;  ///< refused: another change still in progress
  std::uint64_t joint_configs_left = 0;         ///< C_new entries a leader appended after C_old,new committed
  std::uint64_t configs_reverted = 0;           ///< a config entry dropped with a conflicting suffix
  std::uint64_t removed_leader_step_downs = 0;  ///< a leader left out of a committed C_new stepped down
  // snapshots (Raft §7)
  std::uint64_t compactions = 0;               ///< node::compact calls that moved the log start
  std::uint64_t snapshot_sends_started = 0;    ///< leader: a follower needed compacted entries
  std::uint64_t snapshot_chunks_sent = 0;
  std::uint64_t snapshot_resumes = 0;          ///< leader: continued from a follower's offset (not 0)
  std::uint64_t snapshot_waits_for_apply = 0;  ///< leader: transfer complete, waiting for the restore
  std::uint64_t snapshots_throttled = 0;       ///< leader: a chunk held back by the per-tick budget
  std::uint64_t snapshots_installed = 0;       ///< follower: complete snapshots installed in the log
  std::uint64_t snapshots_kept_suffix = 0;     ///< of them, the log matched: its suffix kept (Figure 13, 6)
  std::uint64_t snapshots_restored = 0;        ///< follower: the shell restored the state machine
  std::uint64_t stale_snapshots_ignored = 0;   ///< follower: at or below the commit index, not installed
  // persistence pipeline
  std::uint64_t acknowledgements_during_persist = 0;  ///< leader: step_acknowledgement took one
};

/// A snapshot of a node's state for status pages, metrics and tests.
struct node_status {
  node_id id = no_node;
  group_id group = 0;
  term_t term = 0;
  enum role role = role::follower;
  node_id leader = no_node;
  node_id voted_for = no_node;
  index_t commit = 0;
  index_t applied = 0;
  index_t last_index = 0;
  index_t first_index = 1;
  std::uint64_t log_size = 0;  ///< entries held (last - first + 1)
  node_id transfer_target = no_node;
  bool lease_valid = false;
  /// The configuration in effect: the latest one in the log, committed or not (thesis §4.1).
  struct membership membership;
  index_t membership_index = 0;  ///< index of its config entry (0: the bootstrap configuration)
  bool learner = false;          ///< this node is a learner (role stays follower)
  bool conf_change_pending = false;  ///< a config entry is not committed yet, or the config is joint
  index_t snapshot_index = 0;  ///< the log starts after this snapshot (0: none)
  bool restoring_snapshot = false;  ///< a received snapshot waits for node::snapshot_restored
};

}  // namespace troupe::raft
