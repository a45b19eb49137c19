#pragma once
/// The coordinator's Prometheus metrics (docs/metrics.md, `troupe_checkpoint_*`). A plain class so
/// that the coordinator actor's translation unit stays small. Null registry: every call is a no-op.
/// Thread-safety: one writer (the coordinator actor); scrapes read concurrently (prometheus-cpp).

#include <cstddef>
#include <map>
#include <string>

#include "snapshot/core/message.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <class T>
class Family;
}  // namespace prometheus

namespace troupe::checkpoint::actor {

class checkpoint_metrics {
 public:
  explicit checkpoint_metrics(prometheus::Registry* registry);

  void started(std::size_t in_flight);
  void completed(double duration_seconds, std::size_t bytes, std::size_t messages,
                 std::size_t in_flight);
  void aborted(checkpoint_status reason, std::size_t in_flight);

 private:
  prometheus::Counter* started_ = nullptr;
  prometheus::Counter* completed_ = nullptr;
  prometheus::Family<prometheus::Counter>* aborted_ = nullptr;
  prometheus::Histogram* duration_ = nullptr;
  prometheus::Counter* written_bytes_ = nullptr;
  prometheus::Counter* recorded_messages_ = nullptr;
  prometheus::Gauge* in_progress_ = nullptr;
};

}  // namespace troupe::checkpoint::actor
