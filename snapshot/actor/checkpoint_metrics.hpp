#pragma once
/// The coordinator's Prometheus metrics (docs/metrics.md, `troupe_checkpoint_*`). A plain class so
/// that the coordinator actor's translation unit stays small. Null registry: every call is a no-op.
/// Thread-safety: one writer (the coordinator actor); scrapes read concurrently (prometheus-cpp).

#include <cstddef>
#include <functional>
#include <map>
#include <string>

#include "runtime/base/result.hpp"
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
  /// A complete checkpoint whose save failed (the store's error; after a failed fsync, every later
  /// one): counted under reason "not_stored".
  void aborted_not_stored(std::size_t in_flight);
  /// For store_thread's `on_corrupt`: counts `troupe_storage_corruption_detected_total{store=
  /// "checkpoint"}`. Safe on any thread (it only increments a prometheus-cpp counter).
  std::function<void(const error&)> on_corrupt();

 private:
  void count_aborted(const std::string& reason, std::size_t in_flight);
  prometheus::Counter* corrupt_ = nullptr;
  prometheus::Counter* started_ = nullptr;
  prometheus::Counter* completed_ = nullptr;
  prometheus::Family<prometheus::Counter>* aborted_ = nullptr;
  prometheus::Histogram* duration_ = nullptr;
  prometheus::Counter* written_bytes_ = nullptr;
  prometheus::Counter* recorded_messages_ = nullptr;
  prometheus::Gauge* in_progress_ = nullptr;
};

/// The participant host's flow-control metrics (docs/metrics.md, participant_host.hpp
/// "back-pressure"). Null registry: no-ops. One writer (the host actor).
class host_flow_metrics {
 public:
  explicit host_flow_metrics(prometheus::Registry* registry);

  /// Frames waiting in the host for the transport's window, over every peer.
  void queued(std::size_t frames);
  /// Frames that had to wait in the host because the peer's window was full.
  void held(std::size_t frames);
  void refused();
  void paused_tick();
  /// A frame the transport did not deliver (`reason`: busy or a delivery_failed reason).
  void lost(const std::string& reason);

 private:
  prometheus::Gauge* queued_ = nullptr;
  prometheus::Counter* held_ = nullptr;
  prometheus::Counter* refused_ = nullptr;
  prometheus::Counter* paused_ = nullptr;
  prometheus::Family<prometheus::Counter>* lost_ = nullptr;
};

}  // namespace troupe::checkpoint::actor
