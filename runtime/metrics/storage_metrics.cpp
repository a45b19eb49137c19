#include "runtime/metrics/storage_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "runtime/metrics/buckets.hpp"

namespace troupe::metrics {

storage_metrics::storage_metrics(prometheus::Registry& registry, const std::string& db) {
  auto& commit = prometheus::BuildHistogram()
                     .Name("troupe_storage_commit_duration_seconds")
                     .Help("Duration of SQLite write transactions, BEGIN to durable COMMIT")
                     .Register(registry);
  auto& commits = prometheus::BuildCounter()
                      .Name("troupe_storage_commits_total")
                      .Help("SQLite write transactions attempted, by result")
                      .Register(registry);
  auto& checkpoint = prometheus::BuildHistogram()
                         .Name("troupe_storage_wal_checkpoint_duration_seconds")
                         .Help("Duration of background passive WAL checkpoints")
                         .Register(registry);
  auto& checkpoint_failures = prometheus::BuildCounter()
                                  .Name("troupe_storage_wal_checkpoint_failures_total")
                                  .Help("Background WAL checkpoints that failed")
                                  .Register(registry);
  commit_duration_ = &commit.Add({{"db", db}}, latency_buckets_seconds());
  commits_ok_ = &commits.Add({{"db", db}, {"result", "ok"}});
  commits_failed_ = &commits.Add({{"db", db}, {"result", "error"}});
  checkpoint_duration_ = &checkpoint.Add({{"db", db}}, latency_buckets_seconds());
  checkpoint_failures_ = &checkpoint_failures.Add({{"db", db}});
}

void storage_metrics::observe_commit(double duration_seconds, bool ok) {
  commit_duration_->Observe(duration_seconds);
  (ok ? commits_ok_ : commits_failed_)->Increment();
}

std::function<void(const storage::commit_report&)> storage_metrics::on_commit() {
  return [this](const storage::commit_report& r) { observe_commit(r.duration_seconds, r.ok); };
}

std::function<void(const storage::checkpoint_report&)> storage_metrics::on_checkpoint() {
  return [this](const storage::checkpoint_report& r) {
    checkpoint_duration_->Observe(r.duration_seconds);
    if (!r.outcome.ok()) checkpoint_failures_->Increment();
  };
}

}  // namespace troupe::metrics
