#pragma once
/// Prometheus metrics for one SQLite database of the storage layer. Storage itself does not depend
/// on Prometheus (runtime/storage/README.md): it reports through callbacks, and this adapter turns
/// them into families labelled with the database's role (`db="node"`, `db="raft_log"`, ...):
///
///   troupe_storage_commit_duration_seconds{db}          histogram: BEGIN .. COMMIT incl. fsync
///   troupe_storage_commits_total{db,result}             counter: result = ok | error
///   troupe_storage_wal_checkpoint_duration_seconds{db}  histogram: background passive checkpoints
///   troupe_storage_wal_checkpoint_failures_total{db}    counter
///
/// Thread-safety: the callbacks may run on any thread (the durable writer's, the checkpointer's);
/// prometheus-cpp metrics are thread-safe. The registry must outlive every callback.

#include <functional>
#include <string>

#include "runtime/storage/durable_writer.hpp"
#include "runtime/storage/options.hpp"

namespace prometheus {
class Registry;
class Counter;
class Histogram;
}  // namespace prometheus

namespace troupe::metrics {

class storage_metrics {
 public:
  storage_metrics(prometheus::Registry& registry, const std::string& db);

  /// Records one commit attempt.
  void observe_commit(double duration_seconds, bool ok);

  /// For `storage::writer_options::on_commit`.
  std::function<void(const storage::commit_report&)> on_commit();
  /// For `storage::options::on_checkpoint`.
  std::function<void(const storage::checkpoint_report&)> on_checkpoint();

 private:
  prometheus::Histogram* commit_duration_;
  prometheus::Counter* commits_ok_;
  prometheus::Counter* commits_failed_;
  prometheus::Histogram* checkpoint_duration_;
  prometheus::Counter* checkpoint_failures_;
};

}  // namespace troupe::metrics
