// The driver's membership requests: configuration changes (Raft thesis §4.3) and leadership
// transfer (thesis §3.10), each answered once the status shows how it ended.
#include <cassert>
#include <utility>

#include "consensus/actor/driver.hpp"

namespace troupe::raft {

void driver::change_membership(ticket t, std::vector<conf_change> changes, monotonic_ns now) {
  if (failed()) return fail(t, outcome_code::stopped, no_node);
  conf_change_input c{t, std::move(changes)};
  if (syncing_) return enqueue(std::move(c));
  do_change_membership(c, now);
  pump(now);
}

void driver::transfer_leadership(ticket t, node_id target, monotonic_ns now) {
  if (failed()) return fail(t, outcome_code::stopped, no_node);
  transfer_input tr{t, target};
  if (syncing_) return enqueue(std::move(tr));
  do_transfer(tr, now);
  pump(now);
}

void driver::do_change_membership(conf_change_input& c, monotonic_ns now) {
  const node_status st = core_->status();
  if (st.role != role::leader) {
    return fail(c.t, st.leader == no_node ? outcome_code::unavailable : outcome_code::not_leader, st.leader);
  }
  // Inputs queued during a sync are fed to the core back to back, with no status refresh between
  // them: the acknowledgement that completed the previous change may have come just before this
  // request. Answer that one first, or it would be overwritten here and never answered.
  if (conf_change_) settle_membership_requests(st);
  auto index = core_->propose_conf_change(std::move(c.changes), now);
  if (index) {
    assert(!conf_change_);  // the core allows one change at a time
    conf_change_ = pending_conf_change{c.t, *index, st.term};
    return;
  }
  switch (index.err().code) {
    case errc::busy: return reply(c.t, {outcome_code::busy, index.err().message, st.leader});
    case errc::refused: return fail(c.t, outcome_code::not_leader, st.leader);
    default: return reply(c.t, {outcome_code::rejected, index.err().message, st.leader});
  }
}

void driver::do_transfer(transfer_input& tr, monotonic_ns now) {
  const node_status st = core_->status();
  if (st.role != role::leader) {
    return fail(tr.t, st.leader == no_node ? outcome_code::unavailable : outcome_code::not_leader, st.leader);
  }
  if (tr.target == st.id) return reply(tr.t, {outcome_code::ok, {}, st.id});  // already leads
  if (auto s = core_->transfer_leadership(tr.target, now); !s) {
    const auto code = s.err().code == errc::refused ? outcome_code::not_leader : outcome_code::rejected;
    return reply(tr.t, {code, s.err().message, st.leader});
  }
  transfers_.push_back({tr.t, tr.target, st.term});
}

void driver::settle_membership_requests(const node_status& st) {
  if (conf_change_) {
    const auto& p = *conf_change_;
    // Complete once no change is pending and the configuration in effect is ours or a later one,
    // committed, in the term we proposed in (a removed leader steps down in that same term once
    // C_new commits, thesis §4.2.2, so its answer is still ok).
    if (st.term == p.term && !st.conf_change_pending && st.membership_index >= p.index && st.commit >= p.index) {
      reply(p.t, {outcome_code::ok, {}, st.leader});
      conf_change_.reset();
    } else if (st.term != p.term || st.role != role::leader) {
      // Another leader may still commit (or drop) our entry: the outcome is unknown.
      ++counters_.failed_outcome_unknown;
      reply(p.t, {outcome_code::outcome_unknown, {}, st.leader});
      conf_change_.reset();
    }
  }
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    if (st.leader == it->target) {
      reply(it->t, {outcome_code::ok, {}, st.leader});
    } else if (st.role == role::leader && st.term == it->term && st.transfer_target == no_node) {
      reply(it->t, {outcome_code::rejected, "the transfer aborted: node " + std::to_string(it->target) +
                                                " did not take over within an election timeout",
                    st.leader});
    } else if (st.term != it->term && st.leader != no_node) {
      reply(it->t, {outcome_code::rejected,
                    "node " + std::to_string(st.leader) + " leads now, not " + std::to_string(it->target), st.leader});
    } else {
      ++it;
      continue;
    }
    it = transfers_.erase(it);
  }
}

}  // namespace troupe::raft
