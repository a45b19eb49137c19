// Leadership transfer (thesis §3.10): catch the target up, then send TimeoutNow; refuse proposals
// meanwhile; give up after an election timeout.
#include <algorithm>
#include <cassert>

#include "consensus/core/node.hpp"

namespace troupe::raft {

status node::transfer_leadership(node_id target, monotonic_ns now) {
  now_ = std::max(now_, now);
  if (role_ != role::leader) return make_error(errc::refused, "not leader");
  const auto& voters = current_membership().voters;  // C_new: a voter only of C_old is on its way out
  if (target == config_.id || std::find(voters.begin(), voters.end(), target) == voters.end()) {
    return make_error(errc::invalid_argument, "transfer target is this node or not a voter");
  }
  if (transfer_target_ == target) return {};
  transfer_target_ = target;
  election_elapsed_ = 0;  // the abort timer
  // TimeoutNow makes the target ignore the followers' stickiness the lease relies on: no lease read
  // from now until the end of this term (DESIGN.md 2).
  transfer_started_this_term_ = true;
  lease_expiry_ = 0;
  if (progress_.at(target).match() == log_.last_index()) {
    maybe_send_timeout_now(target);
  } else {
    append_needed_ = true;
  }
  return {};
}

result<node_id> node::hand_over(monotonic_ns now) {
  if (role_ != role::leader) return make_error(errc::refused, "not leader");
  node_id best = no_node;
  index_t best_match = 0;
  const auto& voters = current_membership().voters;
  for (const auto& [id, pr] : progress_) {
    if (std::find(voters.begin(), voters.end(), id) == voters.end()) continue;  // learners cannot lead
    // the most caught-up follower needs the fewest entries before TimeoutNow (thesis §3.10)
    if (best == no_node || pr.match() > best_match) {
      best = id;
      best_match = pr.match();
    }
  }
  if (best == no_node) return make_error(errc::not_found, "no other voter to hand over to");
  if (auto st = transfer_leadership(best, now); !st) return st.err();
  return best;
}

void node::maybe_send_timeout_now(node_id peer) {
  if (transfer_target_ != peer || role_ != role::leader) return;
  if (progress_.at(peer).match() != log_.last_index()) return;
  send_now(peer, timeout_now{config_.group});
}

void node::abort_transfer() { transfer_target_ = no_node; }

void node::handle_timeout_now(const raft_message& m) {
  if (role_ == role::leader || !may_campaign()) return;
  if (m.term != term_) return;  // a TimeoutNow from an earlier term is stale
  // Skip PreVote: the leader asked for this election (thesis §3.10).
  start_campaign(false, true);
}

}  // namespace troupe::raft
