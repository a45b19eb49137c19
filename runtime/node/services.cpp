#include "runtime/node/services.hpp"

#include <capnp/message.h>
#include <kj/exception.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <map>

#include "runtime/client/connection.hpp"
#include "runtime/metrics/buckets.hpp"
#include "runtime/transport/transport.hpp"
#include "runtime/wire/client_codec.hpp"
#include "runtime/wire/node.capnp.h"

namespace troupe::node {

namespace {

using probe_tick_atom = caf::atom_constant<caf::atom("nd_ptick")>;
constexpr const char* probe_endpoint = "probe";

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct probe_fields {
  std::uint64_t from = 0;
  std::uint64_t sequence = 0;
  std::int64_t sent_at_ns = 0;
  bool is_reply = false;
};

wire::message encode_probe(const probe_fields& p) {
  capnp::MallocMessageBuilder b(16);
  auto root = b.initRoot<wire::schema::NodeProbe>();
  root.setFromNode(p.from);
  root.setSequence(p.sequence);
  root.setSentAtNs(p.sent_at_ns);
  root.setIsReply(p.is_reply);
  return wire::message::from_builder(b);
}

result<probe_fields> decode_probe(const wire::message& m) {
  // The message was validated structurally at the edge, but not against this schema: a root that
  // is not a struct makes Cap'n Proto throw, and nothing may throw inside an actor.
  try {
    auto r = m.root<wire::schema::NodeProbe>();
    probe_fields p{r.getFromNode(), r.getSequence(), r.getSentAtNs(), r.getIsReply()};
    if (p.from == 0) return make_error(errc::malformed, "probe without a sender");
    return p;
  } catch (const kj::Exception& e) {
    return make_error(errc::malformed, std::string("probe: ") + e.getDescription().cStr());
  }
}

// ---- probe ---------------------------------------------------------------------------------------

struct peer_probe_metrics {
  prometheus::Histogram* round_trip = nullptr;
  prometheus::Counter* sent = nullptr;
  prometheus::Counter* failed = nullptr;
};

struct probe_state {
  services_config config;
  std::map<std::uint64_t, peer_probe_metrics> peers;
  std::map<std::uint64_t, std::uint64_t> next_sequence;
  std::uint64_t next_message_id = 1;
  static inline const char* name = "troupe.node.probe";
};

caf::behavior probe_actor(caf::stateful_actor<probe_state>* self, services_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  auto& rtt = prometheus::BuildHistogram()
                  .Name("troupe_node_probe_round_trip_seconds")
                  .Help("Round trip of a probe between this node's probe actor and a peer's, "
                        "through both transports (application lane)")
                  .Register(*st.config.registry);
  auto& sent = prometheus::BuildCounter()
                   .Name("troupe_node_probes_sent_total")
                   .Help("Probes sent to a peer's probe actor")
                   .Register(*st.config.registry);
  auto& failed = prometheus::BuildCounter()
                     .Name("troupe_node_probe_failures_total")
                     .Help("Probes the transport reported lost or refused as busy")
                     .Register(*st.config.registry);
  for (auto& m : st.config.members) {
    if (m.id == st.config.self) continue;
    auto peer = std::to_string(m.id);
    st.peers[m.id] = {&rtt.Add({{"peer", peer}}, metrics::latency_buckets_seconds()),
                      &sent.Add({{"peer", peer}}), &failed.Add({{"peer", peer}})};
  }
  self->send(self, probe_tick_atom::value);
  return {
      [=](probe_tick_atom) {
        auto& s = self->state;
        for (auto& [peer, metrics] : s.peers) {
          probe_fields p{s.config.self, ++s.next_sequence[peer], mono_ns(), false};
          self->send(s.config.transport,
                     transport::outbound{peer, probe_endpoint, probe_endpoint,
                                         transport::lane::application, s.next_message_id++,
                                         encode_probe(p)});
          metrics.sent->Increment();
        }
        self->delayed_send(self, s.config.probe_interval, probe_tick_atom::value);
      },
      [=](transport::delivery& d) {
        auto& s = self->state;
        auto p = decode_probe(d.payload);
        if (!p || p->from != (p->is_reply ? s.config.self : d.source_node)) {
          if (s.config.log) {
            s.config.log(log_level::warn, "probe",
                         "ignoring a malformed probe from node " + std::to_string(d.source_node));
          }
          return;
        }
        if (!p->is_reply) {
          p->is_reply = true;
          self->send(s.config.transport,
                     transport::outbound{d.source_node, probe_endpoint, probe_endpoint,
                                         transport::lane::application, s.next_message_id++,
                                         encode_probe(*p)});
          return;
        }
        if (auto it = s.peers.find(d.source_node); it != s.peers.end()) {
          it->second.round_trip->Observe(static_cast<double>(mono_ns() - p->sent_at_ns) / 1e9);
        }
      },
      [=](transport::delivery_failed& f) {
        if (auto it = self->state.peers.find(f.destination_node); it != self->state.peers.end()) {
          it->second.failed->Increment();
        }
      },
      [=](transport::busy& b) {
        if (auto it = self->state.peers.find(b.destination_node); it != self->state.peers.end()) {
          it->second.failed->Increment();
        }
      },
  };
}

// ---- client service ------------------------------------------------------------------------------

struct client_service_state {
  services_config config;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  static inline const char* name = "troupe.node.client_service";
};

const char* kind_of(const wire::client_request& r) {
  switch (r.body.index()) {
    case 0: return "put";
    case 1: return "get";
    case 2: return "cas";
    case 3: return "del";
    case 4: return "ping";
    case 5: return "status";
  }
  return "unknown";
}

wire::client_reply answer(const services_config& config, const wire::client_request& request) {
  wire::client_reply reply;
  reply.client_id = request.client_id;
  reply.sequence = request.sequence;
  if (auto* p = std::get_if<wire::ping>(&request.body)) {
    reply.body = wire::pong{p->nonce};
  } else if (std::holds_alternative<wire::status_query>(request.body)) {
    wire::status_info info;
    info.node_id = config.self;
    info.role = wire::raft_role::unknown;  // no consensus group runs on this node yet
    for (auto& m : config.members) info.members.push_back({m.id, m.address});
    reply.body = std::move(info);
  } else {
    reply.error = wire::client_error::unavailable;
    reply.error_message = "this node runs no key-value service";
  }
  return reply;
}

caf::behavior client_service_actor(caf::stateful_actor<client_service_state>* self,
                                   services_config config) {
  self->state.config = std::move(config);
  self->state.requests = &prometheus::BuildCounter()
                              .Name("troupe_client_requests_total")
                              .Help("Client requests received, by kind and outcome")
                              .Register(*self->state.config.registry);
  return {
      [=](transport::client_request& r) {
        auto& s = self->state;
        auto request = wire::decode_client_request(r.payload);
        wire::client_reply reply;
        std::string kind = "unknown";
        if (!request) {
          // We cannot know the sequence it had: answer with 0, the client sees invalid_request.
          reply.error = wire::client_error::invalid_request;
          reply.error_message = request.err().message;
        } else {
          kind = kind_of(*request);
          reply = answer(s.config, *request);
        }
        s.requests->Add({{"kind", kind}, {"result", wire::to_string(reply.error)}}).Increment();
        self->send(s.config.transport, transport::client_reply{r.client, wire::encode(reply)});
      },
  };
}

}  // namespace

std::vector<caf::actor> spawn_services(caf::actor_system& system, const services_config& config) {
  auto probe = system.spawn(probe_actor, config);
  auto clients = system.spawn(client_service_actor, config);
  caf::anon_send(config.transport, transport::register_atom::value, std::string(probe_endpoint),
                 probe);
  caf::anon_send(config.transport, transport::register_atom::value,
                 std::string(transport::client_service_endpoint), clients);
  return {probe, clients};
}

}  // namespace troupe::node
