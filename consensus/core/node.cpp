// Construction, the term rules every message passes through (Raft §5.1, thesis §9.6 for PreVote,
// §6.2 for CheckQuorum stickiness), dispatch by message type, and the ready/advance contract.
#include "consensus/core/node.hpp"

#include <algorithm>
#include <cassert>

namespace troupe::raft {

const char* to_string(role r) noexcept {
  switch (r) {
    case role::follower: return "follower";
    case role::pre_candidate: return "pre_candidate";
    case role::candidate: return "candidate";
    case role::leader: return "leader";
  }
  return "unknown";
}

result<std::unique_ptr<node>> node::create(config cfg, const log_storage& storage,
                                           const snapshot_source* snapshots) {
  if (cfg.id == no_node) return make_error(errc::invalid_argument, "raft config: id 0");
  {
    // The bootstrap configuration; empty for a node that joins and waits to be added (thesis §4.1).
    std::vector<node_id> all = cfg.voters;
    all.insert(all.end(), cfg.learners.begin(), cfg.learners.end());
    if (cfg.voters.empty() && !cfg.learners.empty()) {
      return make_error(errc::invalid_argument, "raft config: learners without voters");
    }
    if (!all.empty() && std::find(all.begin(), all.end(), cfg.id) == all.end()) {
      return make_error(errc::invalid_argument, "raft config: this node is not a voter or learner");
    }
    std::sort(all.begin(), all.end());
    if (!all.empty() && (std::adjacent_find(all.begin(), all.end()) != all.end() || all.front() == no_node)) {
      return make_error(errc::invalid_argument, "raft config: duplicate or zero member id");
    }
  }
  if (cfg.heartbeat_interval_ticks == 0 || cfg.election_timeout_ticks <= cfg.heartbeat_interval_ticks) {
    return make_error(errc::invalid_argument,
                      "raft config: need 0 < heartbeat_interval_ticks < election_timeout_ticks");
  }
  if (cfg.lease_reads && !cfg.check_quorum) {
    // the lease relies on followers refusing votes while they hear from the leader (thesis §6.4.1)
    return make_error(errc::invalid_argument, "raft config: lease_reads needs check_quorum");
  }
  if (cfg.lease_drift_ratio < 0.0 || cfg.lease_drift_ratio >= 1.0 || cfg.tick_duration_ns <= 0) {
    return make_error(errc::invalid_argument, "raft config: bad lease drift ratio or tick duration");
  }
  if (cfg.max_inflight_messages == 0 || cfg.max_committed_entries_per_ready == 0) {
    return make_error(errc::invalid_argument, "raft config: zero limit");
  }
  if (cfg.snapshot_chunk_bytes == 0 || cfg.max_snapshot_chunks_in_flight == 0) {
    return make_error(errc::invalid_argument, "raft config: zero snapshot limit");
  }
  if (cfg.applied + 1 < storage.first_index()) {
    return make_error(errc::invalid_argument,
                      "raft config: applied " + std::to_string(cfg.applied) + " is below the log's snapshot at " +
                          std::to_string(storage.first_index() - 1) + ": restore the state machine from it first");
  }
  auto hs = storage.initial_hard_state();
  if (!hs) return hs.err();
  hs->commit = std::max(hs->commit, storage.first_index() - 1);  // a snapshot holds committed entries only
  if (cfg.applied > hs->commit) {
    return make_error(errc::invalid_argument, "raft config: applied beyond the durable commit");
  }
  auto confs = recover_configurations(cfg, storage, hs->commit);
  if (!confs) return confs.err();
  return std::unique_ptr<node>(new node(std::move(cfg), storage, snapshots, *hs, std::move(*confs)));
}

node::node(config cfg, const log_storage& storage, const snapshot_source* snapshots, hard_state hs,
           std::vector<conf_record> confs)
    : config_(std::move(cfg)),
      storage_(storage),
      log_(storage, hs.commit),
      rng_state_(config_.random_seed),
      term_(hs.term),
      voted_for_(hs.voted_for),
      sticky_after_start_(hs.term > 0),
      confs_(std::move(confs)),
      snapshots_(snapshots),
      log_snapshot_(storage.last_snapshot()),
      handed_out_hard_state_(hs),
      handed_out_applied_(config_.applied) {
  if (config_.applied > log_.applied()) log_.applied_to(config_.applied);
  if (config_.partial && config_.partial->metadata.last_index > log_.committed()) incoming_ = config_.partial;
  randomize_election_timeout();
  assert(log_.committed() <= log_.last_index());
}

bool node::is_voter(node_id id) const { return is_voter_in(current_membership(), id); }

bool node::sole_voter() const {
  const auto& m = current_membership();
  auto only_me = [this](const std::vector<node_id>& v) { return v.empty() || (v.size() == 1 && v[0] == config_.id); };
  return !m.voters.empty() && only_me(m.voters) && only_me(m.voters_outgoing);
}

void node::send(raft_message m, bool after_persist) {
  assert(m.to != config_.id && m.to != no_node);
  (after_persist ? msgs_after_persist_ : msgs_).push_back(std::move(m));
}

void node::reset(term_t term) {
  if (term_ != term) {
    assert(term > term_);  // terms only grow (Raft §5.1)
    term_ = term;
    voted_for_ = no_node;
  }
  leader_ = no_node;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomize_election_timeout();
  abort_transfer();
  transfer_started_this_term_ = false;
  no_op_index_ = 0;
  votes_.clear();
  progress_.clear();
  drop_all_reads();
  append_needed_ = false;
  commit_broadcast_needed_ = false;
}

void node::become_follower(term_t term, node_id leader) {
  reset(term);
  role_ = role::follower;
  leader_ = leader;
  assert(term_ == term);
}

void node::tick(monotonic_ns now) {
  assert(now >= now_);
  now_ = now;
  if (role_ == role::leader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
}

status node::step(const raft_message& m, monotonic_ns now) {
  if (!addressed_here(m)) {
    return make_error(errc::invalid_argument, "raft: message for another group or node");
  }
  now_ = std::max(now_, now);
  if (const auto* app = std::get_if<append_entries>(&m.body)) {
    // A configuration entry we could not read would leave us not knowing our own cluster: refuse the
    // whole message rather than append it (the sender's bytes are bad, not our log).
    for (const auto& e : app->entries) {
      if (e.type == entry_type::config && !decode_membership(e.data)) {
        return make_error(errc::malformed, "raft: append_entries with a malformed configuration entry at index " +
                                               std::to_string(e.index));
      }
    }
  }
  const auto* vreq = std::get_if<vote_request>(&m.body);
  const auto* vresp = std::get_if<vote_response>(&m.body);
  const bool from_leader = std::holds_alternative<append_entries>(m.body) ||
                           std::holds_alternative<heartbeat>(m.body) ||
                           std::holds_alternative<install_snapshot>(m.body);

  if (vresp != nullptr && vresp->pre_vote && !vresp->granted && role_ == role::pre_candidate) {
    ++counters_.pre_votes_rejected;
  }
  if (m.term > term_) {
    if (vreq != nullptr && !vreq->leadership_transfer && in_leader_lease()) {
      // thesis §6.2 / §9.6: a node that heard from a leader within the minimum election timeout
      // ignores vote requests, so a partitioned or rejoining server cannot disrupt the cluster.
      ++counters_.vote_requests_ignored_in_lease;
      return {};
    }
    if (vreq != nullptr && vreq->pre_vote) {
      // a PreVote does not change our term (thesis §9.6)
    } else if (vresp != nullptr && vresp->pre_vote && vresp->granted) {
      // a granted PreVote echoes the proposed term; we have not adopted it yet
    } else {
      become_follower(m.term, from_leader ? m.from : no_node);
    }
  } else if (m.term < term_) {
    if (from_leader) {
      // Raft §5.1: a request with a stale term is rejected, and the reply carries our term so a
      // deposed leader steps down. With PreVote this matters doubly: we never campaign against it.
      send_now(m.from, append_entries_response{config_.group, false, 0, 0, 0, 0});
    } else if (vreq != nullptr && vreq->pre_vote) {
      send_now(m.from, vote_response{config_.group, true, false});
    }
    return {};
  }

  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, vote_request>) {
          handle_vote_request(m, body);
        } else if constexpr (std::is_same_v<T, vote_response>) {
          handle_vote_response(m, body);
        } else if constexpr (std::is_same_v<T, append_entries>) {
          handle_append(m, body);
        } else if constexpr (std::is_same_v<T, append_entries_response>) {
          handle_append_response(m, body);
        } else if constexpr (std::is_same_v<T, heartbeat>) {
          handle_heartbeat(m, body);
        } else if constexpr (std::is_same_v<T, heartbeat_response>) {
          handle_heartbeat_response(m, body);
        } else if constexpr (std::is_same_v<T, timeout_now>) {
          handle_timeout_now(m);
        } else if constexpr (std::is_same_v<T, read_index_request>) {
          handle_read_index_request(m, body);
        } else if constexpr (std::is_same_v<T, read_index_response>) {
          handle_read_index_response(body);
        } else if constexpr (std::is_same_v<T, install_snapshot>) {
          handle_install_snapshot(m, body);
        } else {
          static_assert(std::is_same_v<T, install_snapshot_response>);
          handle_install_snapshot_response(m, body);
        }
      },
      m.body);
  return {};
}

result<index_t> node::propose(std::string data, monotonic_ns now) {
  now_ = std::max(now_, now);
  if (role_ != role::leader) return make_error(errc::refused, "not leader");
  if (transfer_target_ != no_node) {
    return make_error(errc::busy, "leadership transfer in progress");  // thesis §3.10
  }
  if (log_.last_index() - log_.committed() >= config_.max_uncommitted_entries) {
    return make_error(errc::busy, "too many uncommitted entries");
  }
  const index_t index = log_.last_index() + 1;
  std::vector<log_entry> e;
  e.push_back({term_, index, entry_type::normal, std::move(data)});
  log_.append(std::move(e));
  append_needed_ = true;  // batched: one AppendEntries per follower per ready
  if (sole_voter()) maybe_commit();
  return index;
}

bool node::has_ready() const {
  return !msgs_.empty() || !msgs_after_persist_.empty() || !log_.unstable_entries().empty() ||
         current_hard_state() != handed_out_hard_state_ ||
         (!restoring_ && log_.committed() > handed_out_applied_) || !read_states_.empty() ||
         !dropped_reads_.empty() || !snapshot_chunks_.empty() || restore_handout_ || pending_compacted_ ||
         (role_ == role::leader && (append_needed_ || commit_broadcast_needed_ || read_round_needed_));
}

ready node::take_ready() {
  assert(!ready_outstanding_);  // contract: advance() before the next take_ready()
  if (role_ == role::leader) {
    if (read_round_needed_) broadcast_heartbeat();
    flush_appends();
    flush_snapshots();
  }
  ready rd;
  rd.snapshot_chunks = std::move(snapshot_chunks_);
  snapshot_chunks_.clear();
  if (restore_handout_) {
    rd.snapshot_to_restore = restoring_;
    restore_handout_ = false;
  }
  rd.compacted = std::move(pending_compacted_);
  pending_compacted_.reset();
  rd.entries = log_.unstable_entries();
  const hard_state hs = current_hard_state();
  if (hs != handed_out_hard_state_) {
    rd.hard_state_update = hs;
    handed_out_hard_state_ = hs;
  }
  rd.messages = std::move(msgs_);
  rd.messages_after_persist = std::move(msgs_after_persist_);
  msgs_.clear();
  msgs_after_persist_.clear();
  if (!restoring_) {  // nothing is applied on top of a state machine that is not restored yet
    rd.committed_entries =
        log_.next_committed_entries(handed_out_applied_, config_.max_committed_entries_per_ready);
  }
  if (!rd.committed_entries.empty()) handed_out_applied_ = rd.committed_entries.back().index;
  rd.read_states = std::move(read_states_);
  rd.dropped_reads = std::move(dropped_reads_);
  read_states_.clear();
  dropped_reads_.clear();
  ready_outstanding_ = true;
  return rd;
}

void node::advance(const ready& rd) {
  assert(ready_outstanding_);
  ready_outstanding_ = false;
  if (!rd.entries.empty()) log_.stable_to(rd.entries.back().index, rd.entries.back().term);
  if (!rd.committed_entries.empty()) log_.applied_to(rd.committed_entries.back().index);
  // The leader counts its own log only once durable (thesis §10.2.1: it replicates in parallel).
  if (role_ == role::leader && maybe_commit()) on_commit_advanced();
}

node_status node::status() const {
  node_status s;
  s.id = config_.id;
  s.group = config_.group;
  s.term = term_;
  s.role = role_;
  s.leader = leader_;
  s.voted_for = voted_for_;
  s.commit = log_.committed();
  s.applied = log_.applied();
  s.last_index = log_.last_index();
  s.first_index = log_.first_index();
  s.log_size = log_.last_index() + 1 - log_.first_index();
  s.transfer_target = transfer_target_;
  s.lease_valid = lease_valid(now_);
  s.membership = current_membership();
  s.membership_index = membership_index();
  s.learner = is_learner_in(s.membership, config_.id);
  s.conf_change_pending = is_joint(s.membership) || s.membership_index > log_.committed();
  s.snapshot_index = log_.snapshot_index();
  s.restoring_snapshot = restoring_.has_value();
  return s;
}

}  // namespace troupe::raft
