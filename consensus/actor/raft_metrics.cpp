#include "consensus/actor/raft_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <initializer_list>
#include <utility>
#include <string>

#include "runtime/metrics/buckets.hpp"
#include "runtime/metrics/corruption_metric.hpp"

namespace troupe::raft {

namespace {

prometheus::Gauge* gauge(prometheus::Registry& r, const char* name, const char* help,
                         const std::string& group) {
  return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({{"group", group}});
}

prometheus::Counter* counter(prometheus::Registry& r, const char* name, const char* help,
                             const std::string& group) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({{"group", group}});
}

prometheus::Histogram* histogram(prometheus::Registry& r, const char* name, const char* help,
                                 const std::string& group) {
  return &prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add(
      {{"group", group}}, metrics::latency_buckets_seconds());
}

/// One child of `family` per value of the label `key` (beside `group`), each stored where its pair
/// points: the families with a small fixed set of label values (reason, kind, result, role).
template <typename Metric>
void add_by_label(prometheus::Family<Metric>& family, const std::string& group, const char* key,
                  std::initializer_list<std::pair<const char*, Metric**>> children) {
  for (const auto& [value, out] : children) *out = &family.Add({{"group", group}, {key, value}});
}

/// Adds what a monotonic source gained since the last look.
void catch_up(prometheus::Counter* c, std::uint64_t now, std::uint64_t& seen) {
  if (now > seen) c->Increment(static_cast<double>(now - seen));
  seen = now;
}

}  // namespace

raft_metrics::raft_metrics(prometheus::Registry& r, group_id group_number,
                           const std::vector<node_id>& peers) {
  const std::string g = std::to_string(group_number);
  has_leader_ = gauge(r, "troupe_raft_has_leader", "1 when this node knows a leader of the group", g);
  is_leader_ = gauge(r, "troupe_raft_is_leader", "1 when this node leads the group", g);
  leader_id_ = gauge(r, "troupe_raft_leader_id", "the leader's node id as this node knows it (0: none)", g);
  role_ = gauge(r, "troupe_raft_role",
                "0 follower, 1 pre_candidate, 2 candidate, 3 leader, 4 learner", g);
  term_ = gauge(r, "troupe_raft_term", "current term", g);
  commit_index_ = gauge(r, "troupe_raft_commit_index", "highest log index known committed", g);
  applied_index_ = gauge(r, "troupe_raft_applied_index", "highest log index applied to the state machine", g);
  pending_ = gauge(r, "troupe_raft_proposals_pending", "proposals waiting for an answer on this node", g);
  leader_changes_ = counter(r, "troupe_raft_leader_changes_total",
                            "times the leader as seen by this node changed", g);
  elections_ = counter(r, "troupe_raft_elections_total", "elections this node started", g);
  committed_ = counter(r, "troupe_raft_proposals_committed_total", "log entries committed", g);
  applied_ = counter(r, "troupe_raft_proposals_applied_total",
                     "commands applied to the state machine", g);
  add_by_label(prometheus::BuildCounter()
                   .Name("troupe_raft_proposals_failed_total")
                   .Help("proposals and reads answered with an error, by reason")
                   .Register(r),
               g, "reason",
               {{"not_leader", &failed_not_leader_},
                {"busy", &failed_busy_},
                {"unavailable", &failed_unavailable_},
                {"outcome_unknown", &failed_outcome_unknown_}});
  add_by_label(prometheus::BuildCounter()
                   .Name("troupe_raft_busy_rejections_total")
                   .Help("requests refused at once by the admission bound, by kind")
                   .Register(r),
               g, "kind", {{"proposal", &busy_proposal_}, {"read", &busy_read_}});
  snapshot_corrupt_ = &metrics::corruption_counter(r, "raft_snapshot");
  malformed_ = counter(r, "troupe_raft_malformed_messages_total",
                       "peer messages ignored because they did not decode as Raft messages of their sender", g);
  append_ = histogram(r, "troupe_raft_append_duration_seconds",
                      "a ready batch's entries and hard state written and committed to the log store", g);
  fsync_ = histogram(r, "troupe_raft_fsync_duration_seconds",
                     "the log store's durable commit (sync) alone", g);
  read_index_ = histogram(r, "troupe_raft_read_index_duration_seconds",
                          "from a read's registration to its read index being known", g);
  auto& lag = prometheus::BuildGauge()
                  .Name("troupe_raft_peer_match_lag_entries")
                  .Help("leader only: the leader's last index minus the peer's match index")
                  .Register(r);
  auto& rtt = prometheus::BuildHistogram()
                  .Name("troupe_raft_peer_round_trip_seconds")
                  .Help("leader only: a heartbeat's round trip to a peer")
                  .Register(r);
  add_by_label(prometheus::BuildCounter()
                   .Name("troupe_raft_snapshots_total")
                   .Help("compaction snapshots of the state machine, by result: saved (then the log was "
                         "compacted), skipped (a newer snapshot was held), failed")
                   .Register(r),
               g, "result",
               {{"saved", &snapshots_saved_}, {"skipped", &snapshots_skipped_}, {"failed", &snapshots_failed_}});
  add_by_label(prometheus::BuildCounter()
                   .Name("troupe_raft_snapshot_installs_total")
                   .Help("InstallSnapshot transfers: sent (started by this leader), received (installed "
                         "and restored on this node)")
                   .Register(r),
               g, "direction", {{"sent", &installs_sent_}, {"received", &installs_received_}});
  snapshot_index_ = gauge(r, "troupe_raft_snapshot_index", "the index of the snapshot the log starts after (0: none)", g);
  snapshot_received_bytes_ = gauge(r, "troupe_raft_snapshot_received_bytes",
                                   "bytes of the snapshot this node is receiving held durably (0: none in flight)", g);
  transfer_size_family_ = &prometheus::BuildGauge()
                               .Name("troupe_raft_peer_snapshot_size_bytes")
                               .Help("leader only: the size of the snapshot being sent to the peer (0: none)")
                               .Register(r);
  transfer_acked_family_ = &prometheus::BuildGauge()
                                .Name("troupe_raft_peer_snapshot_acked_bytes")
                                .Help("leader only: bytes of that snapshot the peer holds durably")
                                .Register(r);
  group_ = g;
  lag_family_ = &lag;
  rtt_family_ = &rtt;
  for (node_id p : peers) ensure_peer(p);
  add_by_label(prometheus::BuildGauge()
                   .Name("troupe_raft_members")
                   .Help("members of the configuration in effect, by role (voter, learner, outgoing: "
                         "a voter of C_old only, while the configuration is joint)")
                   .Register(r),
               g, "role",
               {{"voter", &members_voter_}, {"learner", &members_learner_}, {"outgoing", &members_outgoing_}});
  conf_changes_ = &prometheus::BuildCounter()
                       .Name("troupe_raft_conf_changes_total")
                       .Help("membership change requests this node answered, by result (ok, rejected, busy, "
                             "not_leader, unavailable, outcome_unknown, stopped)")
                       .Register(r);
  conf_changes_->Add({{"group", g}, {"result", "ok"}});
  conf_changes_->Add({{"group", g}, {"result", "rejected"}});
}

void raft_metrics::ensure_peer(node_id p) {
  if (lag_.count(p) != 0) return;
  const std::string ps = std::to_string(p);
  lag_[p] = &lag_family_->Add({{"group", group_}, {"peer", ps}});
  round_trip_[p] = &rtt_family_->Add({{"group", group_}, {"peer", ps}}, metrics::latency_buckets_seconds());
  transfer_size_[p] = &transfer_size_family_->Add({{"group", group_}, {"peer", ps}});
  transfer_acked_[p] = &transfer_acked_family_->Add({{"group", group_}, {"peer", ps}});
}

void raft_metrics::count_conf_change(const char* result) {
  conf_changes_->Add({{"group", group_}, {"result", result}}).Increment();
}

void raft_metrics::update(const driver& d) {
  const node_status& st = d.status();
  has_leader_->Set(st.leader != no_node ? 1 : 0);
  is_leader_->Set(st.role == role::leader ? 1 : 0);
  leader_id_->Set(static_cast<double>(st.leader));
  double role_value = 0;
  switch (st.role) {
    case role::follower: role_value = 0; break;
    case role::pre_candidate: role_value = 1; break;
    case role::candidate: role_value = 2; break;
    case role::leader: role_value = 3; break;
  }
  if (st.learner) role_value = 4;
  role_->Set(role_value);
  std::size_t outgoing = 0;
  for (node_id id : st.membership.voters_outgoing) {
    if (std::find(st.membership.voters.begin(), st.membership.voters.end(), id) == st.membership.voters.end()) ++outgoing;
  }
  members_voter_->Set(static_cast<double>(st.membership.voters.size()));
  members_learner_->Set(static_cast<double>(st.membership.learners.size()));
  members_outgoing_->Set(static_cast<double>(outgoing));
  term_->Set(static_cast<double>(st.term));
  commit_index_->Set(static_cast<double>(st.commit));
  applied_index_->Set(static_cast<double>(st.applied));
  pending_->Set(static_cast<double>(d.pending_proposals()));

  const driver_counters& c = d.counters();
  catch_up(leader_changes_, c.leader_changes, seen_.leader_changes);
  catch_up(elections_, d.core_counters().elections_started, elections_seen_);
  catch_up(committed_, c.entries_committed, seen_.entries_committed);
  catch_up(applied_, c.entries_applied, seen_.entries_applied);
  catch_up(failed_not_leader_, c.failed_not_leader, seen_.failed_not_leader);
  catch_up(failed_busy_, c.failed_busy, seen_.failed_busy);
  catch_up(failed_unavailable_, c.failed_unavailable, seen_.failed_unavailable);
  catch_up(failed_outcome_unknown_, c.failed_outcome_unknown, seen_.failed_outcome_unknown);
  catch_up(busy_proposal_, c.busy_proposals, seen_.busy_proposals);
  catch_up(busy_read_, c.busy_reads, seen_.busy_reads);

  catch_up(snapshots_saved_, c.snapshots_saved, seen_.snapshots_saved);
  catch_up(snapshots_skipped_, c.snapshot_saves_skipped, seen_.snapshot_saves_skipped);
  catch_up(snapshots_failed_, c.snapshot_saves_failed, seen_.snapshot_saves_failed);
  catch_up(installs_received_, c.snapshots_restored, seen_.snapshots_restored);
  catch_up(installs_sent_, d.core_counters().snapshot_sends_started, sends_seen_);
  snapshot_index_->Set(static_cast<double>(st.snapshot_index));
  snapshot_received_bytes_->Set(static_cast<double>(d.snapshot_received_bytes()));

  for (auto& [id, g] : lag_) g->Set(0);
  for (auto& [id, g] : transfer_size_) g->Set(0);
  for (auto& [id, g] : transfer_acked_) g->Set(0);
  for (const auto& p : d.peers()) {
    ensure_peer(p.id);
    auto it = lag_.find(p.id);
    it->second->Set(static_cast<double>(st.last_index > p.match ? st.last_index - p.match : 0));
    transfer_size_[p.id]->Set(static_cast<double>(p.snapshot_size));
    transfer_acked_[p.id]->Set(static_cast<double>(p.snapshot_acked));
  }
}

void raft_metrics::observe_append_seconds(double s) { append_->Observe(s); }
void raft_metrics::count_malformed() { malformed_->Increment(); }
void raft_metrics::count_snapshot_corrupt() { snapshot_corrupt_->Increment(); }
void raft_metrics::observe_fsync_seconds(double s) { fsync_->Observe(s); }
void raft_metrics::observe_read_index_seconds(double s) { read_index_->Observe(s); }
void raft_metrics::observe_peer_round_trip_seconds(node_id peer, double s) {
  if (auto it = round_trip_.find(peer); it != round_trip_.end()) it->second->Observe(s);
}

}  // namespace troupe::raft
