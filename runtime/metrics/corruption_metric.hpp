#pragma once
/// `troupe_storage_corruption_detected_total{store}` (docs/metrics.md): stored data that failed its
/// checksum or integrity check (errc::corrupt) found by a process that keeps running, counted where
/// it is found. `store` names what was read: `checkpoint` (the checkpoint store, read for list,
/// show, export and restore), `raft_snapshot` (a Raft snapshot read back to send to a follower).
/// A node that finds its Raft log corrupt refuses to start instead (DESIGN.md 4): no counter then.
///
/// Every component registers the family on the node's one registry under the same name and help;
/// prometheus-cpp's default Registry (InsertBehavior::Merge) hands back the existing family.
/// Thread-safety: prometheus-cpp counters are thread-safe; the registry must outlive the counter.

#include <string>

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

namespace troupe::metrics {

/// The counter of `store`, created at 0 on first use.
prometheus::Counter& corruption_counter(prometheus::Registry& registry, const std::string& store);

}  // namespace troupe::metrics
