// Linearizable reads (thesis §6.4): ReadIndex confirmed by one heartbeat round for many reads, lease
// reads (thesis §6.4.1), follower reads through the leader's read index.
//
// Heartbeat rounds: every heartbeat broadcast gets a new round number carried as `read_context`. A
// follower's answer to round r proves it still followed us after r was sent, hence after every
// earlier round too, so each follower's highest acknowledged round is all we keep. Round r is
// confirmed once a majority (counting us) acknowledged r or later; that confirms every read
// registered before r was sent, and, if leases are on, starts a lease at r's send time.
#include <algorithm>
#include <cassert>

#include "consensus/core/node.hpp"
#include "consensus/core/quorum.hpp"

namespace troupe::raft {

namespace {
constexpr std::size_t max_rounds_remembered = 256;
}

bool node::committed_in_current_term() const {
  if (config_.bugs.skip_no_op) return true;
  return no_op_index_ != 0 && log_.committed() >= no_op_index_;
}

monotonic_ns node::lease_duration() const {
  const double ticks = static_cast<double>(config_.election_timeout_ticks - 1);
  return static_cast<monotonic_ns>(ticks * static_cast<double>(config_.tick_duration_ns) *
                                   (1.0 - config_.lease_drift_ratio));
}

bool node::lease_valid(monotonic_ns now) const {
  if (!config_.lease_reads || role_ != role::leader || transfer_started_this_term_) return false;
  if (!committed_in_current_term()) return false;
  if (config_.bugs.lease_after_expiry) return lease_expiry_ != 0;
  return now < lease_expiry_;
}

status node::read_index(std::uint64_t request_id, monotonic_ns now, bool allow_lease) {
  now_ = std::max(now_, now);
  if (role_ == role::leader) {
    if (pending_reads_.size() + reads_waiting_for_no_op_.size() >= config_.max_pending_reads) {
      return make_error(errc::busy, "too many pending reads");
    }
    leader_read(request_id, config_.id, allow_lease);
    return {};
  }
  if (role_ != role::follower || leader_ == no_node) return make_error(errc::refused, "no leader");
  if (forwarded_reads_.size() >= config_.max_pending_reads) {
    return make_error(errc::busy, "too many pending reads");
  }
  // Follower read (thesis §6.4): ask the leader for its read index, then serve locally.
  forwarded_reads_.insert(request_id);
  send_now(leader_, read_index_request{config_.group, request_id});
  return {};
}

void node::leader_read(std::uint64_t request_id, node_id from, bool allow_lease) {
  assert(role_ == role::leader);
  if (transfer_target_ != no_node) ++counters_.reads_during_transfer;
  if (!committed_in_current_term()) {
    // thesis §6.4 step 1: until our no-op commits we do not know the latest commit index.
    ++counters_.reads_waited_for_no_op;
    reads_waiting_for_no_op_.push_back({request_id, from, allow_lease});
    return;
  }
  register_read(request_id, from, allow_lease);
}

void node::register_read(std::uint64_t request_id, node_id from, bool allow_lease) {
  const index_t index = log_.committed();
  const bool lease = allow_lease && lease_valid(now_);
  if (lease) ++counters_.lease_reads;
  if (allow_lease && !lease && config_.lease_reads && lease_expiry_ != 0 && now_ >= lease_expiry_) {
    ++counters_.lease_expired_reads;
  }
  if (sole_voter() || lease || config_.bugs.read_index_without_quorum) {
    answer_read(request_id, from, index, true);
    return;
  }
  // Batched: every read registered before the next heartbeat broadcast shares its round.
  pending_reads_.push_back({request_id, from, index, 0});
  read_round_needed_ = true;
}

void node::answer_read(std::uint64_t request_id, node_id from, index_t index, bool ok) {
  if (!ok) ++counters_.reads_dropped;
  if (from == config_.id) {
    if (ok) {
      read_states_.push_back({request_id, index});
    } else {
      dropped_reads_.push_back(request_id);
    }
  } else {
    send_now(from, read_index_response{config_.group, request_id, index, ok});
  }
}

void node::broadcast_heartbeat() {
  assert(role_ == role::leader);
  const std::uint64_t round = ++last_round_;
  round_sent_at_.emplace_back(round, now_);
  if (round_sent_at_.size() > max_rounds_remembered) round_sent_at_.pop_front();
  for (auto& r : pending_reads_) {
    if (r.round == 0) r.round = round;
  }
  read_round_needed_ = false;
  for (const auto& [id, pr] : progress_) {
    // Never tell a follower a commit index beyond what it is known to hold.
    send_now(id, heartbeat{config_.group, std::min(pr.match(), log_.committed()), round});
  }
  if (sole_voter()) on_round_acked(config_.id, round);
}

void node::on_round_acked(node_id from, std::uint64_t round) {
  if (round == 0 || round > last_round_) return;
  if (from != config_.id) {
    auto& acked = acked_round_[from];
    acked = std::max(acked, round);
  }
  // A round is confirmed by a quorum of voters (of both halves in C_old,new, thesis §4.3); we
  // acknowledge our own rounds when we are a voter; learners never count.
  const std::uint64_t confirmed = quorum_match([this](node_id id) -> index_t {
    if (id == config_.id) return last_round_;
    auto it = acked_round_.find(id);
    return it == acked_round_.end() ? 0 : it->second;
  });
  if (confirmed <= confirmed_round_) return;
  confirmed_round_ = confirmed;
  while (!pending_reads_.empty() && pending_reads_.front().round != 0 &&
         pending_reads_.front().round <= confirmed) {
    const auto r = pending_reads_.front();
    pending_reads_.pop_front();
    answer_read(r.request_id, r.from, r.index, true);
  }
  while (!round_sent_at_.empty() && round_sent_at_.front().first < confirmed) {
    round_sent_at_.pop_front();
  }
  if (!round_sent_at_.empty() && round_sent_at_.front().first == confirmed &&
      !transfer_started_this_term_) {
    // thesis §6.4.1: the lease counts from when the confirming heartbeats were sent.
    lease_expiry_ = std::max(lease_expiry_, round_sent_at_.front().second + lease_duration());
  }
}

void node::handle_read_index_request(const raft_message& m, const read_index_request& req) {
  if (role_ != role::leader) {
    send_now(m.from, read_index_response{config_.group, req.context, 0, false});
    return;
  }
  if (pending_reads_.size() + reads_waiting_for_no_op_.size() >= config_.max_pending_reads) {
    send_now(m.from, read_index_response{config_.group, req.context, 0, false});
    return;
  }
  // A follower's read (thesis §6.4) may use the leader's lease like the leader's own lease reads.
  leader_read(req.context, m.from, true);
}

void node::handle_read_index_response(const read_index_response& resp) {
  // Lost or reordered answers: only the first answer for a pending id counts; others are ignored.
  if (forwarded_reads_.erase(resp.context) == 0) return;
  if (resp.success) {
    read_states_.push_back({resp.context, resp.read_index});
  } else {
    dropped_reads_.push_back(resp.context);
  }
}

void node::release_reads_waiting_for_no_op() {
  if (role_ != role::leader || !committed_in_current_term()) return;
  auto waiting = std::move(reads_waiting_for_no_op_);
  reads_waiting_for_no_op_.clear();
  for (const auto& w : waiting) register_read(w.request_id, w.from, w.allow_lease);
}

void node::drop_all_reads() {
  for (const auto& r : pending_reads_) answer_read(r.request_id, r.from, 0, false);
  for (const auto& w : reads_waiting_for_no_op_) answer_read(w.request_id, w.from, 0, false);
  for (auto id : forwarded_reads_) dropped_reads_.push_back(id);
  pending_reads_.clear();
  reads_waiting_for_no_op_.clear();
  forwarded_reads_.clear();
  acked_round_.clear();
  round_sent_at_.clear();
  last_round_ = 0;
  confirmed_round_ = 0;
  read_round_needed_ = false;
  lease_expiry_ = 0;
}

}  // namespace troupe::raft
