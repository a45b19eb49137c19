#include "tests/scenario/raft/raft_cluster.hpp"

#include <cassert>
#include <stdexcept>

namespace troupe::raft::testing {

cluster::cluster(std::size_t n, config tmpl, std::uint64_t seed) : cluster(n, std::move(tmpl), seed, n) {}

cluster::cluster(std::size_t n, config tmpl, std::uint64_t seed, std::size_t voters)
    : tmpl_(std::move(tmpl)), rng_(seed) {
  tmpl_.voters.clear();
  tmpl_.learners.clear();
  for (std::size_t i = 1; i <= voters; ++i) tmpl_.voters.push_back(i);
  bootstrap_voters_ = voters;
  nodes_.resize(n);
  for (std::size_t i = 1; i <= n; ++i) {
    nodes_[i - 1].storage = std::make_unique<memory_log_storage>();
    nodes_[i - 1].snapshots = std::make_unique<memory_snapshot_store>();
    start(i);
  }
}

void cluster::start(node_id id) {
  auto& s = slot(id);
  config c = tmpl_;
  c.id = id;
  c.random_seed = rng_.next();
  if (id > bootstrap_voters_) c.voters.clear();  // joins later
  // The shell's restart (Raft §7): a complete snapshot newer than the log's start (a crash between
  // finishing a received snapshot and installing it in the log) is installed first; the state
  // machine starts from the log's snapshot; a partial one resumes.
  const auto& latest = s.snapshots->latest();
  if (latest && latest->metadata.last_index > s.storage->first_index() - 1) {
    (void)s.storage->apply_snapshot(latest->metadata);
    auto hs = s.storage->initial_hard_state();
    if (hs && hs->commit < latest->metadata.last_index) {
      hs->commit = latest->metadata.last_index;
      (void)s.storage->set_hard_state(*hs);
    }
    if (!s.storage->sync()) throw std::runtime_error("restart: sync failed");
  }
  const index_t snap = s.storage->first_index() - 1;
  c.applied = snap;
  if (s.snapshots->partial()) {
    c.partial = config::partial_snapshot{s.snapshots->partial()->metadata, s.snapshots->partial()->bytes.size()};
  }
  auto created = node::create(c, *s.storage, s.snapshots.get());
  if (!created) throw std::runtime_error("node::create: " + created.err().message);
  s.core = std::move(*created);
  s.applied.clear();
  s.inv.reset();
  s.restoring.reset();
  ++s.incarnation;
  if (on_start) on_start(id);
  if (snap > 0 && on_restore) on_restore(id, snap, latest->bytes);
}

troupe::status cluster::compact(node_id id) {
  auto& s = slot(id);
  if (!take_snapshot) return make_error(errc::invalid_argument, "no take_snapshot hook");
  s.pending_image = take_snapshot(id);
  auto st = s.core->compact(s.core->log().applied());
  process_ready(id);
  return st;
}

void cluster::finish_restore(node_id id) {
  auto& s = slot(id);
  const auto meta = *s.restoring;
  s.restoring.reset();
  const auto& latest = s.snapshots->latest();
  if (!latest || latest->metadata != meta) {
    violations_.push_back("node " + std::to_string(id) + ": the snapshot to restore is not in its store");
    return;
  }
  if (on_restore) on_restore(id, meta.last_index, latest->bytes);
  if (auto st = s.core->snapshot_restored(meta.last_index); !st) {
    violations_.push_back("snapshot_restored refused: " + st.err().message);
  }
  check(id);
}

void cluster::send(const raft_message& m) {
  ++messages_sent_;
  ++sent_by_type_[type_name(m)];
  if (blocked_.count({m.from, m.to}) != 0) return;
  if (filter && !filter(m)) return;
  if (faults_.drop_percent > 0 && rng_.chance(faults_.drop_percent)) return;
  in_flight_.push_back(m);
  if (faults_.duplicate_percent > 0 && rng_.chance(faults_.duplicate_percent)) in_flight_.push_back(m);
}

void cluster::check(node_id id) {
  auto& s = slot(id);
  if (s.core) {
    if (auto v = s.inv.check(*s.core); !v.empty()) violations_.push_back(v);
  }
  std::vector<const node*> live;
  for (auto& n : nodes_) live.push_back(n.core.get());
  if (auto v = cluster_invariants_.check(live); !v.empty()) violations_.push_back(v);
}

void cluster::check_log_matching() {
  std::vector<const node*> live;
  for (auto& n : nodes_) live.push_back(n.core.get());
  if (auto v = cluster_invariants_.check_log_matching(live); !v.empty()) violations_.push_back(v);
}

void cluster::process_ready(node_id id) {
  auto& s = slot(id);
  while (s.core && s.core->has_ready()) {
    ready rd = s.core->take_ready();
    for (const auto& m : rd.messages) send(m);
    for (const auto& c : rd.snapshot_chunks) {
      if (!s.snapshots->write_chunk(c)) violations_.push_back("a snapshot chunk does not continue the partial one");
    }
    if (rd.compacted) {
      s.snapshots->save(*rd.compacted, std::move(s.pending_image));
      (void)s.storage->apply_snapshot(*rd.compacted);
    }
    if (rd.snapshot_to_restore) (void)s.storage->apply_snapshot(*rd.snapshot_to_restore);
    const bool persist = !rd.entries.empty() || rd.hard_state_update.has_value() || rd.compacted ||
                         rd.snapshot_to_restore;
    if (!rd.entries.empty() && !s.storage->append(rd.entries)) {
      violations_.push_back("storage append refused a ready batch");
    }
    if (rd.hard_state_update) (void)s.storage->set_hard_state(*rd.hard_state_update);
    if (persist && s.crash_before_sync) {
      s.crash_before_sync = false;
      crash(id);
      return;
    }
    if (persist && !s.storage->sync()) {
      crash(id);  // a node whose storage fails stops (STYLE.md)
      return;
    }
    for (const auto& m : rd.messages_after_persist) send(m);
    if (rd.snapshot_to_restore) {
      s.restoring = rd.snapshot_to_restore;
      s.restore_at_tick = ticks_ + restore_delay_ticks;
    }
    for (const auto& e : rd.committed_entries) {
      if (e.type != entry_type::normal) continue;
      s.applied.push_back(e);
      if (on_apply) on_apply(id, e);
    }
    s.reads.insert(s.reads.end(), rd.read_states.begin(), rd.read_states.end());
    s.dropped.insert(s.dropped.end(), rd.dropped_reads.begin(), rd.dropped_reads.end());
    s.core->advance(rd);
    check(id);
    if (s.restoring && restore_delay_ticks == 0) finish_restore(id);
    if (on_read) {
      for (const auto& r : rd.read_states) on_read(id, r);
    }
    if (on_read_dropped) {
      for (auto r : rd.dropped_reads) on_read_dropped(id, r);
    }
  }
}

void cluster::process_readies() {
  for (node_id id = 1; id <= nodes_.size(); ++id) {
    if (!is_paused(id)) process_ready(id);
  }
}

void cluster::tick() {
  now_ += tmpl_.tick_duration_ns;
  ++ticks_;
  for (node_id id = 1; id <= nodes_.size(); ++id) {
    if (!is_up(id) || is_paused(id)) continue;
    if (slot(id).restoring && ticks_ >= slot(id).restore_at_tick) finish_restore(id);
    at(id).tick(now_);
    check(id);
  }
  process_readies();
}

void cluster::tick_node(node_id id) {
  now_ += tmpl_.tick_duration_ns;
  if (!is_up(id)) return;
  at(id).tick(now_);
  check(id);
  process_ready(id);
}

bool cluster::deliver_one() {
  if (in_flight_.empty()) return false;
  std::size_t i = faults_.reorder ? rng_.below(in_flight_.size()) : 0;
  if (!paused_.empty()) {
    // messages to a paused node wait; pick the first deliverable one from i on
    std::size_t k = 0;
    while (k < in_flight_.size() && is_paused(in_flight_[(i + k) % in_flight_.size()].to)) ++k;
    if (k == in_flight_.size()) return false;
    i = (i + k) % in_flight_.size();
  }
  raft_message m = std::move(in_flight_[i]);
  in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(i));
  if (!is_up(m.to) || blocked_.count({m.from, m.to}) != 0) return true;
  auto st = at(m.to).step(m, now_);
  if (!st) violations_.push_back("step refused a message: " + st.err().message);
  check(m.to);
  process_ready(m.to);
  return true;
}

void cluster::deliver_all(std::size_t max_steps) {
  process_readies();
  for (std::size_t i = 0; i < max_steps && deliver_one(); ++i) {
  }
}

std::optional<node_id> cluster::leader() const {
  std::optional<node_id> best;
  term_t best_term = 0;
  for (node_id id = 1; id <= nodes_.size(); ++id) {
    const auto& s = nodes_[id - 1];
    if (!s.core) continue;
    const auto st = s.core->status();
    if (st.role == role::leader && (!best || st.term > best_term)) {
      best = id;
      best_term = st.term;
    }
  }
  return best;
}

std::optional<node_id> cluster::elect(std::size_t max_ticks) {
  for (std::size_t t = 0; t < max_ticks; ++t) {
    tick();
    deliver_all();
    if (auto l = leader()) {
      // a leader counts once a majority (itself included) shares its term and knows it
      std::size_t followers = 0;
      const term_t term = at(*l).status().term;
      const auto& voters = at(*l).current_membership().voters;
      for (node_id id : voters) {
        if (is_up(id) && at(id).status().term == term && at(id).status().leader == *l) ++followers;
      }
      if (followers >= voters.size() / 2 + 1) return l;
    }
  }
  return std::nullopt;
}

void cluster::isolate(node_id id) {
  for (node_id other = 1; other <= nodes_.size(); ++other) {
    if (other == id) continue;
    block(id, other);
    block(other, id);
  }
}

void cluster::partition(const std::set<node_id>& side) {
  for (node_id a = 1; a <= nodes_.size(); ++a) {
    for (node_id b = 1; b <= nodes_.size(); ++b) {
      if (a != b && (side.count(a) != 0) != (side.count(b) != 0)) block(a, b);
    }
  }
}

namespace {
void add_counters(node_counters& into, const node_counters& c) {
  into.elections_started += c.elections_started;
  into.pre_votes_rejected += c.pre_votes_rejected;
  into.vote_requests_ignored_in_lease += c.vote_requests_ignored_in_lease;
  into.old_term_commit_deferred += c.old_term_commit_deferred;
  into.conflicting_suffix_truncated += c.conflicting_suffix_truncated;
  into.reads_waited_for_no_op += c.reads_waited_for_no_op;
  into.lease_reads += c.lease_reads;
  into.lease_expired_reads += c.lease_expired_reads;
  into.reads_during_transfer += c.reads_during_transfer;
  into.reads_dropped += c.reads_dropped;
  into.check_quorum_step_downs += c.check_quorum_step_downs;
  into.transfers_aborted += c.transfers_aborted;
  into.conf_changes_proposed += c.conf_changes_proposed;
  into.conf_changes_refused_busy += c.conf_changes_refused_busy;
  into.joint_configs_left += c.joint_configs_left;
  into.configs_reverted += c.configs_reverted;
  into.removed_leader_step_downs += c.removed_leader_step_downs;
  into.compactions += c.compactions;
  into.snapshot_sends_started += c.snapshot_sends_started;
  into.snapshot_chunks_sent += c.snapshot_chunks_sent;
  into.snapshot_resumes += c.snapshot_resumes;
  into.snapshot_waits_for_apply += c.snapshot_waits_for_apply;
  into.snapshots_throttled += c.snapshots_throttled;
  into.snapshots_installed += c.snapshots_installed;
  into.snapshots_kept_suffix += c.snapshots_kept_suffix;
  into.snapshots_restored += c.snapshots_restored;
  into.stale_snapshots_ignored += c.stale_snapshots_ignored;
}
}  // namespace

node_counters cluster::counters_total() const {
  node_counters total = retired_counters_;
  for (const auto& s : nodes_) {
    if (s.core) add_counters(total, s.core->counters());
  }
  return total;
}

void cluster::crash(node_id id) {
  auto& s = slot(id);
  if (s.core) add_counters(retired_counters_, s.core->counters());
  paused_.erase(id);
  s.storage->crash();
  s.core.reset();
  if (drop_in_flight_on_crash) {
    std::erase_if(in_flight_, [id](const raft_message& m) { return m.to == id; });
  }
}

void cluster::restart(node_id id) {
  assert(!is_up(id));
  start(id);
}

result<index_t> cluster::propose(node_id id, std::string data) {
  auto r = at(id).propose(std::move(data), now_);
  process_ready(id);
  return r;
}

result<index_t> cluster::propose_conf_change(node_id id, std::vector<conf_change> changes) {
  auto r = at(id).propose_conf_change(std::move(changes), now_);
  process_ready(id);
  return r;
}

troupe::status cluster::read_index(node_id id, std::uint64_t request_id, bool allow_lease) {
  auto st = at(id).read_index(request_id, now_, allow_lease);
  process_ready(id);
  return st;
}

}  // namespace troupe::raft::testing
