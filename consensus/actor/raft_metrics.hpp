#pragma once
/// The troupe_raft_* families of one group (docs/metrics.md), fed by the raft actor from the
/// driver's counters and status after each mailbox message. No CAF.
///
/// Thread-safety: prometheus metrics are thread-safe; `update` is called by one owner (the raft
/// actor); the storage thread only calls `observe_*` histograms.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "consensus/actor/driver.hpp"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace troupe::raft {

class raft_metrics {
 public:
  /// Registers every family in `registry` (which must outlive this object) with label
  /// group=<group>, and every per-peer child for `peers` (the other voters), so a scrape shows them
  /// from the start.
  raft_metrics(prometheus::Registry& registry, group_id group, const std::vector<node_id>& peers);

  /// Brings gauges and counters up to date with the driver.
  void update(const driver& d);

  void observe_append_seconds(double s);
  void observe_fsync_seconds(double s);
  void observe_read_index_seconds(double s);
  void observe_peer_round_trip_seconds(node_id peer, double s);
  /// A peer message that did not decode as a Raft message of its sender (ignored).
  void count_malformed();
  /// A snapshot chunk read back corrupt while sending it to a follower (sqlite_snapshot_source):
  /// troupe_storage_corruption_detected_total{store="raft_snapshot"}. Safe on any thread.
  void count_snapshot_corrupt();
  /// A membership change request answered with `result` (outcome_code's name).
  void count_conf_change(const char* result);

 private:
  prometheus::Gauge* has_leader_;
  prometheus::Gauge* is_leader_;
  prometheus::Gauge* leader_id_;
  prometheus::Gauge* role_;
  prometheus::Gauge* term_;
  prometheus::Gauge* commit_index_;
  prometheus::Gauge* applied_index_;
  prometheus::Gauge* pending_;
  prometheus::Counter* leader_changes_;
  prometheus::Counter* elections_;
  prometheus::Counter* committed_;
  prometheus::Counter* applied_;
  prometheus::Counter* failed_not_leader_;
  prometheus::Counter* failed_busy_;
  prometheus::Counter* failed_unavailable_;
  prometheus::Counter* failed_outcome_unknown_;
  prometheus::Counter* busy_proposal_;
  prometheus::Counter* busy_read_;
  prometheus::Counter* malformed_;
  prometheus::Counter* snapshot_corrupt_;
  // snapshots (Raft §7)
  prometheus::Counter* snapshots_saved_;
  prometheus::Counter* snapshots_skipped_;
  prometheus::Counter* snapshots_failed_;
  prometheus::Counter* installs_sent_;
  prometheus::Counter* installs_received_;
  prometheus::Gauge* snapshot_index_;
  prometheus::Gauge* snapshot_received_bytes_;
  prometheus::Family<prometheus::Gauge>* transfer_size_family_;
  prometheus::Family<prometheus::Gauge>* transfer_acked_family_;
  std::map<node_id, prometheus::Gauge*> transfer_size_;
  std::map<node_id, prometheus::Gauge*> transfer_acked_;
  std::uint64_t sends_seen_ = 0;
  prometheus::Histogram* append_;
  prometheus::Histogram* fsync_;
  prometheus::Histogram* read_index_;
  /// Per-peer children are added as members join (the configuration changes at run time).
  void ensure_peer(node_id p);

  std::string group_;
  prometheus::Family<prometheus::Gauge>* lag_family_;
  prometheus::Family<prometheus::Histogram>* rtt_family_;
  prometheus::Family<prometheus::Counter>* conf_changes_;
  prometheus::Gauge* members_voter_;
  prometheus::Gauge* members_learner_;
  prometheus::Gauge* members_outgoing_;
  std::map<node_id, prometheus::Gauge*> lag_;
  std::map<node_id, prometheus::Histogram*> round_trip_;

  driver_counters seen_;
  std::uint64_t elections_seen_ = 0;
};

}  // namespace troupe::raft
