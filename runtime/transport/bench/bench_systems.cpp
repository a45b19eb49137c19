// Both benchmarked systems in one CAF translation unit (see bench_systems.hpp).
#include "runtime/transport/bench/bench_systems.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include <capnp/any.h>
#include <capnp/message.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/scoped_actor.hpp>

#include "runtime/transport/link/auth_proof.hpp"
#include "runtime/transport/transport.hpp"

namespace troupe::transport::bench {

std::string_view to_string(system_kind k) noexcept { return k == system_kind::raw ? "raw" : "troupe"; }

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using connected_atom = caf::atom_constant<caf::atom("b_conn")>;

constexpr char kind_data = 'd';
constexpr char kind_ack = 'a';
constexpr char kind_ping = 'p';
constexpr char kind_pong = 'q';
constexpr char kind_hello = 'h';

std::size_t ack_every(const params& p) { return std::max<std::size_t>(1, p.window / 4); }

// ---- raw: length-prefixed bytes over a plain broker ---------------------------------------------

struct raw_state {
  std::optional<caf::io::connection_handle> hdl;
  std::vector<char> in;  ///< unconsumed received bytes
  static inline const char* name = "bench.raw";
};

void raw_attach(caf::io::stateful_broker<raw_state>* self, caf::io::connection_handle hdl) {
  self->state.hdl = hdl;
  self->configure_read(hdl, caf::io::receive_policy::at_most(64u << 10));
}

caf::behavior raw_broker(caf::io::stateful_broker<raw_state>* self, caf::io::doorman_ptr dm,
                         caf::io::scribe_ptr sc, caf::actor target) {
  if (dm)
    self->add_doorman(std::move(dm));
  if (sc) {
    auto hdl = sc->hdl();
    self->add_scribe(std::move(sc));
    raw_attach(self, hdl);
  }
  return {
      [=](const caf::io::new_connection_msg& msg) {
        raw_attach(self, msg.handle);
        self->send(target, connected_atom::value);
      },
      [=](std::vector<char>& frame) {
        if (!self->state.hdl)
          return;
        auto& buf = self->wr_buf(*self->state.hdl);
        const auto n = static_cast<std::uint32_t>(frame.size());
        const auto old = buf.size();
        buf.resize(old + 4 + n);
        std::memcpy(buf.data() + old, &n, 4);
        std::memcpy(buf.data() + old + 4, frame.data(), n);
        self->flush(*self->state.hdl);
      },
      [=](const caf::io::new_data_msg& msg) {
        auto& in = self->state.in;
        in.insert(in.end(), msg.buf.begin(), msg.buf.end());
        std::size_t pos = 0;
        while (in.size() - pos >= 4) {
          std::uint32_t n = 0;
          std::memcpy(&n, in.data() + pos, 4);
          if (in.size() - pos - 4 < n)
            break;
          self->send(target, std::vector<char>(in.begin() + static_cast<std::ptrdiff_t>(pos + 4),
                                               in.begin() + static_cast<std::ptrdiff_t>(pos + 4 + n)));
          pos += 4 + n;
        }
        in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(pos));
      },
      [=](const caf::io::connection_closed_msg&) { self->quit(); },
      [=](const caf::io::acceptor_closed_msg&) {},
  };
}

// The peer's actor: acknowledges data every ack_every messages, answers pings.
caf::behavior raw_echo(caf::event_based_actor* self, std::size_t every) {
  auto count = std::make_shared<std::uint64_t>(0);
  return {
      [=](std::vector<char>& frame) {
        if (frame.empty())
          return;
        auto broker = caf::actor_cast<caf::actor>(self->current_sender());
        if (frame[0] == kind_data) {
          if (++*count % every == 0) {
            std::vector<char> ack(9);
            ack[0] = kind_ack;
            std::memcpy(ack.data() + 1, count.get(), 8);
            self->send(broker, std::move(ack));
          }
        } else if (frame[0] == kind_ping) {
          frame[0] = kind_pong;
          self->send(broker, std::move(frame));
        }
      },
  };
}

// ---- troupe: the transport ----------------------------------------------------------------------

constexpr node_id parent_node = 2;  // the lower id dials: the peer process (1) dials the parent
constexpr node_id peer_node = 1;
constexpr std::string_view bench_endpoint = "bench";

wire::message make_payload(char kind, std::size_t bytes, std::uint64_t value = 0) {
  capnp::MallocMessageBuilder b;
  auto data = b.getRoot<capnp::AnyPointer>().initAs<capnp::Data>(
      static_cast<unsigned>(std::max<std::size_t>(bytes, 9)));
  std::memset(data.begin(), 'x', data.size());
  data[0] = static_cast<capnp::byte>(kind);
  std::memcpy(data.begin() + 1, &value, 8);
  return wire::message::from_builder(b);
}

std::pair<char, std::uint64_t> read_payload(const wire::message& m) {
  if (m.empty())
    return {0, 0};
  auto data = m.root<capnp::AnyPointer>().getAs<capnp::Data>();
  if (data.size() < 9)
    return {0, 0};
  std::uint64_t value = 0;
  std::memcpy(&value, data.begin() + 1, 8);
  return {static_cast<char>(data[0]), value};
}

outbound to(node_id node, wire::message payload) {
  return outbound{node, std::string(bench_endpoint), std::string(bench_endpoint), lane::application,
                  0, std::move(payload)};
}

caf::behavior troupe_echo(caf::event_based_actor* self, caf::actor transport, std::size_t every,
                          std::size_t payload_bytes, bool batched) {
  auto count = std::make_shared<std::uint64_t>(0);
  // Same sender, same mailbox: the registration is handled before the hello is sent. Batched: the
  // messages of one socket read share a mailbox element (transport.hpp, delivery_batch).
  if (batched)
    self->send(transport, register_atom::value, std::string(bench_endpoint), caf::actor{self},
               batched_atom::value);
  else
    self->send(transport, register_atom::value, std::string(bench_endpoint), caf::actor{self});
  self->send(transport, to(parent_node, make_payload(kind_hello, payload_bytes)));
  auto on_payload = [=](const wire::message& payload) {
    const auto [kind, value] = read_payload(payload);
    if (kind == kind_data) {
      if (++*count % every == 0)
        self->send(transport, to(parent_node, make_payload(kind_ack, 9, *count)));
    } else if (kind == kind_ping) {
      self->send(transport, to(parent_node, make_payload(kind_pong, payload_bytes, value)));
    }
  };
  return {
      [=](delivery_batch& b) {
        for (const auto& payload : b.payloads)
          on_payload(payload);
      },
      [=](delivery& d) { on_payload(d.payload); },
      [=](ok_atom) {},
      [=](const busy&) {},
      [=](const delivery_failed&) {},
  };
}

config troupe_config(node_id self, std::uint16_t listen_port, node_id other, std::uint16_t other_port) {
  static const auto secret = std::make_shared<const link::secret>(
      *link::secret::from_file_contents(std::string_view("benchmark-secret-0123456789")));
  config c;
  c.self = self;
  c.cluster_id = "bench";
  c.listen = {"127.0.0.1", listen_port};
  c.peers[other] = {"127.0.0.1", other_port};
  c.node_secret = secret;
  return c;
}

// ---- the parent's measurements (shared by both systems) ------------------------------------------

using kind_value = std::pair<char, std::uint64_t>;

struct exchange {
  std::function<void(caf::scoped_actor&, char kind, std::uint64_t value)> send;
  /// The next message from the peer, or errc::timeout at `until`.
  std::function<result<kind_value>(caf::scoped_actor&, clock_type::time_point until)> receive;
};

/// Receives one `T` (other messages are skipped) and decodes it with `decode`.
template <class T, class Decode>
result<kind_value> receive_as(caf::scoped_actor& self, clock_type::time_point until, Decode decode) {
  for (;;) {
    const auto left = until - clock_type::now();
    if (left <= 0s)
      return make_error(errc::timeout, "no answer from the peer process");
    std::optional<kind_value> got;
    bool other = false;
    self->receive([&](T& x) { got = decode(x); }, [&](ok_atom) { other = true; },
                  [&](const busy&) { other = true; }, [&](const delivery_failed&) { other = true; },
                  caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(left)) >> [] {});
    if (got)
      return *got;
    if (!other)
      return make_error(errc::timeout, "no answer from the peer process");
  }
}

result<figures> measure(caf::scoped_actor& self, const exchange& x, const params& p) {
  const auto until = clock_type::now() + p.deadline;
  const auto every = ack_every(p);
  const auto total = std::max<std::size_t>(every, p.messages / every * every);
  figures f;
  // One-way throughput with a credit window.
  std::uint64_t sent = 0;
  std::uint64_t acked = 0;
  const auto t0 = clock_type::now();
  while (acked < total) {
    while (sent < total && sent - acked < p.window)
      x.send(self, kind_data, ++sent);
    auto r = x.receive(self, until);
    if (!r)
      return r.err();
    if (r->first == kind_ack)
      acked = std::max<std::uint64_t>(acked, r->second);
  }
  const std::chrono::duration<double> took = clock_type::now() - t0;
  f.messages_per_second = static_cast<double>(total) / took.count();
  // Round trips, one at a time.
  std::vector<double> rtt_us;
  rtt_us.reserve(p.rtt_samples);
  for (std::uint64_t i = 1; i <= p.rtt_samples; ++i) {
    const auto s0 = clock_type::now();
    x.send(self, kind_ping, i);
    for (;;) {
      auto r = x.receive(self, until);
      if (!r)
        return r.err();
      if (r->first == kind_pong && r->second == i)
        break;
    }
    rtt_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - s0).count());
  }
  std::sort(rtt_us.begin(), rtt_us.end());
  if (!rtt_us.empty()) {
    f.rtt_p50_us = rtt_us[rtt_us.size() / 2];
    f.rtt_p99_us = rtt_us[std::min(rtt_us.size() - 1, rtt_us.size() * 99 / 100)];
  }
  return f;
}

caf::actor_system_config& base_config(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  add_message_types(cfg);
  return cfg;
}

result<figures> run_parent_raw(const params& p, const std::function<status(std::uint16_t)>& start_peer) {
  caf::actor_system_config cfg;
  caf::actor_system sys{base_config(cfg)};
  caf::scoped_actor self{sys};
  auto dm = sys.middleman().backend().new_tcp_doorman(0, "127.0.0.1", true);
  if (!dm)
    return make_error(errc::io, "bench: cannot listen: " + sys.render(dm.error()));
  const auto port = (*dm)->port();
  auto broker = sys.middleman().spawn_broker(raw_broker, std::move(*dm), caf::io::scribe_ptr{},
                                             caf::actor{self});
  if (auto s = start_peer(port); !s)
    return s.err();
  bool connected = false;
  self->receive([&](connected_atom) { connected = true; },
                caf::after(std::chrono::seconds(30)) >> [] {});
  if (!connected)
    return make_error(errc::io, "bench: the raw peer process never connected");
  exchange x;
  std::vector<char> frame(std::max<std::size_t>(p.payload_bytes, 9), 'x');
  x.send = [&, frame](caf::scoped_actor& s, char kind, std::uint64_t value) mutable {
    frame[0] = kind;
    std::memcpy(frame.data() + 1, &value, 8);
    s->send(broker, frame);  // a copy per message, as an application would hand over its bytes
  };
  x.receive = [](caf::scoped_actor& s, clock_type::time_point until) {
    return receive_as<std::vector<char>>(s, until, [](std::vector<char>& v) {
      std::uint64_t value = 0;
      if (v.size() >= 9)
        std::memcpy(&value, v.data() + 1, 8);
      return kind_value{v.empty() ? char{0} : v[0], value};
    });
  };
  auto r = measure(self, x, p);
  self->send_exit(broker, caf::exit_reason::user_shutdown);
  return r;
}

result<figures> run_parent_troupe(const params& p,
                                  const std::function<status(std::uint16_t)>& start_peer) {
  caf::actor_system_config cfg;
  caf::actor_system sys{base_config(cfg)};
  caf::scoped_actor self{sys};
  // The peer's listen port is never dialed (the lower id dials), so 0 stands for "accept only".
  auto t = spawn_transport(sys, troupe_config(parent_node, 0, peer_node, 0));
  if (!t)
    return t.err();
  self->send(t->broker, register_atom::value, std::string(bench_endpoint), caf::actor{self});
  if (auto s = start_peer(t->port); !s)
    return s.err();
  exchange x;
  x.send = [&, tr = t->broker, data = make_payload(kind_data, p.payload_bytes)](
               caf::scoped_actor& s, char kind, std::uint64_t value) {
    // Data messages share one immutable buffer (a remote send writes those very bytes); a ping
    // carries its number so that its pong can be matched.
    s->send(tr, to(peer_node, kind == kind_data ? data : make_payload(kind, p.payload_bytes, value)));
  };
  x.receive = [](caf::scoped_actor& s, clock_type::time_point until) {
    return receive_as<delivery>(s, until, [](delivery& d) { return read_payload(d.payload); });
  };
  bool hello = false;
  const auto until = clock_type::now() + 30s;
  while (!hello) {
    auto r = x.receive(self, until);
    if (!r)
      return make_error(errc::io, "bench: the troupe peer process never said hello");
    hello = r->first == kind_hello;
  }
  auto r = measure(self, x, p);
  self->send(t->broker, stop_atom::value);
  return r;
}

}  // namespace

result<figures> run_parent(system_kind kind, const params& p,
                           const std::function<status(std::uint16_t port)>& start_peer) {
  return kind == system_kind::raw ? run_parent_raw(p, start_peer) : run_parent_troupe(p, start_peer);
}

int run_peer(system_kind kind, std::uint16_t port, const params& p,
             const std::function<void()>& wait_until_parent_done) {
  caf::actor_system_config cfg;
  caf::actor_system sys{base_config(cfg)};
  if (kind == system_kind::raw) {
    auto sc = sys.middleman().backend().new_tcp_scribe("127.0.0.1", port);
    if (!sc)
      return 1;
    auto echo = sys.spawn(raw_echo, ack_every(p));
    auto broker = sys.middleman().spawn_broker(raw_broker, caf::io::doorman_ptr{}, std::move(*sc), echo);
    wait_until_parent_done();
    caf::anon_send_exit(broker, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
    return 0;
  }
  auto t = spawn_transport(sys, troupe_config(peer_node, 0, parent_node, port));
  if (!t)
    return 1;
  auto echo = sys.spawn(troupe_echo, t->broker, ack_every(p), p.payload_bytes, p.batched_delivery);
  wait_until_parent_done();
  caf::anon_send(t->broker, stop_atom::value);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  return 0;
}

}  // namespace troupe::transport::bench
