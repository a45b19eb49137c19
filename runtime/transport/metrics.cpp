#include "runtime/transport/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace troupe::transport {

struct transport_metrics::families {
  prometheus::Family<prometheus::Counter>& sent_bytes;
  prometheus::Family<prometheus::Counter>& sent_messages;
  prometheus::Family<prometheus::Counter>& received_bytes;
  prometheus::Family<prometheus::Counter>& received_messages;
  prometheus::Family<prometheus::Counter>& dropped;
  prometheus::Family<prometheus::Counter>& busy;
  prometheus::Family<prometheus::Gauge>& state;
  prometheus::Family<prometheus::Counter>& reconnects;
  prometheus::Family<prometheus::Counter>& retransmits;
  prometheus::Family<prometheus::Counter>& lost;
  prometheus::Family<prometheus::Counter>& refusals;
  prometheus::Family<prometheus::Counter>& malformed;
  prometheus::Family<prometheus::Counter>& accepted;
  prometheus::Family<prometheus::Gauge>& clients;
  prometheus::Family<prometheus::Gauge>& max_clients;

  explicit families(prometheus::Registry& r)
      : sent_bytes(counter(r, "troupe_transport_sent_bytes_total",
                           "Bytes of frames written to a peer, by lane (headers included).")),
        sent_messages(counter(r, "troupe_transport_sent_messages_total",
                              "Messages written to a peer, by lane (retransmissions included).")),
        received_bytes(counter(r, "troupe_transport_received_bytes_total",
                               "Bytes of frames received from a peer, by lane.")),
        received_messages(counter(r, "troupe_transport_received_messages_total",
                                  "Messages received from a peer and delivered, by lane.")),
        dropped(counter(r, "troupe_transport_dropped_messages_total",
                        "Raft-lane messages dropped: queue full or connection broke (Raft retries).")),
        busy(counter(r, "troupe_transport_busy_total",
                     "Sends refused with busy because the lane's queue was full.")),
        state(prometheus::BuildGauge()
                  .Name("troupe_transport_connection_state")
                  .Help("Connection to a peer: 0 disconnected, 1 connecting, 2 handshaking, 3 up.")
                  .Register(r)),
        reconnects(counter(r, "troupe_transport_reconnects_total",
                           "Connections to a peer established after the first one.")),
        retransmits(counter(r, "troupe_transport_retransmitted_messages_total",
                            "Application messages sent again after a reconnect.")),
        lost(counter(r, "troupe_transport_lost_messages_total",
                     "Application messages reported lost to their sender (peer restarted).")),
        refusals(counter(r, "troupe_transport_handshake_refusals_total",
                         "Handshakes refused, by reason.")),
        malformed(counter(r, "troupe_transport_malformed_frames_total",
                          "Connections closed because of a malformed, oversized or unexpected frame.")),
        accepted(counter(r, "troupe_transport_accepted_connections_total",
                         "TCP connections accepted on the listen address.")),
        clients(prometheus::BuildGauge()
                    .Name("troupe_transport_client_connections")
                    .Help("Client connections established (handshake done) and still open.")
                    .Register(r)),
        max_clients(prometheus::BuildGauge()
                        .Name("troupe_transport_max_client_connections")
                        .Help("The bound on established client connections (max_clients); more "
                              "are refused with too_many_clients.")
                        .Register(r)) {}

  static prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& r, const char* name,
                                                          const char* help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(r);
  }
};

transport_metrics::transport_metrics(prometheus::Registry* registry) {
  if (registry != nullptr) {
    f_ = std::make_unique<families>(*registry);
    accepted_ = &f_->accepted.Add({});
    clients_ = &f_->clients.Add({});
    max_clients_ = &f_->max_clients.Add({});
  }
}

transport_metrics::~transport_metrics() = default;

peer_metrics& transport_metrics::peer(const std::string& peer) {
  auto [it, added] = peers_.try_emplace(peer);
  if (!added || !f_)
    return it->second;
  auto& m = it->second;
  for (std::size_t i = 0; i < lane_count; ++i) {
    const prometheus::Labels labels{{"peer", peer},
                                    {"lane", std::string(to_string(static_cast<lane>(i)))}};
    m.sent_bytes[i] = &f_->sent_bytes.Add(labels);
    m.sent_messages[i] = &f_->sent_messages.Add(labels);
    m.received_bytes[i] = &f_->received_bytes.Add(labels);
    m.received_messages[i] = &f_->received_messages.Add(labels);
    m.dropped[i] = &f_->dropped.Add(labels);
    m.busy[i] = &f_->busy.Add(labels);
  }
  // Clients share one label for their traffic counters; one state gauge for many connections would
  // show only the latest, so clients are counted by client_connections instead.
  if (peer != client_label) m.state = &f_->state.Add({{"peer", peer}});
  m.reconnects = &f_->reconnects.Add({{"peer", peer}});
  m.retransmits = &f_->retransmits.Add({{"peer", peer}});
  m.lost = &f_->lost.Add({{"peer", peer}});
  return m;
}

void transport_metrics::handshake_refused(std::string_view reason) {
  if (!f_)
    return;
  auto it = refusals_.find(reason);
  if (it == refusals_.end())
    it = refusals_.emplace(std::string(reason), &f_->refusals.Add({{"reason", std::string(reason)}}))
             .first;
  it->second->Increment();
}

void transport_metrics::malformed_frame(std::string_view kind) {
  if (!f_)
    return;
  auto it = malformed_.find(kind);
  if (it == malformed_.end())
    it = malformed_.emplace(std::string(kind), &f_->malformed.Add({{"connection", std::string(kind)}}))
             .first;
  it->second->Increment();
}

void transport_metrics::connection_accepted() { add(accepted_, 1); }

void transport_metrics::set_client_connections(std::size_t n) {
  set(clients_, static_cast<double>(n));
}

void transport_metrics::set_max_client_connections(std::size_t n) {
  set(max_clients_, static_cast<double>(n));
}

void transport_metrics::add(prometheus::Counter* c, double v) {
  if (c != nullptr)
    c->Increment(v);
}

void transport_metrics::set(prometheus::Gauge* g, double v) {
  if (g != nullptr)
    g->Set(v);
}

}  // namespace troupe::transport
