#include "snapshot/actor/participant_host.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "runtime/transport/transport.hpp"
#include "snapshot/actor/checkpoint_metrics.hpp"

namespace troupe::checkpoint::actor {

namespace {

using tick_atom = caf::atom_constant<caf::atom("ck_htick")>;
using hello_atom = caf::atom_constant<caf::atom("ck_hello")>;
using poll_atom = caf::atom_constant<caf::atom("ck_hpoll")>;

/// How often a host repeats host_ready until the coordinator answers with start_traffic.
constexpr std::chrono::milliseconds hello_interval{100};

/// The frames towards one peer and the window estimate (participant_host.hpp "back-pressure").
struct peer_flow {
  std::deque<transport::outbound> waiting;  ///< not handed to the transport yet, in order
  std::uint64_t in_transport = 0;  ///< estimate of ours the transport holds (never below the truth)
  std::uint64_t sent = 0;          ///< handed to the transport, ever
  bool polling = false;            ///< a status poll is out, or scheduled
};

struct host_state {
  std::unique_ptr<channel::channel_layer> layer;
  host_config config;
  std::unique_ptr<host_flow_metrics> metrics;
  std::uint64_t next_message_id = 1;
  std::map<std::uint64_t, peer_flow> peers;
  std::size_t waiting_total = 0;
  std::uint64_t sent_total = 0;  ///< frames handed to the transport, every peer
  std::uint64_t ticks_skipped = 0;
  static inline const char* name = "troupe.checkpoint.host";
};

using host_actor = caf::stateful_actor<host_state>;

void log(const host_state& st, log_level level, const std::string& text) {
  if (st.config.log) st.config.log(level, "checkpoint", text);
}

void poll(host_actor* self, std::uint64_t node);

/// Hands the transport what fits in `node`'s window, in order; polls if frames are left waiting.
void pump(host_actor* self, std::uint64_t node) {
  auto& st = self->state;
  auto& peer = st.peers[node];
  while (!peer.waiting.empty() && peer.in_transport < st.config.window) {
    self->send(st.config.transport, std::move(peer.waiting.front()));
    peer.waiting.pop_front();
    --st.waiting_total;
    ++peer.in_transport;
    ++peer.sent;
    ++st.sent_total;
  }
  if (!peer.waiting.empty() && !peer.polling) poll(self, node);
}

/// Asks the transport how many of our frames towards `node` it still holds. Frames sent after the
/// question count in full on top of the answer (some may already be in it: an over-estimate, safe).
void poll(host_actor* self, std::uint64_t node) {
  auto& st = self->state;
  auto& peer = st.peers[node];
  peer.polling = true;
  const auto sent_before = peer.sent;
  self->request(st.config.transport, caf::infinite, transport::status_atom::value, node)
      .then([=](const transport::peer_status& ps) {
        auto& s = self->state;
        auto& p = s.peers[node];
        p.in_transport = ps.unacknowledged + ps.queued + (p.sent - sent_before);
        pump(self, node);  // `polling` is still set: pump does not ask again by itself
        if (p.waiting.empty()) {
          p.polling = false;
        } else {
          // Still full: ask again a little later rather than in a tight loop.
          self->delayed_send(self, s.config.poll_interval, poll_atom::value, node);
        }
        s.metrics->queued(s.waiting_total);
      });
}

/// Sends every frame the layer produced, in order.
void flush(host_actor* self) {
  auto& st = self->state;
  const auto me = st.config.layer.self;
  std::vector<std::uint64_t> touched;
  std::uint64_t added = 0;
  for (auto& f : st.layer->take_outbox()) {
    if (f.node == me && f.endpoint == channel::host_endpoint) {
      // To a participant on this node: through our own mailbox, which keeps the channel's order.
      self->send(self, transport::delivery{me, std::string(channel::host_endpoint),
                                           std::string(channel::host_endpoint),
                                           transport::lane::application, std::move(f.frame)});
    } else {
      auto& peer = st.peers[f.node];
      if (peer.waiting.empty()) touched.push_back(f.node);
      ++added;
      peer.waiting.push_back(transport::outbound{f.node, std::string(f.endpoint),
                                                 std::string(channel::host_endpoint),
                                                 transport::lane::application,
                                                 st.next_message_id++, std::move(f.frame)});
      ++st.waiting_total;
    }
  }
  // Queues that were empty before this flush go out now as far as their windows allow; the others
  // wait behind frames already held (their poll pumps them). What did not go out was held back.
  const auto sent_before = st.sent_total;
  for (auto node : touched) pump(self, node);
  st.metrics->held(static_cast<std::size_t>(added - (st.sent_total - sent_before)));
  st.metrics->queued(st.waiting_total);
}

/// One frame from `node` into the channel layer; a refused one is logged (the layer counts it).
void on_frame(host_actor* self, std::uint64_t node, const wire::message& payload) {
  if (auto handled = self->state.layer->on_message(node, payload); !handled) {
    log(self->state, log_level::warn,
        "refused a frame from node " + std::to_string(node) + ": " + handled.err().message);
  }
}

void lost(host_actor* self, std::uint64_t node, const std::string& why) {
  if (!self->state.layer->started() && self->state.layer->generation() == 0) {
    // Before the first start a host sends nothing but host_ready, which it repeats until
    // answered (a coordinator that has not registered yet makes its transport refuse it).
    log(self->state, log_level::info, "a host_ready to node " + std::to_string(node) +
                                          " was not delivered (" + why + "); it is repeated");
    return;
  }
  self->state.metrics->lost(why);
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
  st.metrics = std::make_unique<host_flow_metrics>(st.config.registry);
  auto* layer = st.layer.get();
  for (auto id : st.config.layer.members.on_node(st.config.layer.self)) {
    send_fn send = [self, layer, id](participant_id to, bytes payload) -> status {
      // Back-pressure on the application: its message stays with it (busy) rather than growing
      // the queue to that peer without bound.
      auto& s = self->state;
      if (auto node = s.config.layer.members.node_of(to); node && *node != s.config.layer.self) {
        if (auto it = s.peers.find(*node);
            it != s.peers.end() && it->second.waiting.size() >= s.config.queue_max) {
          s.metrics->refused();
          return make_error(errc::busy, "flow control: " + std::to_string(s.config.queue_max) +
                                            " frames wait for node " + std::to_string(*node));
        }
      }
      return layer->send(id, to, std::move(payload));
    };
    if (auto added = layer->add(id, st.config.make(id, std::move(send))); !added) {
      log(st, log_level::error, "cannot host participant: " + added.err().message);
    }
  }
  // Batched: the frames of one socket read from one node come in one mailbox element and leave
  // one flush (transport.hpp, delivery_batch); each is still handled alone and in order.
  self->send(st.config.transport, transport::register_atom::value,
             std::string(channel::host_endpoint), caf::actor_cast<caf::actor>(self),
             transport::batched_atom::value);
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
      [=](transport::delivery& d) {  // frames between local participants: flush() sends them here
        on_frame(self, d.source_node, d.payload);
        flush(self);
      },
      [=](transport::delivery_batch& b) {
        for (const auto& payload : b.payloads) on_frame(self, b.source_node, payload);
        flush(self);
      },
      [=](tick_atom) {
        auto& s = self->state;
        if (s.waiting_total > 0) {
          // Frames wait for a peer's window: the producers stop until the transport caught up.
          s.metrics->paused_tick();
          if (s.ticks_skipped++ % 1000 == 0) {
            log(s, log_level::info, std::to_string(s.waiting_total) +
                                        " frames wait for the transport's window: participants' "
                                        "ticks paused (back-pressure)");
          }
        } else {
          s.layer->tick();
          flush(self);
        }
        self->delayed_send(self, s.config.tick_interval, tick_atom::value);
      },
      [=](poll_atom, std::uint64_t node) {
        self->state.peers[node].polling = false;
        poll(self, node);
      },
      [=](transport::delivery_failed& f) {
        lost(self, f.destination_node, std::string(transport::to_string(f.reason)));
      },
      [=](transport::busy& b) { lost(self, b.destination_node, "busy"); },
  };
}

}  // namespace

caf::actor spawn_participant_host(caf::actor_system& system, host_config config) {
  return system.spawn(host, std::move(config));
}

}  // namespace troupe::checkpoint::actor
