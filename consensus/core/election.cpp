// Leader election (Raft §5.2, §5.4.1), PreVote (thesis §9.6), CheckQuorum and leader stickiness
// (thesis §6.2), the leader's no-op (Raft §8, thesis §6.4).
#include <algorithm>
#include <cassert>

#include "consensus/core/node.hpp"
#include "consensus/core/quorum.hpp"

namespace troupe::raft {

std::uint64_t node::next_random() {
  // splitmix64: the only source of randomness, seeded from the config so one seed replays one run.
  std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void node::randomize_election_timeout() {
  // Raft §5.2: randomized in [E, 2E) so that split votes are rare.
  const std::uint32_t e = config_.election_timeout_ticks;
  randomized_election_timeout_ = e + static_cast<std::uint32_t>(next_random() % e);
  assert(randomized_election_timeout_ >= e && randomized_election_timeout_ < 2 * e);
}

bool node::in_leader_lease() const {
  if (!config_.check_quorum) return false;
  const bool knows_leader = leader_ != no_node || sticky_after_start_;
  return knows_leader && election_elapsed_ < config_.election_timeout_ticks;
}

void node::tick_election() {
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_timeout_ticks) sticky_after_start_ = false;
  if (election_elapsed_ >= randomized_election_timeout_ && may_campaign()) {
    election_elapsed_ = 0;
    start_campaign(config_.pre_vote, false);
  }
}

void node::tick_heartbeat() {
  assert(role_ == role::leader);
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (config_.snapshot_bytes_per_tick > 0) {
    snapshot_budget_left_ = config_.snapshot_bytes_per_tick;  // the shell's rate, per tick
    append_needed_ = true;  // throttled transfers continue in the next ready
  }
  if (election_elapsed_ >= config_.election_timeout_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum && !quorum_active()) {
      // thesis §6.2: a leader that cannot reach a quorum steps down so clients find the real one.
      ++counters_.check_quorum_step_downs;
      become_follower(term_, no_node);
      return;
    }
    if (transfer_target_ != no_node) {
      ++counters_.transfers_aborted;
      abort_transfer();  // thesis §3.10: give up after a timeout
    }
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_interval_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat();
  }
}

bool node::quorum_active() {
  // thesis §4.3: in C_old,new a quorum means a majority of each half.
  const bool ok = joint_quorum(quorum_config(), [this](node_id id) {
    if (id == config_.id) return true;
    auto it = progress_.find(id);
    return it != progress_.end() && it->second.recent_active();
  });
  for (auto& [id, pr] : progress_) pr.set_recent_active(false);
  return ok;
}

status node::campaign(monotonic_ns now) {
  now_ = std::max(now_, now);
  if (role_ == role::leader) return make_error(errc::refused, "already leader");
  start_campaign(config_.pre_vote, false);
  return {};
}

void node::start_campaign(bool pre_vote, bool transfer) {
  if (pre_vote) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
  const term_t vote_term = pre_vote ? term_ + 1 : term_;
  if (joint_tally(quorum_config(), votes_) == vote_result::won) {
    // a single voter wins at once
    if (pre_vote) {
      start_campaign(false, transfer);
    } else {
      become_leader();
    }
    return;
  }
  const vote_request req{config_.group, pre_vote, log_.last_index(), log_.last_term(), transfer};
  for (node_id peer : members_of(current_membership())) {
    if (peer == config_.id || !is_voter(peer)) continue;
    // A PreVote changes nothing durable and may go at once; a real vote request depends on our new
    // term and self-vote being durable (else a restart could vote twice in this term).
    send({config_.id, peer, vote_term, req}, !pre_vote);
  }
}

void node::become_pre_candidate() {
  assert(role_ != role::leader);
  // thesis §9.6: no term change, so a partitioned node does not inflate terms.
  const term_t t = term_;
  reset(t);
  role_ = role::pre_candidate;
  votes_[config_.id] = true;
}

void node::become_candidate() {
  assert(role_ != role::leader);
  reset(term_ + 1);
  ++counters_.elections_started;
  role_ = role::candidate;
  voted_for_ = config_.id;
  votes_[config_.id] = true;
}

void node::become_leader() {
  assert(role_ == role::candidate);
  const term_t t = term_;
  reset(t);
  role_ = role::leader;
  leader_ = config_.id;
  sync_progress();
  // Raft §8 / thesis §6.4: commit an entry of our own term at once, which also commits every earlier
  // entry and tells us the commit index before we serve reads.
  if (!config_.bugs.skip_no_op) {
    std::vector<log_entry> noop;
    noop.push_back({term_, log_.last_index() + 1, entry_type::no_op, {}});
    no_op_index_ = log_.append(std::move(noop));
  } else {
    no_op_index_ = 0;
  }
  append_needed_ = true;
  if (sole_voter()) maybe_commit();
}

void node::handle_vote_request(const raft_message& m, const vote_request& req) {
  // Raft §5.2 / §5.4.1: grant if we have not voted for another in this term and the candidate's log
  // is at least as up-to-date as ours. A PreVote for a later term is granted without a vote record.
  const bool can_vote = voted_for_ == m.from || (voted_for_ == no_node && leader_ == no_node) ||
                        (req.pre_vote && m.term > term_);
  const bool grant = can_vote && log_.is_up_to_date(req.last_log_index, req.last_log_term);
  const term_t answer_term = (req.pre_vote && grant) ? m.term : term_;
  if (grant && !req.pre_vote) {
    voted_for_ = m.from;
    election_elapsed_ = 0;
  }
  // The vote must be durable before the answer leaves (Raft Figure 2): it waits for persistence.
  const bool after_persist = !req.pre_vote && !config_.bugs.reply_before_vote_durable;
  send({config_.id, m.from, answer_term, vote_response{config_.group, req.pre_vote, grant}},
       after_persist);
}

void node::handle_vote_response(const raft_message& m, const vote_response& resp) {
  const bool mine = (role_ == role::pre_candidate && resp.pre_vote) ||
                    (role_ == role::candidate && !resp.pre_vote);
  if (!mine || !is_voter(m.from)) return;  // only voters of our configuration count (Raft §5.2)
  votes_.emplace(m.from, resp.granted);
  const auto outcome = joint_tally(quorum_config(), votes_);  // both halves (thesis §4.3)
  if (outcome == vote_result::won) {
    if (role_ == role::pre_candidate) {
      start_campaign(false, false);
    } else {
      become_leader();
    }
  } else if (outcome == vote_result::lost) {
    become_follower(term_, no_node);
  }
}

}  // namespace troupe::raft
