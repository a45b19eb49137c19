// Log replication (Raft §5.3), flow control and pipelining (etcd's progress tracker), fast
// backtracking with conflict hints, and the current-term commit rule (Raft §5.4.2, Figure 8).
#include <algorithm>
#include <cassert>

#include "consensus/core/node.hpp"
#include "consensus/core/quorum.hpp"

namespace troupe::raft {

namespace {
std::uint64_t payload_bytes(const std::vector<log_entry>& entries) {
  std::uint64_t n = 0;
  for (const auto& e : entries) n += e.data.size();
  return n;
}
}  // namespace

bool node::send_append(node_id to, bool send_if_empty) {
  auto& pr = progress_.at(to);
  if (pr.paused()) return false;
  if (pr.next() < log_.first_index()) {
    // The entries it needs were compacted away: send the snapshot instead (Raft §7).
    start_snapshot(to, pr);
    return false;
  }
  const index_t prev = pr.next() - 1;
  assert(prev <= log_.last_index());
  auto entries = log_.entries(pr.next(), log_.last_index() + 1, config_.max_append_bytes);
  if (entries.empty() && !send_if_empty) return false;
  const index_t last = entries.empty() ? prev : entries.back().index;
  const std::uint64_t bytes = payload_bytes(entries);
  const bool had_entries = !entries.empty();
  // Sent at once, before our own fsync completes (thesis §10.2.1).
  send_now(to, append_entries{config_.group, prev, log_.term(prev), std::move(entries),
                              log_.committed()});
  pr.sent_entries(last, bytes, had_entries);
  return true;
}

void node::flush_appends() {
  assert(role_ == role::leader);
  for (auto& [id, pr] : progress_) {
    bool sent = false;
    // Pipelining: in replicate state keep sending until the in-flight window is full.
    while (pr.next() <= log_.last_index() && send_append(id, false)) {
      sent = true;
      if (pr.state() == progress::state::probe) break;
    }
    // Tell caught-up followers about a new commit index without waiting for the next heartbeat.
    if (!sent && commit_broadcast_needed_ && pr.match() + 1 == pr.next()) send_append(id, true);
  }
  append_needed_ = false;
  commit_broadcast_needed_ = false;
}

bool node::maybe_commit() {
  assert(role_ == role::leader);
  // Our own log counts once durable, and only if we are a voter (a leader removing itself manages
  // the cluster without counting itself, thesis §4.2.2); C_old,new needs both halves (§4.3).
  const index_t q = quorum_match([this](node_id id) -> index_t {
    if (id == config_.id) return log_.stable_last_index();
    auto it = progress_.find(id);
    return it == progress_.end() ? 0 : it->second.match();
  });
  if (q <= log_.committed()) return false;
  // Raft §5.4.2 (Figure 8): never commit an entry of an older term by counting replicas; it becomes
  // committed only indirectly, once an entry of the current term is. From its no-op on, a leader's
  // log holds only entries of its term (it never truncates its own log), and before it none: so
  // the no-op's index answers without reading the store (step_acknowledgement relies on that).
  const bool current_term = no_op_index_ != 0 ? q >= no_op_index_ : log_.term(q) == term_;
  if (!current_term) {
    ++counters_.old_term_commit_deferred;
    if (!config_.bugs.commit_old_term_by_counting) return false;
  }
  log_.commit_to(q);
  return true;
}

void node::on_commit_advanced() {
  commit_broadcast_needed_ = true;
  release_reads_waiting_for_no_op();
  maybe_finish_conf_change();
}

bool node::step_acknowledgement(const raft_message& m, monotonic_ns now) {
  const auto* resp = std::get_if<append_entries_response>(&m.body);
  if (resp == nullptr || !resp->success || role_ != role::leader || m.term != term_ || !addressed_here(m)) {
    return false;
  }
  // Only the plain path: progress, commit, reads waiting for the no-op. A membership change (C_new
  // appended, a removed leader stepping down), a transfer (TimeoutNow) or a leader outside its own
  // configuration take the whole step() after advance.
  if (no_op_index_ == 0 || transfer_target_ != no_node || !is_voter(config_.id) ||
      is_joint(current_membership()) || membership_index() > log_.committed() ||
      progress_.find(m.from) == progress_.end()) {
    return false;
  }
  now_ = std::max(now_, now);
  ++counters_.acknowledgements_during_persist;
  handle_append_response(m, *resp);
  return true;
}

void node::handle_append(const raft_message& m, const append_entries& app) {
  if (role_ != role::follower) become_follower(term_, m.from);  // a leader of our term exists
  assert(role_ == role::follower);
  leader_ = m.from;
  election_elapsed_ = 0;
  append_entries_response resp{config_.group, false, 0, 0, 0, 0};
  if (app.prev_log_index < log_.committed()) {
    // A stale or duplicated message: everything up to our commit matches the leader already.
    resp.success = true;
    resp.match_index = log_.committed();
  } else if (auto last_new = log_.maybe_append(app.prev_log_index, app.prev_log_term, app.entries)) {
    counters_.conflicting_suffix_truncated = log_.truncations();
    track_configurations(app.prev_log_index, app.entries);  // in effect once in the log (thesis §4.1)
    // Raft Figure 2, AppendEntries step 5: commit up to min(leaderCommit, index of last new entry).
    log_.commit_to(std::min(app.leader_commit, *last_new));
    resp.success = true;
    resp.match_index = *last_new;
  } else {
    // Fast backtracking: tell the leader where our log could match, so it skips a whole term per
    // round trip instead of one index (Raft §5.3, last paragraphs; etcd's findConflictByTerm).
    const auto [hint_index, hint_term] = log_.find_conflict_by_term(
        std::min(app.prev_log_index, log_.last_index()), app.prev_log_term);
    resp.rejected_index = app.prev_log_index;
    resp.reject_hint_index = hint_index;
    resp.reject_hint_term = hint_term;
  }
  // The answer promises that the entries are durable: it waits for persistence.
  send_after_persist(m.from, resp);
}

void node::handle_append_response(const raft_message& m, const append_entries_response& resp) {
  if (role_ != role::leader) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  auto& pr = it->second;
  pr.set_recent_active(true);
  if (!resp.success) {
    index_t next_probe = resp.reject_hint_index;
    if (resp.reject_hint_term > 0) {
      next_probe = log_.find_conflict_by_term(resp.reject_hint_index, resp.reject_hint_term).first;
    }
    if (pr.maybe_decrease_to(resp.rejected_index, next_probe)) {
      if (pr.state() == progress::state::replicate) pr.become_probe();
      send_append(m.from, true);
    }
    return;
  }
  const bool was_probe = pr.state() == progress::state::probe;
  if (!pr.maybe_update(resp.match_index)) return;  // a duplicate or stale answer
  if (was_probe) pr.become_replicate();
  if (maybe_commit()) on_commit_advanced();
  append_needed_ = true;
  maybe_send_timeout_now(m.from);
}

void node::handle_heartbeat(const raft_message& m, const heartbeat& hb) {
  if (role_ != role::follower) become_follower(term_, m.from);
  leader_ = m.from;
  election_elapsed_ = 0;
  // The leader caps leader_commit at our match index, so this prefix is the leader's.
  log_.commit_to(std::min(hb.leader_commit, log_.last_index()));
  send_after_persist(m.from, heartbeat_response{config_.group, hb.read_context, log_.last_index()});
}

void node::handle_heartbeat_response(const raft_message& m, const heartbeat_response& resp) {
  if (role_ != role::leader) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  auto& pr = it->second;
  pr.set_recent_active(true);
  pr.heartbeat_answered();
  if (pr.state() == progress::state::snapshot) {
    snapshot_heartbeat_answered(m.from, pr);
  } else if (pr.match() < log_.last_index()) {
    if (pr.state() == progress::state::replicate && resp.last_log_index < pr.next() - 1 &&
        pr.in_flight().full()) {
      // The window is full and the follower lacks what we sent: something was lost. Probe again.
      pr.become_probe();
    }
    append_needed_ = true;
    if (pr.state() == progress::state::replicate && pr.next() > log_.last_index()) {
      send_append(m.from, true);  // an empty append at the optimistic next exposes a gap at once
    }
  }
  on_round_acked(m.from, resp.read_context);
}

}  // namespace troupe::raft
