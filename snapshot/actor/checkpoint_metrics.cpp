#include "snapshot/actor/checkpoint_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "runtime/metrics/buckets.hpp"

namespace troupe::checkpoint::actor {

checkpoint_metrics::checkpoint_metrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  started_ = &prometheus::BuildCounter()
                  .Name("troupe_checkpoint_started_total")
                  .Help("Checkpoints the coordinator started")
                  .Register(*registry)
                  .Add({});
  completed_ = &prometheus::BuildCounter()
                    .Name("troupe_checkpoint_completed_total")
                    .Help("Checkpoints complete and stored")
                    .Register(*registry)
                    .Add({});
  aborted_ = &prometheus::BuildCounter()
                  .Name("troupe_checkpoint_aborted_total")
                  .Help("Checkpoints aborted, by reason (checkpoint status)")
                  .Register(*registry);
  duration_ = &prometheus::BuildHistogram()
                   .Name("troupe_checkpoint_duration_seconds")
                   .Help("From a checkpoint's start to its global state stored")
                   .Register(*registry)
                   .Add({}, metrics::latency_buckets_seconds());
  written_bytes_ = &prometheus::BuildCounter()
                        .Name("troupe_checkpoint_written_bytes_total")
                        .Help("Bytes of local states and recorded messages of stored checkpoints")
                        .Register(*registry)
                        .Add({});
  recorded_messages_ = &prometheus::BuildCounter()
                            .Name("troupe_checkpoint_recorded_messages_total")
                            .Help("In-flight messages recorded as channel state of stored checkpoints")
                            .Register(*registry)
                            .Add({});
  in_progress_ = &prometheus::BuildGauge()
                      .Name("troupe_checkpoint_in_progress")
                      .Help("Checkpoints started and not yet complete or aborted")
                      .Register(*registry)
                      .Add({});
}

void checkpoint_metrics::started(std::size_t in_flight) {
  if (started_ == nullptr) return;
  started_->Increment();
  in_progress_->Set(static_cast<double>(in_flight));
}

void checkpoint_metrics::completed(double duration_seconds, std::size_t bytes,
                                   std::size_t messages, std::size_t in_flight) {
  if (completed_ == nullptr) return;
  completed_->Increment();
  duration_->Observe(duration_seconds);
  written_bytes_->Increment(static_cast<double>(bytes));
  recorded_messages_->Increment(static_cast<double>(messages));
  in_progress_->Set(static_cast<double>(in_flight));
}

void checkpoint_metrics::aborted(checkpoint_status reason, std::size_t in_flight) {
  if (aborted_ == nullptr) return;
  aborted_->Add({{"reason", to_string(reason)}}).Increment();
  in_progress_->Set(static_cast<double>(in_flight));
}

}  // namespace troupe::checkpoint::actor
