// Membership changes (Raft thesis chapter 4): joint consensus (§4.3), learners (§4.2.1), the removed
// leader (§4.2.2), and the configuration recovered from the log on restart (§4.1: a server uses the
// latest configuration in its log, committed or not).
#include <algorithm>
#include <cassert>

#include "consensus/core/node.hpp"

namespace troupe::raft {

result<std::vector<node::conf_record>> node::recover_configurations(const config& cfg,
                                                                    const log_storage& storage,
                                                                    index_t commit) {
  // Walk back from the end: every config entry above the commit index (it may still be undone by a
  // conflicting suffix) and the latest one at or below it, which never will be.
  std::vector<conf_record> found;
  index_t at = storage.last_index();
  while (at > 0) {
    auto idx = storage.last_config_index(at);
    if (!idx) return idx.err();
    if (*idx == 0) break;
    auto e = storage.entries(*idx, *idx + 1, ~std::uint64_t{0});
    if (!e) return e.err();
    if (e->size() != 1 || e->front().type != entry_type::config) {
      return make_error(errc::corrupt, "raft: last_config_index named index " + std::to_string(*idx) +
                                           ", which is not a configuration entry");
    }
    auto m = decode_membership(e->front().data);
    if (!m) {
      return make_error(errc::corrupt, "raft: configuration entry at index " + std::to_string(*idx) +
                                           " does not decode: " + m.err().message);
    }
    found.push_back({*idx, e->front().term, std::move(*m)});
    if (*idx <= commit) break;
    at = *idx - 1;
  }
  std::reverse(found.begin(), found.end());
  if (found.empty() || found.front().index > commit) {
    const auto snap = storage.last_snapshot();
    if (snap.last_index > 0) {
      // The log starts after a snapshot: its configuration is the one in effect there (thesis §5.1).
      found.insert(found.begin(), conf_record{snap.last_index, snap.last_term, snap.membership});
      return found;
    }
    membership boot{cfg.voters, cfg.learners, {}, {}};
    for (const auto& [id, address] : cfg.addresses) {
      if (std::find(cfg.voters.begin(), cfg.voters.end(), id) != cfg.voters.end() ||
          std::find(cfg.learners.begin(), cfg.learners.end(), id) != cfg.learners.end()) {
        set_address(boot, id, address);
      }
    }
    std::sort(boot.voters.begin(), boot.voters.end());
    std::sort(boot.learners.begin(), boot.learners.end());
    found.insert(found.begin(), conf_record{0, 0, std::move(boot)});
  }
  return found;
}

result<index_t> node::propose_conf_change(std::vector<conf_change> changes, monotonic_ns now) {
  now_ = std::max(now_, now);
  if (role_ != role::leader) return make_error(errc::refused, "not leader");
  if (transfer_target_ != no_node) return make_error(errc::busy, "leadership transfer in progress");
  const auto& cur = confs_.back();
  if (cur.index > log_.committed() || is_joint(cur.conf)) {
    // thesis §4.1: one change at a time; the next waits until the previous one is committed.
    ++counters_.conf_changes_refused_busy;
    return make_error(errc::busy, "a membership change is in progress");
  }
  if (!committed_in_current_term()) {
    // A new leader first commits an entry of its term, so a configuration it does not know about
    // cannot still be committed by an older leader (Ongaro, raft-dev, 2015: the fix for the
    // single-server change bug; cheap insurance for joint changes too).
    return make_error(errc::busy, "no entry of this term committed yet");
  }
  if (log_.last_index() - log_.committed() >= config_.max_uncommitted_entries) {
    return make_error(errc::busy, "too many uncommitted entries");
  }
  auto next = apply_conf_changes(cur.conf, changes);
  if (!next) return next.err();
  ++counters_.conf_changes_proposed;
  return append_config_entry(*next);
}

index_t node::append_config_entry(const membership& m) {
  assert(role_ == role::leader);
  const index_t index = log_.last_index() + 1;
  std::vector<log_entry> e;
  e.push_back({term_, index, entry_type::config, encode_membership(m)});
  log_.append(e);
  track_configurations(index - 1, e);
  append_needed_ = true;
  if (sole_voter()) maybe_commit();
  return index;
}

void node::track_configurations(index_t prev_index, const std::vector<log_entry>& entries) {
  bool changed = false;
  // Entries replaced by a conflicting suffix (Raft §5.3) take their configuration with them: revert
  // to the one before (thesis §4.1). The first record is at or below commit and never replaced.
  while (confs_.size() > 1 && confs_.back().index > prev_index &&
         !log_.match_term(confs_.back().index, confs_.back().term)) {
    confs_.pop_back();
    ++counters_.configs_reverted;
    changed = true;
  }
  for (const auto& e : entries) {
    if (e.type != entry_type::config || e.index <= confs_.back().index) continue;
    if (!log_.match_term(e.index, e.term)) continue;
    // The payload is read from the log, where a leader's own entry or a checked message put it.
    const auto stored = log_.entries(e.index, e.index + 1, ~std::uint64_t{0});
    assert(stored.size() == 1 && stored.front().type == entry_type::config);
    auto m = decode_membership(stored.front().data);
    if (!m) fatal("configuration entry in the log does not decode:", m.err().message.c_str());
    confs_.push_back({e.index, e.term, std::move(*m)});
    changed = true;
  }
  // Keep one record at or below commit (the fallback) and everything after it.
  while (confs_.size() > 1 && confs_[1].index <= log_.committed()) confs_.erase(confs_.begin());
  if (changed) on_membership_changed();
}

void node::on_membership_changed() {
  if (role_ != role::leader) return;
  sync_progress();
  // A lease confirmed by a quorum of the old configuration says nothing about the new one: renew it
  // with rounds confirmed under the configuration now in effect.
  lease_expiry_ = 0;
}

void node::sync_progress() {
  assert(role_ == role::leader);
  const auto members = members_of(current_membership());
  for (node_id id : members) {
    if (id == config_.id || progress_.count(id) != 0) continue;
    // A member added by the config entry just appended starts at that entry, so the first
    // AppendEntries carries it (and a rejection starts the backtracking at once).
    const index_t next = role_ == role::leader && membership_index() == log_.last_index()
                             ? std::max<index_t>(1, log_.last_index())
                             : log_.last_index() + 1;
    auto [it, inserted] = progress_.emplace(
        id, progress(next, config_.max_inflight_messages, config_.max_inflight_bytes));
    assert(inserted);
    it->second.set_recent_active(true);  // a new member gets one election timeout before CheckQuorum
  }
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (std::binary_search(members.begin(), members.end(), it->first)) {
      ++it;
      continue;
    }
    if (transfer_target_ == it->first) abort_transfer();
    acked_round_.erase(it->first);
    it = progress_.erase(it);
  }
}

void node::maybe_finish_conf_change() {
  if (role_ != role::leader) return;
  const auto& cur = confs_.back();
  if (cur.index > log_.committed()) return;
  if (is_joint(cur.conf)) {
    // thesis §4.3: once C_old,new is committed the leader moves on to C_new by itself.
    ++counters_.joint_configs_left;
    append_config_entry(leave_joint(cur.conf));
    return;
  }
  if (cur.index == 0 || is_voter(config_.id)) return;
  // thesis §4.2.2: a leader that is not part of C_new steps down once C_new is committed. It hands
  // over with TimeoutNow to a voter that already holds its whole log, so no election timeout passes
  // without a leader (thesis §3.10).
  node_id successor = no_node;
  for (node_id id : cur.conf.voters) {
    auto it = progress_.find(id);
    if (it != progress_.end() && it->second.match() == log_.last_index()) {
      successor = id;
      break;
    }
  }
  ++counters_.removed_leader_step_downs;
  become_follower(term_, no_node);
  if (successor != no_node) send_now(successor, timeout_now{config_.group});
}

bool node::may_campaign() const {
  if (is_voter(config_.id)) return true;
  if (membership_index() <= log_.committed()) return false;
  return std::any_of(confs_.begin(), confs_.end(),
                     [this](const conf_record& r) { return is_voter_in(r.conf, config_.id); });
}

index_t node::quorum_match(const std::function<index_t(node_id)>& match) const {
  return joint_committed_index(quorum_config(), match);
}

const membership& node::quorum_config() const {
  if (!config_.bugs.joint_quorum_new_only) return current_membership();
  bug_quorum_config_ = leave_joint(current_membership());
  return bug_quorum_config_;
}

}  // namespace troupe::raft
