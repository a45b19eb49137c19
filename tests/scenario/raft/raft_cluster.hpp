#pragma once
/// A deterministic in-test cluster of real Raft cores: in-memory fault-injecting storage per node, a
/// simulated network (drop, duplicate, reorder, partitions), crash-restart, and the invariant checks
/// after every step. Shared by the scenario and simulation tiers. Single-threaded; one seed, one run.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/core/invariants.hpp"
#include "consensus/core/memory_log_storage.hpp"
#include "consensus/core/memory_snapshot_store.hpp"
#include "consensus/core/node.hpp"

namespace troupe::raft::testing {

/// splitmix64, the test-side random source (the cores get their own seeds from it).
class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  /// True with probability `p_percent` / 100.
  bool chance(std::uint32_t p_percent) { return below(100) < p_percent; }

 private:
  std::uint64_t state_;
};

struct network_faults {
  std::uint32_t drop_percent = 0;
  std::uint32_t duplicate_percent = 0;
  bool reorder = false;  ///< deliver a random in-flight message instead of the oldest
};

class cluster {
 public:
  /// Nodes 1..n with `tmpl` as configuration template (id, voters and seed are set here).
  cluster(std::size_t n, config tmpl, std::uint64_t seed);
  /// Nodes 1..n of which 1..voters form the bootstrap configuration; the others start with none
  /// (nodes that join later: they never campaign until a configuration names them).
  cluster(std::size_t n, config tmpl, std::uint64_t seed, std::size_t voters);

  std::size_t size() const { return nodes_.size(); }
  node& at(node_id id) { return *slot(id).core; }
  bool is_up(node_id id) const { return nodes_.at(id - 1).core != nullptr; }
  memory_log_storage& storage(node_id id) { return *slot(id).storage; }
  /// Commands applied by `id` in order (data of normal entries), since its last restart.
  const std::vector<log_entry>& applied(node_id id) const { return nodes_.at(id - 1).applied; }
  std::vector<read_state>& read_states(node_id id) { return slot(id).reads; }
  std::vector<std::uint64_t>& dropped_reads(node_id id) { return slot(id).dropped; }
  monotonic_ns now() const { return now_; }
  /// Moves the clock forward without ticking anyone: a paused process whose clock jumped.
  void jump_time(monotonic_ns delta) { now_ += delta; }
  rng& random() { return rng_; }
  network_faults& faults() { return faults_; }

  // ---- time and messages ----
  /// One tick on every live node (advancing time by one tick duration), then their ready batches.
  void tick();
  void tick(std::size_t count) { for (std::size_t i = 0; i < count; ++i) tick(); }
  /// Ticks only `id` (others stand still).
  void tick_node(node_id id);
  /// Delivers in-flight messages (and processes readies) until none is left or `max_steps` ran.
  void deliver_all(std::size_t max_steps = 100'000);
  /// Delivers one in-flight message (oldest, or random with reorder). Returns false if none.
  bool deliver_one();
  /// Ticks and delivers until exactly one live leader is known to a majority, at most `max_ticks`.
  std::optional<node_id> elect(std::size_t max_ticks = 1000);
  /// The unique live leader with the highest term, if any.
  std::optional<node_id> leader() const;
  std::deque<raft_message>& in_flight() { return in_flight_; }
  /// Called for every committed normal entry a node applies, in order.
  std::function<void(node_id, const log_entry&)> on_apply;
  /// Called when a node (re)starts: its state machine starts empty and re-applies from index 1.
  std::function<void(node_id)> on_start;
  /// Snapshots (Raft §7): the state machine image of `id` at its applied index (for compact()),
  /// and a restore of `id`'s state machine from an image taken at an index (an installed snapshot,
  /// or a restart from the latest snapshot). Unset: snapshots are never taken.
  std::function<std::string(node_id)> take_snapshot;
  std::function<void(node_id, index_t, const std::string&)> on_restore;
  /// Ticks a node takes to restore a received snapshot (0: at once, inside the ready); while it
  /// restores, it keeps answering heartbeats (a slow apply must not cause a retransfer).
  std::uint64_t restore_delay_ticks = 0;
  /// Takes a snapshot of `id` at its applied index and compacts its log (the shell's part of log
  /// compaction). Errors: those of node::compact.
  troupe::status compact(node_id id);
  memory_snapshot_store& snapshots(node_id id) { return *slot(id).snapshots; }
  /// Called for every read state / dropped read a node reports.
  std::function<void(node_id, const read_state&)> on_read;
  std::function<void(node_id, std::uint64_t)> on_read_dropped;
  /// A paused node neither ticks nor receives (messages to it wait in flight) until resumed.
  void pause(node_id id) { paused_.insert(id); }
  void resume(node_id id) { paused_.erase(id); }
  bool is_paused(node_id id) const { return paused_.count(id) != 0; }
  /// Messages are passed through this filter on send; returning false drops them.
  std::function<bool(const raft_message&)> filter;
  std::uint64_t messages_sent() const { return messages_sent_; }

  // ---- faults ----
  /// Blocks messages from `from` to `to` (one direction).
  void block(node_id from, node_id to) { blocked_.insert({from, to}); }
  void unblock(node_id from, node_id to) { blocked_.erase({from, to}); }
  /// Cuts `id` off in both directions.
  void isolate(node_id id);
  /// Splits the cluster: nodes in `side` talk only among themselves.
  void partition(const std::set<node_id>& side);
  void heal() { blocked_.clear(); }
  /// Whether a crash also loses the messages in flight to the node (a reset connection). If not, a
  /// message sent before the crash may reach the next incarnation (a delayed datagram).
  bool drop_in_flight_on_crash = true;
  /// Power loss: unsynced writes vanish, the core is gone, messages to it may be lost.
  void crash(node_id id);
  /// Starts a crashed node from its durable storage.
  void restart(node_id id);
  /// The next ready of `id` is persisted (unsynced) but the node crashes before sync: messages
  /// meant to go after persistence are never sent (lost fsync).
  void crash_before_next_sync(node_id id) { slot(id).crash_before_sync = true; }
  /// Cancels every armed crash_before_next_sync.
  void disarm_crashes() {
    for (auto& s : nodes_) s.crash_before_sync = false;
  }
  /// Ends every fault, for a simulation's settling phase: no network faults, no armed crash, no
  /// partition; every node resumed and every crashed node restarted (in node order).
  void stop_faults() {
    faults_ = {};
    disarm_crashes();
    heal();
    for (node_id id = 1; id <= nodes_.size(); ++id) {
      resume(id);
      if (!is_up(id)) restart(id);
    }
  }

  // ---- client calls ----
  result<index_t> propose(node_id id, std::string data);
  troupe::status read_index(node_id id, std::uint64_t request_id, bool allow_lease = true);
  result<index_t> propose_conf_change(node_id id, std::vector<conf_change> changes);
  /// Processes pending ready batches of every live node (done by tick and deliver too).
  void process_readies();

  /// Invariant violations seen so far (tests assert this stays empty).
  const std::vector<std::string>& violations() const { return violations_; }
  /// Runs the cluster-wide log matching check now.
  void check_log_matching();
  cluster_invariants& invariants() { return cluster_invariants_; }
  /// Rare-path counters summed over every node object so far, crashed incarnations included.
  node_counters counters_total() const;
  /// Counts messages of a body type sent so far, by type name.
  const std::map<std::string, std::uint64_t>& sent_by_type() const { return sent_by_type_; }

 private:
  struct node_slot {
    std::unique_ptr<memory_log_storage> storage;
    std::unique_ptr<memory_snapshot_store> snapshots;
    std::unique_ptr<node> core;
    std::string pending_image;        ///< taken by compact(), saved when the ready names its metadata
    std::optional<snapshot_metadata> restoring;  ///< a received snapshot waiting for its restore
    std::uint64_t restore_at_tick = 0;
    node_invariants inv;
    std::vector<log_entry> applied;
    std::vector<read_state> reads;
    std::vector<std::uint64_t> dropped;
    bool crash_before_sync = false;
    std::uint64_t incarnation = 0;
  };
  node_slot& slot(node_id id) { return nodes_.at(id - 1); }
  void start(node_id id);
  void process_ready(node_id id);
  void send(const raft_message& m);
  void check(node_id id);
  void finish_restore(node_id id);
  std::uint64_t ticks_ = 0;

  config tmpl_;
  std::size_t bootstrap_voters_ = 0;
  rng rng_;
  monotonic_ns now_ = 0;
  std::vector<node_slot> nodes_;
  std::deque<raft_message> in_flight_;
  std::set<std::pair<node_id, node_id>> blocked_;
  std::set<node_id> paused_;
  node_counters retired_counters_;
  network_faults faults_;
  cluster_invariants cluster_invariants_;
  std::vector<std::string> violations_;
  std::uint64_t messages_sent_ = 0;
  std::map<std::string, std::uint64_t> sent_by_type_;
};

}  // namespace troupe::raft::testing
