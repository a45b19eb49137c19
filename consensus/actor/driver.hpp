#pragma once
/// The decidable half of the raft actor: owns one Raft core and carries out its ready batches
/// against narrow interfaces (log store, state machine, `driver_io`), with no CAF, no clock and no
/// thread. The CAF shell (raft_actor.cpp) turns mailbox messages into calls here and forwards the
/// `driver_io` calls to the transport, the storage thread and the callers' response promises.
/// Unit tests drive it directly (tests/unit/raft_actor).
///
/// The persistence pipeline (consensus/core/README.md, "ready / advance"): the driver takes one
/// ready batch, sends its `messages` at once (a leader replicates while its own fsync runs, thesis
/// §10.2.1), buffers entries and hard state in the store, and asks `driver_io::start_sync` to run
/// `log_storage::sync()` off the caller's thread. Until `sync_done` comes back the core and the
/// store are not touched (the store is single-threaded, sqlite_log_storage.hpp): every input
/// arriving meanwhile is queued, and fed to the core in order once the batch is finished, so the
/// proposals of one fsync period become the entries of the next batch (group commit). A batch with
/// nothing to make durable (only the commit index changed: it needs no fsync, a restart relearns
/// it) is finished at once.
///
/// Answers: every proposal and read carries a `ticket` chosen by the caller; exactly one
/// `driver_io::answer` comes back for each ticket, possibly from within the call that submitted it.
///
/// Thread-safety: none; one owner calls everything (the raft actor).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "consensus/core/log_storage.hpp"
#include "consensus/core/membership.hpp"
#include "consensus/core/node.hpp"
#include "consensus/core/state_machine.hpp"
#include "consensus/core/types.hpp"

namespace troupe::raft {

/// How a proposal or read ended. Only `ok` carries a reply from the state machine.
enum class outcome_code : std::uint8_t {
  ok = 0,
  not_leader = 1,       ///< this node is not the leader; `leader` names it (no_node: none known)
  busy = 2,             ///< admission bound reached, or the core refused for now (transfer)
  unavailable = 3,      ///< no leader known (election in progress)
  outcome_unknown = 4,  ///< leadership or term changed before the entry committed: retry with the
                        ///< same session sequence (the state machine's sessions dedupe)
  stopped = 5,          ///< the group stopped (storage failure, shutdown) before an answer
  rejected = 6,         ///< a membership change or transfer that cannot be done as asked (`reply`
                        ///< says why: not a member, already a voter, transfer aborted, ...)
};

const char* to_string(outcome_code c) noexcept;

struct outcome {
  outcome_code code = outcome_code::ok;
  std::string reply;       ///< state_machine::apply / query result when code == ok
  node_id leader = no_node;  ///< the leader as this node knows it (for not_leader)
};

/// How a read is served (thesis §6.4).
enum class read_mode : std::uint8_t {
  linearizable = 0,  ///< leader only: ReadIndex, always confirmed by a heartbeat round (never the
                     ///< lease: its safety must not rest on bounded clock drift)
  lease = 1,         ///< leader only: served from the lease while it holds, else ReadIndex
  follower = 2,      ///< any node: the leader's read index, served from the local state machine
  session = 3,       ///< any node, no round: served once this node applied the read's min index
                     ///< (read your writes, monotonic reads; docs/consistency.md); waits at most
                     ///< driver_options::session_read_wait_ns, then unavailable
  stale = 4,         ///< any node, at once, from whatever this node applied: may be stale
};

using ticket = std::uint64_t;

/// What the driver asks of its owner. Called on the owner's thread, from inside driver calls.
class driver_io {
 public:
  virtual ~driver_io() = default;
  /// Sends messages to peers (fire and forget; Raft retries what is lost).
  virtual void send(std::vector<raft_message>&& messages) = 0;
  /// Run `log_storage::sync()` off this thread, then call driver::sync_done with its status. The
  /// owner must not call other driver functions concurrently with the sync (it queues them anyway).
  virtual void start_sync() = 0;
  /// The single answer for `t`.
  virtual void answer(ticket t, outcome o) = 0;

  // ---- snapshots (Raft §7; consensus/README.md, "What the shell does with a ready batch") ----
  /// Received InstallSnapshot chunks of the batch about to be synced: the next start_sync must make
  /// them durable in the snapshot store BEFORE the log's sync (offset 0 starts a partial snapshot,
  /// discarding another; `done` finishes it: it becomes the latest complete snapshot), because the
  /// log's apply_snapshot of the same batch relies on the image. Called only with a non-empty list.
  virtual void stage_snapshot_chunks(std::vector<snapshot_chunk>&& chunks) = 0;
  /// The image of the complete snapshot `meta` names, durable in the snapshot store (received by
  /// an earlier sync). Blocks on the disk. An error stops the group.
  virtual result<std::string> snapshot_image(const snapshot_metadata& meta) = 0;
  /// Log compaction: store `image` durably as the snapshot `meta` off this thread, then call
  /// driver::snapshot_saved. At most one save is in flight.
  virtual void start_snapshot_save(const snapshot_metadata& meta, std::string image) = 0;
};

/// Counters for metrics, monotonic over the driver's life.
struct driver_counters {
  std::uint64_t entries_committed = 0;   ///< commit index advances seen (entries)
  std::uint64_t entries_applied = 0;     ///< normal entries applied to the state machine
  std::uint64_t leader_changes = 0;      ///< the known leader changed (to another or to none)
  std::uint64_t failed_not_leader = 0;
  std::uint64_t failed_busy = 0;
  std::uint64_t failed_unavailable = 0;
  std::uint64_t failed_outcome_unknown = 0;
  std::uint64_t busy_proposals = 0;      ///< refused by the admission bound
  std::uint64_t busy_reads = 0;
  std::uint64_t syncs = 0;
  std::uint64_t dropped_inputs = 0;      ///< peer messages dropped because the queue was full
  std::uint64_t snapshots_saved = 0;     ///< compaction snapshots stored (then compacted)
  std::uint64_t snapshot_saves_skipped = 0;  ///< not stored: a newer snapshot was there already
  std::uint64_t snapshot_saves_failed = 0;   ///< the store refused (the log stays uncompacted)
  std::uint64_t snapshot_saves_deferred = 0;  ///< batches past a threshold while a transfer ran
  std::uint64_t snapshots_restored = 0;  ///< received snapshots the state machine was restored from
};

struct driver_options {
  /// Proposals plus reads waiting for an answer on this node, beyond which new ones are refused
  /// with busy at once (admission control: memory stays bounded).
  std::size_t max_pending = 10'000;
  /// Bytes of commands and read requests waiting for an answer on this node, beyond which new
  /// ones are refused with busy at once (with max_pending: memory stays bounded by bytes too).
  std::uint64_t max_pending_bytes = 256u << 20;
  /// Peer messages queued while a sync runs, beyond which they are dropped (Raft retries).
  std::size_t max_queued_messages = 8'192;
  /// How long a session read waits for this node to apply its min index before it is answered
  /// unavailable (the client then asks another node): bounded, so a partitioned follower does not
  /// hold reads forever.
  monotonic_ns session_read_wait_ns = 1'000'000'000;
  /// Log compaction (Raft §7): once this many entries were applied since the last snapshot, or
  /// their commands add up to this many bytes, the driver takes a snapshot of the state machine and
  /// compacts the log up to it. 0 disables that threshold; both 0: never compact. While this node
  /// (leader) sends a snapshot, compaction waits until four times a threshold is reached (a new
  /// snapshot would restart the transfer).
  std::uint64_t snapshot_entries = 0;
  std::uint64_t snapshot_bytes = 0;
};

class driver {
 public:
  /// `core`, `store` and `sm` must be the node, the storage it reads and the state machine of one
  /// group; `store` and `sm` must outlive the driver. `sm` is rebuilt by replaying the log from
  /// the core's config.applied (0 without snapshots).
  driver(std::unique_ptr<node> core, log_storage& store, state_machine& sm, driver_io& io,
         driver_options opts = {});

  driver(const driver&) = delete;
  driver& operator=(const driver&) = delete;

  // ---- inputs (each queued while a sync runs) ----
  void tick(monotonic_ns now);
  void step(raft_message m, monotonic_ns now);
  void propose(ticket t, std::string command, monotonic_ns now);
  /// `min_index`: session reads only (served once applied >= min_index); ignored otherwise.
  void read(ticket t, std::string request, read_mode mode, monotonic_ns now, index_t min_index = 0);
  /// A backup (`troupe backup save`, backup_file.hpp): served like a linearizable read (leader
  /// only, ReadIndex confirmed by a heartbeat round, thesis §6.4), so it holds every write
  /// acknowledged before it was asked for; once the read index is applied the reply is the encoded
  /// backup file of the state machine at the applied index (committed, since only committed
  /// entries are applied), with that index's term and configuration. Errors as for read.
  void backup(ticket t, monotonic_ns now);
  void campaign(monotonic_ns now);
  /// Starts a leadership hand-over (node::hand_over) when this node leads; see hand_over_state().
  void hand_over(monotonic_ns now);
  /// A membership change (node::propose_conf_change, thesis §4.3). Answered ok once the change is
  /// complete: its configuration, and for a change of voters the C_new that follows C_old,new, is
  /// committed. not_leader / unavailable / busy (another change in progress) / rejected (invalid
  /// for the configuration: `reply` says why) / outcome_unknown (leadership changed first).
  void change_membership(ticket t, std::vector<conf_change> changes, monotonic_ns now);
  /// Leadership transfer to `target` (thesis §3.10). Answered ok once this node sees `target`
  /// lead; rejected when the target is not a voter or the transfer aborted (election timeout).
  void transfer_leadership(ticket t, node_id target, monotonic_ns now);

  /// The save started by driver_io::start_snapshot_save finished: `saved` true when the image is
  /// durable (then the core compacts the log up to it), false when the store kept a newer snapshot
  /// instead (nothing to do); an error leaves the log uncompacted (counted; the next attempt waits
  /// for another threshold's worth after this one, as after a skip). Not a reason to stop: the log
  /// stays complete.
  void snapshot_saved(const snapshot_metadata& meta, const result<bool>& saved, monotonic_ns now);

  /// The sync started by driver_io::start_sync finished. A failed sync stops the group for good:
  /// every pending and later request is answered `stopped` (the node must exit: what is durable is
  /// unknown, consensus/storage/README.md).
  void sync_done(const troupe::status& st, monotonic_ns now);

  // ---- observation ----
  bool syncing() const noexcept { return syncing_; }
  bool failed() const noexcept { return failure_.has_value(); }
  const std::optional<error>& failure() const noexcept { return failure_; }
  /// The core's status as of the last time the core was idle (never read during a sync).
  const node_status& status() const noexcept { return status_; }
  /// Per-peer progress (leader only), as of the same moment as status().
  struct peer_view {
    node_id id = no_node;
    index_t match = 0;
    index_t next = 0;
    bool replicate = false;
    bool recently_active = false;
    bool snapshot = false;              ///< receiving a snapshot (Raft §7): no AppendEntries
    std::uint64_t snapshot_size = 0;    ///< that snapshot's bytes
    std::uint64_t snapshot_acked = 0;   ///< of them, held durably by the peer
  };
  const std::vector<peer_view>& peers() const noexcept { return peers_; }
  const driver_counters& counters() const noexcept { return counters_; }
  const node_counters& core_counters() const noexcept { return core_counters_; }
  std::size_t pending_proposals() const noexcept { return proposals_.size() + queued_proposals_; }
  std::size_t pending_reads() const noexcept { return reads_.size() + queued_reads_; }
  std::uint64_t pending_bytes() const noexcept { return pending_bytes_; }
  /// Bytes of the snapshot this node is receiving that are durable (0: none in flight).
  std::uint64_t snapshot_received_bytes() const noexcept { return snapshot_received_bytes_; }

  /// Hand-over progress: none (not asked), running, done (no longer leader, or was not leader),
  /// aborted (the transfer ended with this node still leading, or there was nobody to hand to).
  enum class hand_over_state : std::uint8_t { none, running, done, aborted };
  hand_over_state hand_over_progress() const noexcept { return hand_over_; }

  /// Observers for histograms (may be empty): ReadIndex latency in seconds, a heartbeat's round
  /// trip to one peer in seconds.
  std::function<void(double)> on_read_index_seconds;
  std::function<void(node_id, double)> on_peer_round_trip_seconds;

 private:
  struct tick_input {
    std::uint32_t count = 1;  ///< consecutive ticks queued together
  };
  struct campaign_input {};
  struct hand_over_input {};
  struct conf_change_input {
    ticket t;
    std::vector<conf_change> changes;
  };
  struct transfer_input {
    ticket t;
    node_id target;
  };
  struct compact_input {
    index_t index;
  };
  struct propose_input {
    ticket t;
    std::string command;
  };
  struct read_input {
    ticket t;
    std::string request;
    read_mode mode;
    index_t min_index = 0;
    bool backup = false;  ///< answer with a backup file instead of state_machine::query
  };
  using input = std::variant<tick_input, raft_message, propose_input, read_input, campaign_input,
                             hand_over_input, conf_change_input, transfer_input, compact_input>;

  struct pending_proposal {
    ticket t;
    term_t term;
  };
  struct pending_read {
    ticket t;
    std::string request;
    monotonic_ns started;
    index_t index = 0;  ///< 0 until the read index is known
    bool session = false;  ///< a session read: expires after session_read_wait_ns
    bool backup = false;   ///< a backup: answered by backup_reply()
  };

  void enqueue(input in);
  void apply_input(input& in, monotonic_ns now);
  void do_propose(propose_input& p, monotonic_ns now);
  void do_read(read_input& r, monotonic_ns now);
  void do_hand_over(monotonic_ns now);
  // ---- driver_membership.cpp ----
  void do_change_membership(conf_change_input& c, monotonic_ns now);
  void do_transfer(transfer_input& tr, monotonic_ns now);
  /// Answers the pending change and transfer once the status shows how they ended.
  void settle_membership_requests(const node_status& st);
  /// Runs the ready loop until the core is idle or a sync is in flight.
  void pump(monotonic_ns now);
  void finish_batch(monotonic_ns now);
  /// Restores the state machine from the batch's received snapshot (Figure 13, step 8) and tells
  /// the core (its second acknowledgement); false with failure_ set when that fails.
  bool restore_snapshot(const snapshot_metadata& meta);
  /// Starts a compaction snapshot when a threshold is reached (driver_options::snapshot_entries /
  /// snapshot_bytes) and none is in flight.
  void maybe_snapshot();
  /// Applies the batch's committed entries up to `limit` (those not applied yet) and answers.
  void apply_committed(const ready& rd, index_t limit);
  /// Applies one committed entry (the next after applied_) and answers its proposer.
  void apply_entry(const log_entry& e);
  /// During a sync: applies the durable entries this leader holds up to the core's commit index.
  void apply_acknowledged();
  /// Keeps the batch's entries (durable now) while this node leads, for apply_acknowledged.
  void retain_durable(ready& rd);
  /// Forgets the retained entries that are applied already.
  void drop_applied_durable();
  /// Compacts the log up to a saved snapshot once the core has handed out its index.
  void compact_when_handed_out();
  /// Records the batch's read states (served once applied) and fails its dropped reads.
  void take_reads(ready& rd, monotonic_ns now);
  void observe_sent(const std::vector<raft_message>& messages, monotonic_ns now);
  void observe_received(const raft_message& m, monotonic_ns now);
  void serve_reads();
  /// The backup file of the state machine as applied now (see backup()).
  outcome backup_reply();
  /// Answers unavailable the session reads that waited longer than session_read_wait_ns.
  void expire_session_reads(monotonic_ns now);
  void refresh_status();
  void fail(ticket t, outcome_code code, node_id leader);
  /// Admission control: counts the request's bytes if there is room (see driver_options).
  bool admit(ticket t, std::size_t bytes);
  /// The single answer for `t`: releases its admitted bytes, then driver_io::answer.
  void reply(ticket t, outcome o);
  void fail_all(outcome_code code);

  std::unique_ptr<node> core_;
  log_storage& store_;
  state_machine& sm_;
  driver_io& io_;
  driver_options opts_;

  bool syncing_ = false;
  std::optional<ready> batch_;  ///< the batch taken from the core and not yet advanced
  hard_state durable_hs_;       ///< term and vote as last made durable
  index_t durable_last_ = 0;    ///< the store's last index as of the last successful sync
  std::deque<input> queue_;     ///< inputs that arrived during a sync
  /// Entries this node appended as leader of status_.term, durable, not applied yet: what an
  /// acknowledgement taken during a sync (node::step_acknowledgement) lets it apply at once, since
  /// the core's copy may be in the store, which the sync holds. Contiguous from applied_ + 1.
  std::deque<log_entry> durable_unapplied_;
  index_t compact_pending_ = 0;  ///< a saved snapshot's index beyond what the core handed out
  std::size_t queued_proposals_ = 0;
  std::size_t queued_reads_ = 0;
  std::size_t queued_messages_ = 0;
  std::optional<error> failure_;

  std::uint64_t pending_bytes_ = 0;  ///< admitted and not yet answered
  std::unordered_map<ticket, std::size_t> admitted_bytes_;
  std::map<index_t, pending_proposal> proposals_;  ///< by log index
  std::map<std::uint64_t, pending_read> reads_;    ///< by read request id
  std::multimap<index_t, std::uint64_t> reads_ready_;  ///< read index -> request id, awaiting apply
  std::uint64_t next_read_id_ = 1;
  index_t applied_ = 0;
  /// Index, term and configuration in effect of the last entry applied (what a backup records),
  /// kept while applying and restoring a snapshot: the core's membership_at may read the store,
  /// which a sync may hold. A path that sets applied_ otherwise must set this too, or backups are
  /// refused (backup_reply falls back to the log's snapshot only when its index matches).
  snapshot_metadata applied_meta_;

  node_status status_;
  std::vector<peer_view> peers_;
  driver_counters counters_;
  node_counters core_counters_;
  hand_over_state hand_over_ = hand_over_state::none;
  struct pending_conf_change {
    ticket t;
    index_t index;
    term_t term;
  };
  struct pending_transfer {
    ticket t;
    node_id target;
    term_t term;
  };
  std::optional<pending_conf_change> conf_change_;  ///< the core allows one change at a time
  std::vector<pending_transfer> transfers_;
  std::map<node_id, std::pair<std::uint64_t, monotonic_ns>> heartbeat_sent_;  ///< per peer: round, time
  // log compaction
  index_t snapshot_index_ = 0;        ///< the latest snapshot this node holds (taken or received)
  std::uint64_t bytes_since_snapshot_ = 0;  ///< command bytes applied after it
  bool saving_snapshot_ = false;      ///< a start_snapshot_save is in flight
  std::uint64_t snapshot_received_bytes_ = 0;
  std::uint64_t bytes_in_save_ = 0;   ///< bytes_since_snapshot_ when that save's image was taken
  /// The last failed or skipped save: index and bytes_since_snapshot_ of its image (maybe_snapshot
  /// waits a whole threshold past them; ignored once a snapshot at or beyond it is held).
  index_t retry_from_index_ = 0;
  std::uint64_t retry_from_bytes_ = 0;
};

}  // namespace troupe::raft
