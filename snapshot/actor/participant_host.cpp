#include "snapshot/actor/participant_host.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <memory>
#include <random>
#include <string>

#include "runtime/transport/transport.hpp"

namespace troupe::checkpoint::actor {

namespace {

using tick_atom = caf::atom_constant<caf::atom("ck_htick")>;
using hello_atom = caf::atom_constant<caf::atom("ck_hello")>;

/// How often a host repeats host_ready until the coordinator answers with start_traffic.
constexpr std::chrono::milliseconds hello_interval{100};

struct host_state {
  std::unique_ptr<channel::channel_layer> layer;
  host_config config;
  std::uint64_t next_message_id = 1;
  std::map<std::uint64_t, std::uint64_t> backlog;  ///< per peer node, from the last status poll
  std::uint64_t ticks_skipped = 0;
  static inline const char* name = "troupe.checkpoint.host";
};

using host_actor = caf::stateful_actor<host_state>;

void log(const host_state& st, log_level level, const std::string& text) {
  if (st.config.log) st.config.log(level, "checkpoint", text);
}

/// Sends every frame the layer produced, in order.
void flush(host_actor* self) {
  auto& st = self->state;
  const auto me = st.config.layer.self;
  for (auto& f : st.layer->take_outbox()) {
    if (f.node == me && f.endpoint == channel::host_endpoint) {
      // To a participant on this node: through our own mailbox, which keeps the channel's order.
      self->send(self, transport::delivery{me, std::string(channel::host_endpoint),
                                           std::string(channel::host_endpoint),
                                           transport::lane::application, std::move(f.frame)});
    } else {
      self->send(st.config.transport,
                 transport::outbound{f.node, std::string(f.endpoint),
                                     std::string(channel::host_endpoint),
                                     transport::lane::application, st.next_message_id++,
                                     std::move(f.frame)});
    }
  }
}

void lost(host_actor* self, std::uint64_t node, const std::string& why) {
  log(self->state, log_level::error,
      "frames to node " + std::to_string(node) + " lost (" + why +
          "): checkpoints in flight abort; application messages on those channels are gone");
  self->state.layer->on_peer_lost(node);
  flush(self);
}

caf::behavior host(host_actor* self, host_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  if (st.config.layer.instance == 0) {
    std::random_device rd;
    st.config.layer.instance = (std::uint64_t{rd()} << 32) | rd() | 1;
  }
  st.layer = std::make_unique<channel::channel_layer>(st.config.layer);
  auto* layer = st.layer.get();
  for (auto id : st.config.layer.members.on_node(st.config.layer.self)) {
    send_fn send = [layer, id](participant_id to, bytes payload) {
      return layer->send(id, to, std::move(payload));
    };
    if (auto added = layer->add(id, st.config.make(id, std::move(send))); !added) {
      log(st, log_level::error, "cannot host participant: " + added.err().message);
    }
  }
  self->send(st.config.transport, transport::register_atom::value,
             std::string(channel::host_endpoint), caf::actor_cast<caf::actor>(self));
  if (st.config.tick_interval.count() > 0) self->send(self, tick_atom::value);
  return {
      [=](transport::ok_atom) {  // the transport registered us: we can receive
        self->send(self, hello_atom::value);
      },
      [=](hello_atom) {
        if (self->state.layer->started()) return;
        self->state.layer->announce();
        flush(self);
        self->delayed_send(self, hello_interval, hello_atom::value);
      },
      [=](transport::delivery& d) {
        if (auto st2 = self->state.layer->on_message(d.source_node, d.payload); !st2) {
          log(self->state, log_level::warn,
              "refused a frame from node " + std::to_string(d.source_node) + ": " +
                  st2.err().message);
        }
        flush(self);
      },
      [=](tick_atom) {
        auto& s = self->state;
        bool congested = false;
        for (auto& [node, n] : s.backlog) congested = congested || n > s.config.backlog_max;
        if (congested) {
          if (s.ticks_skipped++ % 1000 == 0) {
            log(s, log_level::warn, "application backlog over " + std::to_string(s.config.backlog_max) +
                                        " messages towards a peer: participants' ticks paused");
          }
        } else {
          s.layer->tick();
          flush(self);
        }
        for (auto node : s.config.layer.members.nodes()) {
          if (node == s.config.layer.self) continue;
          self->request(s.config.transport, caf::infinite, transport::status_atom::value, node)
              .then([=](const transport::peer_status& ps) {
                self->state.backlog[ps.peer] = ps.unacknowledged + ps.queued;
              });
        }
        self->delayed_send(self, s.config.tick_interval, tick_atom::value);
      },
      [=](transport::delivery_failed& f) {
        lost(self, f.destination_node, std::string(transport::to_string(f.reason)));
      },
      [=](transport::busy& b) { lost(self, b.destination_node, "application lane full"); },
  };
}

}  // namespace

caf::actor spawn_participant_host(caf::actor_system& system, host_config config) {
  return system.spawn(host, std::move(config));
}

}  // namespace troupe::checkpoint::actor
