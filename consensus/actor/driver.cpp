// The raft actor's pure half: ready batches carried out in the order of consensus/core/README.md.
#include "consensus/actor/driver.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "consensus/actor/backup_file.hpp"
#include "consensus/core/membership.hpp"

namespace troupe::raft {

const char* to_string(outcome_code c) noexcept {
  switch (c) {
    case outcome_code::ok: return "ok";
    case outcome_code::not_leader: return "not_leader";
    case outcome_code::busy: return "busy";
    case outcome_code::unavailable: return "unavailable";
    case outcome_code::outcome_unknown: return "outcome_unknown";
    case outcome_code::stopped: return "stopped";
    case outcome_code::rejected: return "rejected";
  }
  return "unknown";
}

driver::driver(std::unique_ptr<node> core, log_storage& store, state_machine& sm, driver_io& io,
               driver_options opts)
    : core_(std::move(core)), store_(store), sm_(sm), io_(io), opts_(opts) {
  assert(core_ != nullptr);
  auto hs = store_.initial_hard_state();
  if (hs) durable_hs_ = *hs;  // the core was created from the same store, so this cannot fail
  applied_ = core_->cfg().applied;
  applied_meta_ = {applied_, core_->log().term(applied_), core_->membership_at(applied_)};
  durable_last_ = store_.last_index();
  snapshot_index_ = core_->log_snapshot().last_index;
  refresh_status();
}

// ---- inputs ---------------------------------------------------------------------------------------

void driver::enqueue(input in) {
  if (std::holds_alternative<tick_input>(in)) {
    // Consecutive ticks share one entry (memory stays bounded by the other inputs), but keep
    // their place among messages: a heartbeat that arrived mid-fsync must reset the election
    // timer before the ticks that came after it, not after all of them.
    if (!queue_.empty()) {
      if (auto* t = std::get_if<tick_input>(&queue_.back())) {
        ++t->count;
        return;
      }
    }
    queue_.push_back(tick_input{1});
    return;
  }
  if (std::holds_alternative<raft_message>(in)) {
    if (queued_messages_ >= opts_.max_queued_messages) {
      ++counters_.dropped_inputs;  // Raft retries what is lost; memory stays bounded
      return;
    }
    ++queued_messages_;
  }
  if (std::holds_alternative<propose_input>(in)) ++queued_proposals_;
  if (std::holds_alternative<read_input>(in)) ++queued_reads_;
  queue_.push_back(std::move(in));
}

void driver::tick(monotonic_ns now) {
  if (failed()) return;
  expire_session_reads(now);  // answers only: safe during a sync
  if (syncing_) return enqueue(tick_input{1});
  core_->tick(now);
  pump(now);
}

void driver::step(raft_message m, monotonic_ns now) {
  if (failed()) return;
  if (syncing_) {
    // A follower's acknowledgement need not wait for the leader's own fsync (thesis §10.2.1): the
    // core takes it without the store, and the entries it commits that this node holds durably
    // are applied and answered now rather than when the sync returns (a whole sync later).
    if (status_.role == role::leader && core_->step_acknowledgement(m, now)) return apply_acknowledged();
    return enqueue(std::move(m));
  }
  observe_received(m, now);
  (void)core_->step(m, now);  // a message of another group or for another node is ignored
  pump(now);
}

bool driver::admit(ticket t, std::size_t bytes) {
  if (pending_proposals() + pending_reads() >= opts_.max_pending ||
      pending_bytes_ + bytes > opts_.max_pending_bytes) {
    return false;
  }
  pending_bytes_ += bytes;
  admitted_bytes_[t] = bytes;
  return true;
}

void driver::reply(ticket t, outcome o) {
  if (auto it = admitted_bytes_.find(t); it != admitted_bytes_.end()) {
    pending_bytes_ -= it->second;
    admitted_bytes_.erase(it);
  }
  io_.answer(t, std::move(o));
}

void driver::propose(ticket t, std::string command, monotonic_ns now) {
  if (failed()) return fail(t, outcome_code::stopped, no_node);
  if (!admit(t, command.size())) {
    ++counters_.busy_proposals;
    return fail(t, outcome_code::busy, status_.leader);
  }
  propose_input p{t, std::move(command)};
  if (syncing_) return enqueue(std::move(p));
  do_propose(p, now);
  pump(now);
}

void driver::read(ticket t, std::string request, read_mode mode, monotonic_ns now, index_t min_index) {
  if (failed()) return fail(t, outcome_code::stopped, no_node);
  if (!admit(t, request.size())) {
    ++counters_.busy_reads;
    return fail(t, outcome_code::busy, status_.leader);
  }
  read_input r{t, std::move(request), mode, min_index};
  if (syncing_) return enqueue(std::move(r));
  do_read(r, now);
  pump(now);
}

void driver::backup(ticket t, monotonic_ns now) {
  if (failed()) return fail(t, outcome_code::stopped, no_node);
  if (!admit(t, 0)) {
    ++counters_.busy_reads;
    return fail(t, outcome_code::busy, status_.leader);
  }
  read_input r{t, {}, read_mode::linearizable, 0, true};
  if (syncing_) return enqueue(std::move(r));
  do_read(r, now);
  pump(now);
}

void driver::campaign(monotonic_ns now) {
  if (failed()) return;
  if (syncing_) return enqueue(campaign_input{});
  (void)core_->campaign(now);  // refused when already leader: nothing to do
  pump(now);
}

void driver::hand_over(monotonic_ns now) {
  if (failed()) {
    hand_over_ = hand_over_state::aborted;
    return;
  }
  hand_over_ = hand_over_state::running;
  if (syncing_) return enqueue(hand_over_input{});
  do_hand_over(now);
  pump(now);
}

void driver::apply_input(input& in, monotonic_ns now) {
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, raft_message>) {
          --queued_messages_;
          observe_received(x, now);
          (void)core_->step(x, now);
        } else if constexpr (std::is_same_v<T, propose_input>) {
          --queued_proposals_;
          do_propose(x, now);
        } else if constexpr (std::is_same_v<T, read_input>) {
          --queued_reads_;
          do_read(x, now);
        } else if constexpr (std::is_same_v<T, campaign_input>) {
          (void)core_->campaign(now);
        } else if constexpr (std::is_same_v<T, hand_over_input>) {
          do_hand_over(now);
        } else if constexpr (std::is_same_v<T, conf_change_input>) {
          do_change_membership(x, now);
        } else if constexpr (std::is_same_v<T, transfer_input>) {
          do_transfer(x, now);
        } else if constexpr (std::is_same_v<T, compact_input>) {
          // busy (a received snapshot is being restored) or an index the log already starts
          // after: nothing to compact, the stored image is simply the latest snapshot. An index
          // the core has not handed out yet waits for it (compact_when_handed_out).
          compact_pending_ = std::max(compact_pending_, x.index);
          compact_when_handed_out();
        } else {
          for (std::uint32_t i = 0; i < x.count; ++i) core_->tick(now);
        }
      },
      in);
}

void driver::do_propose(propose_input& p, monotonic_ns now) {
  const node_status st = core_->status();
  auto index = core_->propose(std::move(p.command), now);
  if (index) {
    proposals_[*index] = {p.t, st.term};
    return;
  }
  if (index.err().code == errc::busy) return fail(p.t, outcome_code::busy, st.leader);
  fail(p.t, st.leader == no_node ? outcome_code::unavailable : outcome_code::not_leader, st.leader);
}

void driver::do_read(read_input& r, monotonic_ns now) {
  const node_status st = core_->status();
  if (r.mode == read_mode::stale || r.mode == read_mode::session) {
    // Served by any node from its own state machine, without asking the leader: a stale read at
    // once, a session read once this node applied what the session has seen (docs/consistency.md).
    const std::uint64_t id = next_read_id_++;
    const index_t at = r.mode == read_mode::stale ? 0 : r.min_index;
    reads_[id] = {r.t, std::move(r.request), now, at, r.mode == read_mode::session};
    reads_ready_.emplace(at, id);
    serve_reads();
    return;
  }
  if (r.mode != read_mode::follower && st.role != role::leader) {
    return fail(r.t, st.leader == no_node ? outcome_code::unavailable : outcome_code::not_leader,
                st.leader);
  }
  const std::uint64_t id = next_read_id_++;
  if (r.mode == read_mode::lease && core_->lease_valid(now)) {
    // thesis §6.4.1: within the lease no other leader can exist, so the commit index is current;
    // serve once it is applied (it usually already is).
    reads_[id] = {r.t, std::move(r.request), now, st.commit};
    reads_ready_.emplace(st.commit, id);
    serve_reads();
    return;
  }
  // Linearizable reads always confirm leadership with a heartbeat round, so their safety does not
  // rest on bounded clock drift; lease reads ask for exactly that trade (thesis §6.4 vs §6.4.1).
  auto s = core_->read_index(id, now, r.mode != read_mode::linearizable);
  if (!s) {
    if (s.err().code == errc::busy) return fail(r.t, outcome_code::busy, st.leader);
    return fail(r.t, outcome_code::unavailable, st.leader);
  }
  reads_[id] = {r.t, std::move(r.request), now, 0, false, r.backup};
}

void driver::do_hand_over(monotonic_ns now) {
  if (core_->status().role != role::leader) {
    hand_over_ = hand_over_state::done;
    return;
  }
  auto target = core_->hand_over(now);
  if (!target) hand_over_ = hand_over_state::aborted;
}

// ---- the ready loop -------------------------------------------------------------------------------

void driver::pump(monotonic_ns now) {
  while (!syncing_ && !failed()) {
    if (!queue_.empty()) {
      // Everything that arrived during the last sync goes into the core, in arrival order, before
      // the next batch is taken: this is what turns many proposals into one batch (group commit).
      auto pending = std::move(queue_);
      queue_.clear();
      for (auto& in : pending) apply_input(in, now);
      continue;
    }
    if (!core_->has_ready()) break;
    batch_ = core_->take_ready();
    ready& rd = *batch_;
    // 1. Messages that need no persistence go out now, overlapping our own fsync (thesis §10.2.1).
    if (!rd.messages.empty()) {
      observe_sent(rd.messages, now);
      io_.send(std::move(rd.messages));
      rd.messages.clear();
    }
    // 2. Buffer entries and hard state; sync when term, vote or entries changed. The commit index
    //    alone need not be durable (Raft Figure 2: volatile state); it rides along with the next sync.
    bool needs_sync = !rd.entries.empty();
    // Snapshots first (consensus/README.md): received chunks are made durable by the sync before
    // the log's, and the log's compaction points are buffered before the entries after them.
    if (!rd.snapshot_chunks.empty()) {
      const auto& last = rd.snapshot_chunks.back();
      snapshot_received_bytes_ = last.done ? 0 : last.offset + last.data.size();
      io_.stage_snapshot_chunks(std::move(rd.snapshot_chunks));
      rd.snapshot_chunks.clear();
      needs_sync = true;
    }
    for (const auto* meta : {rd.compacted ? &*rd.compacted : nullptr,
                             rd.snapshot_to_restore ? &*rd.snapshot_to_restore : nullptr}) {
      if (meta == nullptr) continue;
      if (auto s = store_.apply_snapshot(*meta); !s) {
        failure_ = s.err();
        break;
      }
      needs_sync = true;
    }
    if (failed()) break;
    if (!rd.entries.empty()) {
      if (auto s = store_.append(rd.entries); !s) {
        failure_ = s.err();
        break;
      }
    }
    if (rd.hard_state_update) {
      if (auto s = store_.set_hard_state(*rd.hard_state_update); !s) {
        failure_ = s.err();
        break;
      }
      if (rd.hard_state_update->term != durable_hs_.term ||
          rd.hard_state_update->voted_for != durable_hs_.voted_for) {
        needs_sync = true;
      }
    }
    if (needs_sync) {
      // Committed entries that were already durable here before this batch need not wait for
      // its fsync: a committed entry is durable on a majority and never rewritten (Raft §5.4), and
      // the contract's "apply after persist" protects only entries of this very batch. Reads need
      // no persistence at all. This saves a whole fsync of latency per proposal.
      index_t early = durable_last_;
      if (!rd.entries.empty()) early = std::min(early, rd.entries.front().index - 1);
      const bool apply_early = !rd.committed_entries.empty() && rd.committed_entries.front().index <= early;
      take_reads(rd, now);
      // The core is idle until the sync returns: under steady load a sync is nearly always in
      // flight, so the status (leader, role, hand-over, stale proposals) is refreshed here too.
      refresh_status();
      syncing_ = true;
      const std::uint64_t this_sync = ++counters_.syncs;
      io_.start_sync();  // may call sync_done from within (tests); finish_batch runs there
      // Those early entries are applied and answered while the fsync runs, not before it starts:
      // the storage thread's transaction overlaps the state machine's work and the answers, which
      // shortens each batch's cycle. Only the state machine and the answers are touched here,
      // never the core or the store (the storage thread holds the store now). If the sync ended
      // within start_sync, finish_batch applied everything already, in order.
      if (apply_early && syncing_ && counters_.syncs == this_sync) {
        apply_committed(*batch_, early);
        status_.applied = applied_;
      }
      return;
    }
    finish_batch(now);
  }
  if (failed()) {
    fail_all(outcome_code::stopped);
    return;
  }
  if (!syncing_) refresh_status();
}

void driver::sync_done(const troupe::status& st, monotonic_ns now) {
  assert(syncing_ && batch_.has_value());
  syncing_ = false;
  if (!st) {
    failure_ = st.err();
    fail_all(outcome_code::stopped);
    return;
  }
  if (batch_->hard_state_update) durable_hs_ = *batch_->hard_state_update;
  finish_batch(now);
  pump(now);
}

void driver::finish_batch(monotonic_ns now) {
  ready& rd = *batch_;
  // 3. Votes and acknowledgements promise durable state: only now.
  if (!rd.messages_after_persist.empty()) {
    io_.send(std::move(rd.messages_after_persist));
    rd.messages_after_persist.clear();
  }
  if (!rd.entries.empty()) durable_last_ = rd.entries.back().index;
  if (rd.snapshot_to_restore) {
    // Figure 13 step 8: the log now starts after the snapshot; the state machine follows it before
    // any entry after it is applied (the core hands none out until snapshot_restored).
    durable_last_ = store_.last_index();
    if (!restore_snapshot(*rd.snapshot_to_restore)) return;  // pump stops the group
  }
  if (rd.compacted) snapshot_index_ = std::max(snapshot_index_, rd.compacted->last_index);
  // 4. Apply in index order and answer the proposers of this node; serve reads.
  if (!rd.committed_entries.empty()) apply_committed(rd, rd.committed_entries.back().index);
  take_reads(rd, now);
  // 5.
  core_->advance(rd);
  retain_durable(rd);
  batch_.reset();
  compact_when_handed_out();
  maybe_snapshot();
}

void driver::drop_applied_durable() {
  while (!durable_unapplied_.empty() && durable_unapplied_.front().index <= applied_) durable_unapplied_.pop_front();
}

void driver::retain_durable(ready& rd) {
  drop_applied_durable();
  if (rd.entries.empty() || status_.role != role::leader) return;
  if (!durable_unapplied_.empty() && durable_unapplied_.back().index + 1 != rd.entries.front().index) {
    durable_unapplied_.clear();  // not contiguous (cannot happen while leading): keep nothing
  }
  for (auto& e : rd.entries) {
    if (e.index <= applied_ || e.term != status_.term) continue;
    if (durable_unapplied_.empty() && e.index != applied_ + 1) continue;  // applied_ + 1 first
    durable_unapplied_.push_back(std::move(e));
  }
  rd.entries.clear();
}

void driver::apply_acknowledged() {
  const index_t commit = core_->log().committed();
  bool applied_any = false;
  while (!durable_unapplied_.empty() && durable_unapplied_.front().index <= commit) {
    const log_entry& e = durable_unapplied_.front();
    if (e.index == applied_ + 1) {
      apply_entry(e);
      applied_any = true;
    }
    if (e.index > applied_) break;  // a gap: the take_ready after the sync hands it out
    durable_unapplied_.pop_front();
  }
  if (!applied_any) return;
  status_.applied = applied_;
  serve_reads();
}

void driver::compact_when_handed_out() {
  // A snapshot taken at an index applied during a sync (apply_acknowledged) is ahead of what the
  // core handed out; node::compact refuses it until then.
  if (compact_pending_ == 0 || core_->log().applied() < compact_pending_) return;
  (void)core_->compact(compact_pending_);
  compact_pending_ = 0;
}

bool driver::restore_snapshot(const snapshot_metadata& meta) {
  auto image = io_.snapshot_image(meta);
  troupe::status st = image ? sm_.restore(meta.last_index, *image) : troupe::status{image.err()};
  if (!st) {
    failure_ = make_error(st.err().code, "restoring the received snapshot of index " +
                                             std::to_string(meta.last_index) + ": " + st.err().message);
    return false;
  }
  if (auto s = core_->snapshot_restored(meta.last_index); !s) {
    failure_ = s.err();
    return false;
  }
  ++counters_.snapshots_restored;
  if (meta.last_index >= applied_) applied_meta_ = meta;  // what a backup records from now on
  applied_ = std::max(applied_, meta.last_index);
  snapshot_index_ = std::max(snapshot_index_, meta.last_index);
  bytes_since_snapshot_ = 0;
  serve_reads();
  return true;
}

void driver::maybe_snapshot() {
  if (saving_snapshot_ || failed() || applied_ <= snapshot_index_) return;
  const std::uint64_t entries = applied_ - snapshot_index_;
  // After a failed or skipped save the next one waits for another threshold's worth from where
  // that one was taken: each attempt serializes the whole state machine on this thread, and a
  // store that keeps failing (a full disk) would otherwise be retried after every batch.
  const bool backing_off = retry_from_index_ > snapshot_index_;
  const std::uint64_t entries_new = backing_off ? applied_ - std::min(applied_, retry_from_index_) : entries;
  const std::uint64_t bytes_new =
      backing_off ? bytes_since_snapshot_ - std::min(retry_from_bytes_, bytes_since_snapshot_) : bytes_since_snapshot_;
  const bool by_entries = opts_.snapshot_entries != 0 && entries_new >= opts_.snapshot_entries;
  const bool by_bytes = opts_.snapshot_bytes != 0 && bytes_new >= opts_.snapshot_bytes;
  if (!by_entries && !by_bytes) return;
  if (core_->status().restoring_snapshot) return;
  // A compaction replaces the snapshot a follower is receiving and restarts its transfer from 0
  // (the core sends only the log's current snapshot): under steady writes, a transfer slower than
  // the threshold would never end. While one runs, wait, up to four thresholds' worth of log.
  const bool sending = std::any_of(peers_.begin(), peers_.end(), [](const peer_view& p) { return p.snapshot; });
  const bool overdue = (opts_.snapshot_entries != 0 && entries >= 4 * opts_.snapshot_entries) ||
                       (opts_.snapshot_bytes != 0 && bytes_since_snapshot_ >= 4 * opts_.snapshot_bytes);
  if (sending && !overdue) {
    ++counters_.snapshot_saves_deferred;
    return;
  }
  auto term = store_.term(applied_);
  if (!term) return;  // cannot happen: applied entries are committed and held above the snapshot
  // Thesis §5.1: the snapshot records the last included index and term and the configuration in
  // effect there, so that the log can start after it.
  snapshot_metadata meta{applied_, *term, core_->membership_at(applied_)};
  saving_snapshot_ = true;
  bytes_in_save_ = bytes_since_snapshot_;
  io_.start_snapshot_save(meta, sm_.snapshot());
}

void driver::snapshot_saved(const snapshot_metadata& meta, const result<bool>& saved, monotonic_ns now) {
  saving_snapshot_ = false;
  if (!saved || !*saved) {
    if (saved) {
      ++counters_.snapshot_saves_skipped;
    } else {
      ++counters_.snapshot_saves_failed;
    }
    retry_from_index_ = meta.last_index;  // see maybe_snapshot
    retry_from_bytes_ = bytes_in_save_;
    return;
  }
  ++counters_.snapshots_saved;
  if (meta.last_index > snapshot_index_) {
    snapshot_index_ = meta.last_index;
    bytes_since_snapshot_ -= std::min(bytes_in_save_, bytes_since_snapshot_);  // applied since stay counted
  }
  if (failed()) return;
  if (syncing_) return enqueue(compact_input{meta.last_index});
  compact_pending_ = std::max(compact_pending_, meta.last_index);
  compact_when_handed_out();
  pump(now);
}

void driver::apply_committed(const ready& rd, index_t limit) {
  for (const auto& e : rd.committed_entries) {
    if (e.index <= applied_) continue;  // applied before the sync (see pump) or during it
    if (e.index > limit) break;
    apply_entry(e);
  }
  drop_applied_durable();
  serve_reads();
}

void driver::apply_entry(const log_entry& e) {
  std::string result;
  if (e.type == entry_type::normal) {
    result = sm_.apply(e.index, e.data);
    ++counters_.entries_applied;
    bytes_since_snapshot_ += e.data.size();
  }
  applied_ = e.index;
  applied_meta_.last_index = e.index;
  applied_meta_.last_term = e.term;
  if (e.type == entry_type::config) {
    // Decoded by the core already when it was appended (a bad one stops the node there).
    if (auto m = decode_membership(e.data)) applied_meta_.membership = std::move(*m);
  }
  auto it = proposals_.find(e.index);
  if (it == proposals_.end()) return;
  if (it->second.term == e.term) {
    reply(it->second.t, {outcome_code::ok, std::move(result), no_node});
  } else {
    // Our entry was replaced by another leader's (Raft §5.3): it will never commit. (During a
    // sync the core is not asked: status_ was refreshed just before it started.)
    ++counters_.failed_outcome_unknown;
    reply(it->second.t, {outcome_code::outcome_unknown, {}, syncing_ ? status_.leader : core_->status().leader});
  }
  proposals_.erase(it);
}

void driver::take_reads(ready& rd, monotonic_ns now) {
  for (const auto& rs : rd.read_states) {
    auto it = reads_.find(rs.request_id);
    if (it == reads_.end()) continue;
    if (on_read_index_seconds) on_read_index_seconds(static_cast<double>(now - it->second.started) / 1e9);
    it->second.index = rs.index;
    reads_ready_.emplace(rs.index, rs.request_id);
  }
  rd.read_states.clear();
  for (auto id : rd.dropped_reads) {
    auto it = reads_.find(id);
    if (it == reads_.end()) continue;
    const ticket t = it->second.t;
    reads_.erase(it);
    const node_id leader = core_->status().leader;
    fail(t, leader == no_node ? outcome_code::unavailable : outcome_code::not_leader, leader);
  }
  rd.dropped_reads.clear();
  serve_reads();
}

void driver::serve_reads() {
  while (!reads_ready_.empty() && reads_ready_.begin()->first <= applied_) {
    const std::uint64_t id = reads_ready_.begin()->second;
    reads_ready_.erase(reads_ready_.begin());
    auto it = reads_.find(id);
    if (it == reads_.end()) continue;
    reply(it->second.t, it->second.backup ? backup_reply() : outcome{outcome_code::ok, sm_.query(it->second.request), no_node});
    reads_.erase(it);
  }
}

outcome driver::backup_reply() {
  snapshot_metadata meta = applied_meta_;
  if (meta.last_index != applied_) {
    const snapshot_metadata& snap = core_->log_snapshot();
    if (snap.last_index != applied_) {
      return {outcome_code::unavailable, "the applied index's term and configuration are not known: retry", no_node};
    }
    meta = snap;
  }
  return {outcome_code::ok, encode_backup(core_->cfg().group, meta, sm_.snapshot()), no_node};
}

void driver::expire_session_reads(monotonic_ns now) {
  for (auto it = reads_ready_.begin(); it != reads_ready_.end();) {
    auto r = reads_.find(it->second);
    if (r == reads_.end() || !r->second.session || now - r->second.started < opts_.session_read_wait_ns) {
      ++it;
      continue;
    }
    const ticket t = r->second.t;
    reads_.erase(r);
    it = reads_ready_.erase(it);
    fail(t, outcome_code::unavailable, status_.leader);
  }
}

void driver::refresh_status() {
  const node_status st = core_->status();
  if (st.leader != status_.leader) ++counters_.leader_changes;
  if (st.commit > status_.commit) counters_.entries_committed += st.commit - status_.commit;
  if (st.role != role::leader) heartbeat_sent_.clear();
  // A leader that lost its leadership (or moved to another term) cannot know whether its
  // uncommitted proposals will commit under the next leader: the client retries with the same
  // session sequence, and the state machine's sessions apply it at most once (thesis §6.3).
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (st.role == role::leader && it->second.term == st.term) {
      ++it;
      continue;
    }
    ++counters_.failed_outcome_unknown;
    reply(it->second.t, {outcome_code::outcome_unknown, {}, st.leader});
    it = proposals_.erase(it);
  }
  settle_membership_requests(st);
  if (st.role != role::leader || st.term != status_.term) durable_unapplied_.clear();
  status_ = st;
  status_.applied = applied_;
  core_counters_ = core_->counters();
  peers_.clear();
  if (st.role == role::leader) {
    for (const auto& [id, pr] : core_->progress_by_peer()) {
      const bool snap = pr.state() == progress::state::snapshot;
      peers_.push_back({id, pr.match(), pr.next(), pr.state() == progress::state::replicate,
                        pr.recent_active(), snap, snap ? pr.transfer().size : 0,
                        snap ? pr.transfer().acked : 0});
    }
  }
  if (hand_over_ == hand_over_state::running) {
    if (st.role != role::leader) {
      hand_over_ = hand_over_state::done;
    } else if (st.transfer_target == no_node) {
      hand_over_ = hand_over_state::aborted;
    }
  }
}

// ---- round trips ----------------------------------------------------------------------------------

void driver::observe_sent(const std::vector<raft_message>& messages, monotonic_ns now) {
  if (!on_peer_round_trip_seconds) return;
  for (const auto& m : messages) {
    if (auto* hb = std::get_if<heartbeat>(&m.body)) heartbeat_sent_[m.to] = {hb->read_context, now};
  }
}

void driver::observe_received(const raft_message& m, monotonic_ns now) {
  if (!on_peer_round_trip_seconds) return;
  auto* r = std::get_if<heartbeat_response>(&m.body);
  if (r == nullptr) return;
  auto it = heartbeat_sent_.find(m.from);
  if (it == heartbeat_sent_.end() || it->second.first != r->read_context) return;
  on_peer_round_trip_seconds(m.from, static_cast<double>(now - it->second.second) / 1e9);
  heartbeat_sent_.erase(it);
}

// ---- failures -------------------------------------------------------------------------------------

void driver::fail(ticket t, outcome_code code, node_id leader) {
  switch (code) {
    case outcome_code::not_leader: ++counters_.failed_not_leader; break;
    case outcome_code::busy: ++counters_.failed_busy; break;
    case outcome_code::unavailable: ++counters_.failed_unavailable; break;
    case outcome_code::outcome_unknown: ++counters_.failed_outcome_unknown; break;
    default: break;
  }
  reply(t, {code, {}, leader});
}

void driver::fail_all(outcome_code code) {
  for (auto& [index, p] : proposals_) reply(p.t, {code, {}, no_node});
  proposals_.clear();
  for (auto& [id, r] : reads_) reply(r.t, {code, {}, no_node});
  reads_.clear();
  reads_ready_.clear();
  for (auto& in : queue_) {
    if (auto* p = std::get_if<propose_input>(&in)) reply(p->t, {code, {}, no_node});
    if (auto* r = std::get_if<read_input>(&in)) reply(r->t, {code, {}, no_node});
    if (auto* c = std::get_if<conf_change_input>(&in)) reply(c->t, {code, {}, no_node});
    if (auto* tr = std::get_if<transfer_input>(&in)) reply(tr->t, {code, {}, no_node});
  }
  if (conf_change_) reply(conf_change_->t, {code, {}, no_node});
  conf_change_.reset();
  for (auto& tr : transfers_) reply(tr.t, {code, {}, no_node});
  transfers_.clear();
  queue_.clear();
  queued_proposals_ = queued_reads_ = queued_messages_ = 0;
  if (hand_over_ == hand_over_state::running) hand_over_ = hand_over_state::aborted;
}

}  // namespace troupe::raft
