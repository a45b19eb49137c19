#pragma once
/// The transport's Prometheus metrics (names per DESIGN.md section 7: `troupe_` prefix, base units,
/// `_total` on counters). One instance per broker; every method is called from the broker's thread,
/// while prometheus-cpp's counters and gauges are themselves safe to scrape from any thread.
/// Without a registry every method is a no-op, so call sites need no branches.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/transport/lane.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
template <class T>
class Family;
}  // namespace prometheus

namespace troupe::transport {

/// Counters for one peer, resolved once so the hot path does no label lookups.
struct peer_metrics {
  std::array<prometheus::Counter*, lane_count> sent_bytes{};
  std::array<prometheus::Counter*, lane_count> sent_messages{};
  std::array<prometheus::Counter*, lane_count> received_bytes{};
  std::array<prometheus::Counter*, lane_count> received_messages{};
  std::array<prometheus::Counter*, lane_count> dropped{};  ///< Raft lanes: dropped when full or on a break
  std::array<prometheus::Counter*, lane_count> busy{};     ///< refused with `busy`
  prometheus::Gauge* state = nullptr;                      ///< connection_state as a number
  prometheus::Counter* reconnects = nullptr;
  prometheus::Counter* retransmits = nullptr;
  prometheus::Counter* lost = nullptr;  ///< application messages reported lost (peer restarted)
};

class transport_metrics {
 public:
  /// `registry` may be null (metrics off). It must outlive this object.
  explicit transport_metrics(prometheus::Registry* registry);
  ~transport_metrics();
  transport_metrics(const transport_metrics&) = delete;
  transport_metrics& operator=(const transport_metrics&) = delete;

  /// The label all client connections share: their traffic is counted together.
  static constexpr const char* client_label = "client";

  /// Counters for `peer` (`client_label` for client connections, which get no state gauge),
  /// created on first use.
  peer_metrics& peer(const std::string& peer);

  void handshake_refused(std::string_view reason);
  void malformed_frame(std::string_view kind);  ///< kind: "peer", "client", "unknown"
  void connection_accepted();
  /// troupe_transport_client_connections: client sessions established and still open.
  void set_client_connections(std::size_t n);
  /// troupe_transport_max_client_connections: the configured bound (limits::max_clients).
  void set_max_client_connections(std::size_t n);

  static void add(prometheus::Counter* c, double v);
  static void set(prometheus::Gauge* g, double v);

 private:
  struct families;
  std::unique_ptr<families> f_;
  std::map<std::string, peer_metrics> peers_;
  std::map<std::string, prometheus::Counter*, std::less<>> refusals_;
  std::map<std::string, prometheus::Counter*, std::less<>> malformed_;
  prometheus::Counter* accepted_ = nullptr;
  prometheus::Gauge* clients_ = nullptr;
  prometheus::Gauge* max_clients_ = nullptr;
};

}  // namespace troupe::transport
