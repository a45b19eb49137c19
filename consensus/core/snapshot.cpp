// Snapshots (Raft §7, Figure 13; thesis chapter 5): compaction of the log prefix, the leader's
// chunked and resumable InstallSnapshot stream with flow control and throttling, the follower's
// install (Figure 13 rules) with the transfer and the restore acknowledged separately, and the
// configuration carried by a snapshot (thesis §5.1: a snapshot holds the latest configuration as of
// its last index).
#include <algorithm>
#include <cassert>

#include "consensus/core/node.hpp"

namespace troupe::raft {

namespace {
/// Heartbeat answers without any snapshot answer after which the leader assumes chunks (or acks)
/// were lost and continues from what the follower holds: a broken connection, not a slow one, since
/// the in-flight window and the per-tick budget bound what is outstanding.
std::uint32_t idle_heartbeats_before_resend(const config& c) {
  return std::max<std::uint32_t>(2, c.election_timeout_ticks / c.heartbeat_interval_ticks);
}
}  // namespace

membership node::membership_at(index_t index) const {
  // confs_ holds the records from the latest one at or below commit on; older ones are in the log.
  for (auto it = confs_.rbegin(); it != confs_.rend(); ++it) {
    if (it->index <= index) return it->conf;
  }
  if (index >= log_.first_index()) {
    auto at = storage_.last_config_index(index);
    if (!at) fatal("storage last_config_index() failed:", at.err().message.c_str());
    if (*at >= log_.first_index()) {
      const auto e = log_.entries(*at, *at + 1, ~std::uint64_t{0});
      auto m = decode_membership(e.front().data);
      if (!m) fatal("configuration entry in the log does not decode:", m.err().message.c_str());
      return *m;
    }
  }
  if (log_snapshot_.last_index > 0) return log_snapshot_.membership;
  membership boot{config_.voters, config_.learners, {}};
  std::sort(boot.voters.begin(), boot.voters.end());
  std::sort(boot.learners.begin(), boot.learners.end());
  return boot;
}

troupe::status node::compact(index_t index) {
  if (restoring_) return make_error(errc::busy, "compact: a received snapshot is being restored");
  if (index > log_.applied()) {
    return make_error(errc::invalid_argument, "compact: index " + std::to_string(index) + " is beyond applied " +
                                                  std::to_string(log_.applied()));
  }
  if (index <= log_.snapshot_index()) return {};  // the log already starts after it
  snapshot_metadata meta{index, log_.term(index), membership_at(index)};
  if (config_.bugs.snapshot_omits_membership) meta.membership = {};
  log_.compact(index);
  log_snapshot_ = meta;
  pending_compacted_ = std::move(meta);
  ++counters_.compactions;
  return {};
}

// ---- leader ----

void node::start_snapshot(node_id to, progress& pr) {
  if (snapshots_ == nullptr) return;  // nothing to send from: the follower stays behind
  auto size = snapshots_->size(log_snapshot_);
  if (!size) return;  // the shell's snapshot is not readable now; the next heartbeat tries again
  pr.become_snapshot(log_snapshot_, *size);
  ++counters_.snapshot_sends_started;
  (void)to;
  append_needed_ = true;
}

void node::flush_snapshots() {
  for (auto& [id, pr] : progress_) {
    if (pr.state() != progress::state::snapshot) continue;
    auto& t = pr.transfer();
    while (!t.received && !t.last_sent && t.in_flight.size() < config_.max_snapshot_chunks_in_flight) {
      std::uint64_t n = std::min(config_.snapshot_chunk_bytes, t.size - t.sent);
      if (config_.snapshot_bytes_per_tick > 0) {
        if (snapshot_budget_left_ == 0) {
          ++counters_.snapshots_throttled;
          return;  // thesis §5.3 leaves the rate to the implementation: the shell sets it per tick
        }
        n = std::min(n, snapshot_budget_left_);
      }
      std::string data;
      if (n > 0) {
        auto got = snapshots_->read(t.metadata, t.sent, n);
        if (!got || got->empty()) {
          // That snapshot is gone (a newer one replaced it): start over with the current one.
          pr.become_probe();
          append_needed_ = true;
          break;
        }
        data = std::move(*got);
        n = data.size();
      }
      const bool done = t.sent + n == t.size;
      send_now(id, install_snapshot{config_.group, t.metadata, t.sent, std::move(data), done});
      ++counters_.snapshot_chunks_sent;
      if (config_.snapshot_bytes_per_tick > 0) snapshot_budget_left_ -= n;
      t.sent += n;
      t.in_flight.push_back(t.sent);
      t.last_sent = done;
    }
  }
}

void node::snapshot_heartbeat_answered(node_id from, progress& pr) {
  auto& t = pr.transfer();
  if (++t.idle_heartbeats < idle_heartbeats_before_resend(config_)) return;
  t.idle_heartbeats = 0;
  if (t.received) {
    // Still no "installed": ask again with an empty last chunk, which the follower answers with its
    // state (restoring, installed, or lost it: resend) without any bytes being sent again.
    send_now(from, install_snapshot{config_.group, t.metadata, t.size, {}, true});
    return;
  }
  if (!t.in_flight.empty()) {
    t.sent = t.acked;  // chunks or their answers were lost: continue from what it holds
    t.in_flight.clear();
    t.last_sent = false;
    if (t.acked > 0) ++counters_.snapshot_resumes;
    append_needed_ = true;
  }
}

void node::handle_install_snapshot_response(const raft_message& m, const install_snapshot_response& r) {
  if (role_ != role::leader) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  auto& pr = it->second;
  pr.set_recent_active(true);
  if (r.status == snapshot_reply::installed) {
    // Restored (or not needed): the follower's log matches ours up to match_index.
    pr.maybe_update(r.match_index);
    if (pr.state() == progress::state::snapshot && pr.match() >= pr.transfer().metadata.last_index) {
      pr.become_probe();
    }
    if (maybe_commit()) on_commit_advanced();
    append_needed_ = true;
    maybe_send_timeout_now(m.from);
    return;
  }
  if (pr.state() != progress::state::snapshot) return;
  auto& t = pr.transfer();
  if (r.last_index != t.metadata.last_index || r.last_term != t.metadata.last_term) return;  // stale
  t.idle_heartbeats = 0;
  switch (r.status) {
    case snapshot_reply::accepted:
      t.acked = std::max(t.acked, std::min(r.next_offset, t.size));
      while (!t.in_flight.empty() && t.in_flight.front() <= t.acked) t.in_flight.pop_front();
      append_needed_ = true;
      break;
    case snapshot_reply::resend:
      // The follower holds exactly next_offset bytes (after a lost chunk, a reconnect, its restart
      // or our election): continue from there, not from 0.
      if (r.next_offset > t.size) break;
      if (r.next_offset > 0) ++counters_.snapshot_resumes;
      t.acked = r.next_offset;
      t.sent = r.next_offset;
      t.in_flight.clear();
      t.last_sent = false;
      append_needed_ = true;
      break;
    case snapshot_reply::received:
      // Transfer complete; the restore may take long. Wait for "installed" without resending.
      if (!t.received) ++counters_.snapshot_waits_for_apply;
      t.received = true;
      t.acked = t.size;
      t.in_flight.clear();
      break;
    case snapshot_reply::installed: break;  // handled above
  }
}

// ---- follower ----

void node::handle_install_snapshot(const raft_message& m, const install_snapshot& is) {
  if (role_ != role::follower) become_follower(term_, m.from);  // a leader of our term exists
  leader_ = m.from;
  election_elapsed_ = 0;
  const auto& meta = is.metadata;
  auto reply = [&](snapshot_reply st, std::uint64_t next, index_t match) {
    // Every answer promises durable state (the chunks, the installed log): after persistence.
    send_after_persist(m.from, install_snapshot_response{config_.group, meta.last_index, meta.last_term, next, st, match});
  };
  if (restoring_) {
    reply(snapshot_reply::received, 0, 0);  // wait until the one being restored is done
    return;
  }
  if (meta.last_index <= log_.committed() && !config_.bugs.accept_stale_snapshot) {
    // Figure 13 / thesis §5.1: a snapshot of a prefix we already committed adds nothing and must
    // not roll the state machine back: answer with what we hold.
    ++counters_.stale_snapshots_ignored;
    if (incoming_ && incoming_->metadata == meta) incoming_.reset();
    reply(snapshot_reply::installed, 0, log_.committed());
    return;
  }
  if (!incoming_ || incoming_->metadata != meta) {
    if (is.offset != 0) {
      reply(snapshot_reply::resend, 0, 0);  // a snapshot we hold nothing of: from the start
      return;
    }
    incoming_ = config::partial_snapshot{meta, 0};
  }
  if (is.offset != incoming_->bytes) {
    // A duplicate (below) or a gap after a lost chunk (above): say where we are.
    reply(is.offset < incoming_->bytes ? snapshot_reply::accepted : snapshot_reply::resend, incoming_->bytes, 0);
    return;
  }
  incoming_->bytes += is.data.size();
  snapshot_chunks_.push_back({meta, is.offset, is.data, is.done});
  if (!is.done) {
    reply(snapshot_reply::accepted, incoming_->bytes, 0);
    return;
  }
  const std::uint64_t total = incoming_->bytes;
  incoming_.reset();
  install_received_snapshot(meta);
  reply(snapshot_reply::received, total, 0);
}

void node::install_received_snapshot(const snapshot_metadata& meta) {
  const bool stale = meta.last_index <= log_.committed();  // only with the planted bug
  const bool kept = log_.install_snapshot(meta.last_index, meta.last_term);
  if (stale) log_.reset_applied_for_bug(meta.last_index);
  ++counters_.snapshots_installed;
  if (kept) ++counters_.snapshots_kept_suffix;
  log_snapshot_ = meta;
  restoring_ = meta;
  restore_handout_ = true;
  handed_out_applied_ = meta.last_index;
  // The configuration comes from the snapshot (thesis §5.1), then any config entry kept after it.
  std::vector<conf_record> confs;
  if (meta.membership.voters.empty() && config_.bugs.snapshot_omits_membership) {
    confs.push_back({meta.last_index, meta.last_term, current_membership()});  // the planted bug
  } else {
    confs.push_back({meta.last_index, meta.last_term, meta.membership});
  }
  if (kept) {
    for (const auto& e : log_.entries(meta.last_index + 1, log_.last_index() + 1, ~std::uint64_t{0})) {
      if (e.type != entry_type::config) continue;
      auto m = decode_membership(e.data);
      if (!m) fatal("configuration entry in the log does not decode:", m.err().message.c_str());
      confs.push_back({e.index, e.term, std::move(*m)});
    }
  }
  while (confs.size() > 1 && confs[1].index <= log_.committed()) confs.erase(confs.begin());
  confs_ = std::move(confs);
}

troupe::status node::snapshot_restored(index_t index) {
  if (!restoring_ || restoring_->last_index != index) {
    return make_error(errc::invalid_argument, "snapshot_restored: no snapshot at " + std::to_string(index) +
                                                  " is being restored");
  }
  if (restore_handout_) return make_error(errc::invalid_argument, "snapshot_restored: not handed out yet");
  if (index > log_.applied()) log_.applied_to(index);
  const term_t t = restoring_->last_term;
  restoring_.reset();
  ++counters_.snapshots_restored;
  // The second acknowledgement: the leader now replicates entries after it (thesis §5.3).
  if (leader_ != no_node && leader_ != config_.id) {
    send_now(leader_, install_snapshot_response{config_.group, index, t, 0, snapshot_reply::installed, index});
  }
  return {};
}

}  // namespace troupe::raft
