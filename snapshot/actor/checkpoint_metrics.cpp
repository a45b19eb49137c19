#include "snapshot/actor/checkpoint_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "runtime/metrics/buckets.hpp"
#include "runtime/metrics/corruption_metric.hpp"

namespace troupe::checkpoint::actor {

checkpoint_metrics::checkpoint_metrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  corrupt_ = &metrics::corruption_counter(*registry, "checkpoint");
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

std::function<void(const error&)> checkpoint_metrics::on_corrupt() {
  return [counter = corrupt_](const error&) {
    if (counter != nullptr) counter->Increment();
  };
}

void checkpoint_metrics::aborted(checkpoint_status reason, std::size_t in_flight) {
  count_aborted(std::string(to_string(reason)), in_flight);
}

void checkpoint_metrics::aborted_not_stored(std::size_t in_flight) {
  count_aborted("not_stored", in_flight);
}

void checkpoint_metrics::count_aborted(const std::string& reason, std::size_t in_flight) {
  if (aborted_ == nullptr) return;
  aborted_->Add({{"reason", reason}}).Increment();
  in_progress_->Set(static_cast<double>(in_flight));
}

host_flow_metrics::host_flow_metrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  queued_ = &prometheus::BuildGauge()
                 .Name("troupe_checkpoint_flow_queued_messages")
                 .Help("Frames the participant host holds back until the transport's window opens")
                 .Register(*registry)
                 .Add({});
  held_ = &prometheus::BuildCounter()
               .Name("troupe_checkpoint_flow_held_total")
               .Help("Frames the participant host held back because a peer's window was full")
               .Register(*registry)
               .Add({});
  refused_ = &prometheus::BuildCounter()
                  .Name("troupe_checkpoint_flow_refused_total")
                  .Help("Application sends refused (busy) because the host's queue to a peer is full")
                  .Register(*registry)
                  .Add({});
  paused_ = &prometheus::BuildCounter()
                 .Name("troupe_checkpoint_flow_paused_ticks_total")
                 .Help("Participants' ticks skipped because frames wait for the transport's window")
                 .Register(*registry)
                 .Add({});
  lost_ = &prometheus::BuildCounter()
               .Name("troupe_checkpoint_frames_lost_total")
               .Help("Checkpoint-lane frames the transport did not deliver, by reason")
               .Register(*registry);
}

void host_flow_metrics::queued(std::size_t frames) {
  if (queued_ != nullptr) queued_->Set(static_cast<double>(frames));
}

void host_flow_metrics::held(std::size_t frames) {
  if (held_ != nullptr && frames > 0) held_->Increment(static_cast<double>(frames));
}

void host_flow_metrics::refused() {
  if (refused_ != nullptr) refused_->Increment();
}

void host_flow_metrics::paused_tick() {
  if (paused_ != nullptr) paused_->Increment();
}

void host_flow_metrics::lost(const std::string& reason) {
  if (lost_ != nullptr) lost_->Add({{"reason", reason}}).Increment();
}

}  // namespace troupe::checkpoint::actor
