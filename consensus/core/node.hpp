#pragma once
/// One Raft node of one group: a pure state machine (etcd-raft's shape). Inputs are ticks, peer
/// messages and client calls, each with the shell's monotonic time; outputs accumulate in a `ready`
/// batch that the caller carries out and then acknowledges with `advance`.
///
/// Thread-safety: none; one owner (the raft actor, or a test) calls everything. The node keeps a
/// reference to its `log_storage`, which must outlive it.
///
/// Where the code lives (one role per file): node.cpp (construction, term rules, dispatch, ready and
/// advance), election.cpp (PreVote, RequestVote, CheckQuorum), replication.cpp (AppendEntries, flow
/// control, commit), read_path.cpp (ReadIndex, leases, follower reads), transfer.cpp (leadership
/// transfer), conf_change.cpp (membership changes: joint consensus, learners, recovery).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/core/log_storage.hpp"
#include "consensus/core/membership.hpp"
#include "consensus/core/message.hpp"
#include "consensus/core/progress.hpp"
#include "consensus/core/raft_log.hpp"
#include "consensus/core/types.hpp"
#include "runtime/base/result.hpp"

namespace troupe::raft {

class node {
 public:
  /// Validates `cfg` (errc::invalid_argument) and reads the durable state (errors of
  /// log_storage::initial_hard_state, last_config_index and entries; errc::corrupt for a stored
  /// configuration entry that does not decode). The configuration is the latest config entry in the
  /// log, else cfg.voters / cfg.learners (thesis §4.1). The node starts as a follower with no known
  /// leader.
  /// `snapshots` (may be null: this node then never sends a snapshot) is where, as leader, it reads
  /// the bytes of the log's snapshot for followers that need compacted entries; it must outlive
  /// the node. Errors also: errc::invalid_argument when cfg.applied is below the log's snapshot
  /// (restore the state machine from it first) or a snapshot limit is 0.
  static result<std::unique_ptr<node>> create(config cfg, const log_storage& storage,
                                              const snapshot_source* snapshots = nullptr);

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// One logical clock tick; `now` is the shell's monotonic time.
  void tick(monotonic_ns now);

  /// Feeds one message from a peer. Errors: errc::invalid_argument for a message of another group or
  /// not addressed to this node (the message is ignored).
  troupe::status step(const raft_message& m, monotonic_ns now);

  /// Starts an election now (with PreVote if enabled). Errors: errc::refused if this node is leader.
  troupe::status campaign(monotonic_ns now);

  /// Appends a command. Returns its index; it is committed once it shows up in committed_entries with
  /// this index and the current term. Errors: errc::refused (not leader: see status().leader),
  /// errc::busy (leadership transfer in progress, or too many uncommitted entries).
  result<index_t> propose(std::string data, monotonic_ns now);

  /// Asks for a linearizable read (thesis §6.4). The answer comes later as a read_state with this
  /// `request_id` (serve once applied >= its index) or in dropped_reads (retry). A follower forwards
  /// the request to its leader. Errors: errc::refused (no known leader), errc::busy (too many pending
  /// reads). `request_id` must be unique among this node's pending reads.
  /// `allow_lease` false: always confirm leadership with a heartbeat round, even while the lease
  /// holds (a linearizable read that does not depend on bounded clock drift, thesis §6.4); true:
  /// serve from the lease when it is valid (thesis §6.4.1).
  troupe::status read_index(std::uint64_t request_id, monotonic_ns now, bool allow_lease = true);

  /// Hands leadership to `target` (thesis §3.10): catch it up, then TimeoutNow. Proposals are refused
  /// and the lease is dropped from now on; aborted after an election timeout. Errors: errc::refused
  /// (not leader), errc::invalid_argument (target is this node or not a voter).
  troupe::status transfer_leadership(node_id target, monotonic_ns now);

  /// A leader asked to stop (SIGTERM) hands over first: starts a transfer to the voter with the
  /// highest match index (lowest id on a tie) and returns it. The shell waits until this node is no
  /// longer leader, or the transfer aborts, before exiting. Errors: errc::refused (not leader),
  /// errc::not_found (no other voter).
  result<node_id> hand_over(monotonic_ns now);

  /// Proposes a membership change (thesis §4.3): adding, removing and promoting several members at
  /// once. A change of voters appends C_old,new; once that commits, the leader appends C_new by itself.
  /// A change of learners only appends the new configuration directly. Each configuration takes
  /// effect on every node as soon as it is in its log (thesis §4.1). A leader left out of C_new keeps
  /// leading until C_new commits, then steps down and sends TimeoutNow to a caught-up voter (thesis
  /// §4.2.2). Returns the index of the config entry. Errors: errc::refused (not leader),
  /// errc::busy (another change is in progress: the last config entry is uncommitted or the
  /// configuration is joint; no entry of this term committed yet; a leadership transfer; too many
  /// uncommitted entries), errc::invalid_argument (see apply_conf_changes).
  result<index_t> propose_conf_change(std::vector<conf_change> changes, monotonic_ns now);

  /// Log compaction (Raft §7): the shell took a snapshot of its state machine at `index` (<= the
  /// applied index) and stored it durably; the log may now start after it. The core answers from
  /// the snapshot from now on (term, configuration, InstallSnapshot to lagging followers) and hands
  /// the metadata out in ready::compacted for the shell to drop the prefix. An index at or below the
  /// current snapshot changes nothing. Errors: errc::invalid_argument (beyond applied),
  /// errc::busy (a received snapshot is being restored).
  troupe::status compact(index_t index);
  /// The shell restored its state machine from ready::snapshot_to_restore (index = its
  /// last_index). Committed entries after it are handed out again, and the leader is told (the
  /// second acknowledgement). Errors: errc::invalid_argument if no such restore is pending.
  troupe::status snapshot_restored(index_t index);
  /// The snapshot the log starts after (index 0: none): what a follower that needs compacted
  /// entries is sent.
  const snapshot_metadata& log_snapshot() const { return log_snapshot_; }
  /// The configuration in effect at `index` (<= commit): what a snapshot at `index` records.
  membership membership_at(index_t index) const;

  /// The configuration in effect (the latest in the log) and the index of its entry (0: bootstrap).
  const membership& current_membership() const { return confs_.back().conf; }
  index_t membership_index() const { return confs_.back().index; }

  /// True if `take_ready` would return a non-empty batch.
  bool has_ready() const;
  /// Collects the outputs accumulated so far. The caller must carry them out (see `ready`) and call
  /// `advance` before the next `take_ready`.
  ready take_ready();
  /// The caller persisted, sent and applied `rd` (the batch from the last take_ready).
  void advance(const ready& rd);

  /// A successful AppendEntries acknowledgement of this leader's term, stepped in while the shell
  /// persists a ready (between take_ready and advance, its log store busy on another thread): the
  /// follower's progress moves and the commit index may advance (thesis §10.2.1: a leader commits
  /// from its followers' acknowledgements whatever its own disk is doing). Reads nothing from
  /// log_storage. Returns false and changes nothing for any other message, on a node that is not a
  /// voting leader, while a membership change or a leadership transfer runs, or before the no-op
  /// of the term is appended: the shell keeps such a message for step() after advance. The entries
  /// committed are handed out by the next take_ready as usual; `log().committed()` tells a shell
  /// that holds durable entries itself how far it may apply them now.
  bool step_acknowledgement(const raft_message& m, monotonic_ns now);

  node_status status() const;
  const raft_log& log() const { return log_; }
  const node_counters& counters() const { return counters_; }
  /// The leader's progress of every other member, voters and learners (empty unless leader), for
  /// status pages and metrics.
  const std::map<node_id, progress>& progress_by_peer() const { return progress_; }
  const config& cfg() const { return config_; }
  /// True while this node, as leader, may serve reads from its lease at `now`.
  bool lease_valid(monotonic_ns now) const;

 private:
  /// A configuration entry known in the log (or the bootstrap/base configuration at index 0).
  struct conf_record {
    index_t index = 0;
    term_t term = 0;
    struct membership conf;
  };

  node(config cfg, const log_storage& storage, const snapshot_source* snapshots, hard_state hs,
       std::vector<conf_record> confs);

  // ---- node.cpp: terms, dispatch, output ----
  /// A message of this group, to this node, from a named sender (else step refuses it).
  bool addressed_here(const raft_message& m) const {
    return group_of(m) == config_.group && m.to == config_.id && m.from != no_node;
  }
  void become_follower(term_t term, node_id leader);
  void reset(term_t term);
  void send(raft_message m, bool after_persist);
  void send_now(node_id to, raft_message_body body) { send({config_.id, to, term_, std::move(body)}, false); }
  void send_after_persist(node_id to, raft_message_body body) {
    send({config_.id, to, term_, std::move(body)}, true);
  }
  /// A voter of either half of the current configuration.
  bool is_voter(node_id id) const;
  /// Whether this node may start an election: it is a voter of the configuration in effect, or of
  /// one still in its log above an uncommitted latest configuration. Without the second case a node
  /// that holds an uncommitted C_new leaving it out, and the only log the other voters need, could
  /// never lead, and they could never win without its vote: the cluster would stall. The election
  /// itself still needs a quorum of the configuration in effect, which keeps it safe.
  bool may_campaign() const;
  /// This node alone is a quorum of every half of the configuration.
  bool sole_voter() const;
  hard_state current_hard_state() const { return {term_, voted_for_, log_.committed()}; }

  // ---- election.cpp ----
  void tick_election();
  void tick_heartbeat();
  void start_campaign(bool pre_vote, bool transfer);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void handle_vote_request(const raft_message& m, const vote_request& req);
  void handle_vote_response(const raft_message& m, const vote_response& resp);
  bool in_leader_lease() const;
  bool quorum_active();
  void randomize_election_timeout();
  std::uint64_t next_random();

  // ---- replication.cpp ----
  void handle_append(const raft_message& m, const append_entries& app);
  void handle_append_response(const raft_message& m, const append_entries_response& resp);
  void handle_heartbeat(const raft_message& m, const heartbeat& hb);
  void handle_heartbeat_response(const raft_message& m, const heartbeat_response& resp);
  bool send_append(node_id to, bool send_if_empty);
  void flush_appends();
  bool maybe_commit();
  void on_commit_advanced();

  // ---- read_path.cpp ----
  void leader_read(std::uint64_t request_id, node_id from, bool allow_lease);
  void register_read(std::uint64_t request_id, node_id from, bool allow_lease);
  void answer_read(std::uint64_t request_id, node_id from, index_t index, bool ok);
  void broadcast_heartbeat();
  void on_round_acked(node_id from, std::uint64_t round);
  void handle_read_index_request(const raft_message& m, const read_index_request& req);
  void handle_read_index_response(const read_index_response& resp);
  void release_reads_waiting_for_no_op();
  void drop_all_reads();
  bool committed_in_current_term() const;
  monotonic_ns lease_duration() const;

  // ---- conf_change.cpp ----
  static result<std::vector<conf_record>> recover_configurations(const config& cfg, const log_storage& storage,
                                                                 index_t commit);
  index_t append_config_entry(const membership& m);
  void track_configurations(index_t prev_index, const std::vector<log_entry>& entries);
  void on_membership_changed();
  void sync_progress();
  void maybe_finish_conf_change();
  index_t quorum_match(const std::function<index_t(node_id)>& match) const;
  /// The configuration quorums are computed over: the current one (a planted test bug may drop C_old).
  const membership& quorum_config() const;

  // ---- snapshot.cpp ----
  void start_snapshot(node_id to, progress& pr);
  void flush_snapshots();
  void snapshot_heartbeat_answered(node_id from, progress& pr);
  void handle_install_snapshot(const raft_message& m, const install_snapshot& is);
  void handle_install_snapshot_response(const raft_message& m, const install_snapshot_response& r);
  void install_received_snapshot(const snapshot_metadata& meta);

  // ---- transfer.cpp ----
  void handle_timeout_now(const raft_message& m);
  void abort_transfer();
  void maybe_send_timeout_now(node_id peer);

  config config_;
  const log_storage& storage_;
  raft_log log_;
  std::uint64_t rng_state_;
  monotonic_ns now_ = 0;

  // persistent state (Raft Figure 2)
  term_t term_;
  node_id voted_for_;

  enum role role_ = role::follower;
  node_id leader_ = no_node;
  std::uint32_t election_elapsed_ = 0;
  std::uint32_t heartbeat_elapsed_ = 0;
  std::uint32_t randomized_election_timeout_ = 0;
  /// After a restart a node does not know whom it acknowledged: it stays sticky for one election
  /// timeout so that a lease granted before the crash still holds (thesis §6.4.1). A node that never
  /// had a term acknowledged nobody and need not wait.
  bool sticky_after_start_;

  /// Configuration entries from the latest one at or below the commit index (or the bootstrap one)
  /// to the newest; the back is in effect. Entries above commit may be undone by a conflicting
  /// suffix (Raft §5.3), which reverts to the one before (thesis §4.1).
  std::vector<conf_record> confs_;
  mutable membership bug_quorum_config_;  ///< only for config::injected_bugs::joint_quorum_new_only

  // candidate
  std::map<node_id, bool> votes_;

  // leader
  std::map<node_id, progress> progress_;  ///< every member (voters, learners) except this node
  index_t no_op_index_ = 0;
  bool commit_broadcast_needed_ = false;
  bool append_needed_ = false;
  node_id transfer_target_ = no_node;
  bool transfer_started_this_term_ = false;

  // read path (leader)
  struct pending_read {
    std::uint64_t request_id;
    node_id from;
    index_t index;
    std::uint64_t round;  ///< 0 until a heartbeat round carries it
  };
  std::deque<pending_read> pending_reads_;
  struct waiting_read {
    std::uint64_t request_id;
    node_id from;
    bool allow_lease;
  };
  std::deque<waiting_read> reads_waiting_for_no_op_;
  std::uint64_t last_round_ = 0;
  std::uint64_t confirmed_round_ = 0;
  std::deque<std::pair<std::uint64_t, monotonic_ns>> round_sent_at_;
  std::map<node_id, std::uint64_t> acked_round_;
  bool read_round_needed_ = false;
  monotonic_ns lease_expiry_ = 0;
  // read path (follower)
  std::set<std::uint64_t> forwarded_reads_;

  node_counters counters_;

  // snapshots (Raft §7)
  const snapshot_source* snapshots_;
  snapshot_metadata log_snapshot_;                      ///< the log starts after it
  std::optional<config::partial_snapshot> incoming_;    ///< follower: the snapshot being received
  std::optional<snapshot_metadata> restoring_;          ///< follower: installed, state machine not restored yet
  bool restore_handout_ = false;                        ///< restoring_ not yet handed out in a ready
  std::vector<snapshot_chunk> snapshot_chunks_;         ///< follower: chunks to persist
  std::optional<snapshot_metadata> pending_compacted_;  ///< for ready::compacted
  std::uint64_t snapshot_budget_left_ = 0;              ///< leader: bytes left this tick

  // outputs
  std::vector<raft_message> msgs_;
  std::vector<raft_message> msgs_after_persist_;
  std::vector<read_state> read_states_;
  std::vector<std::uint64_t> dropped_reads_;
  hard_state handed_out_hard_state_;
  index_t handed_out_applied_;
  bool ready_outstanding_ = false;
};

}  // namespace troupe::raft
