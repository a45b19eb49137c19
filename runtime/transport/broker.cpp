// The transport broker: drives the pure link cores (handshake, peer_link) from CAF io events.
// See broker_state.hpp for the ownership rules and README.md for the behaviour.
#include "runtime/transport/broker_state.hpp"

#include <cstring>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/make_counted.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/send.hpp>

#include "runtime/transport/link/frame_codec.hpp"
#include "runtime/wire/framing.hpp"

namespace troupe::transport::detail {

using namespace std::chrono_literals;
using caf::io::connection_handle;
using link::peer_role;

namespace {

bool is_loopback(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "::1" || host == "::ffff:127.0.0.1" ||
         host == "localhost";
}

std::string describe(const connection& c) {
  return (c.role == peer_role::client ? "client connection " : "connection ") +
         std::to_string(c.id) + " (" + c.remote_host + ")";
}

}  // namespace

transport_core::transport_core(caf::io::broker* self, config cfg)
    : self_(self),
      cfg_(std::move(cfg)),
      metrics_(cfg_.registry),
      rng_(cfg_.seed != 0 ? cfg_.seed : cfg_.incarnation) {
  reader_limits_.max_frame_bytes = cfg_.lim.max_frame_bytes;
  hs_cfg_.cluster_id = cfg_.cluster_id;
  hs_cfg_.self_id = cfg_.self;
  hs_cfg_.incarnation = cfg_.incarnation;
  hs_cfg_.self_role = peer_role::peer;
  for (const auto& [id, addr] : cfg_.peers)
    if (id != cfg_.self)
      hs_cfg_.peer_ids.insert(id);
  hs_cfg_.accept_any_peer = cfg_.accept_unknown_peers;
  hs_cfg_.node_secret = cfg_.node_secret;
  hs_cfg_.client_secret = cfg_.client_secret;
  hs_cfg_.timeout = cfg_.lim.handshake_timeout;
  // The handshake asks where to resume with a peer; only this thread calls it.
  hs_cfg_.resume = [this](peer_role role, std::uint64_t id) -> link::resume_info {
    if (role != peer_role::peer)
      return {};
    auto it = peers_.find(id);
    return it == peers_.end() ? link::resume_info{} : it->second->core.resume_point();
  };
  // Established clients have their own bound, apart from the handshakes in progress: a node
  // serving max_inbound_unauthenticated clients must still accept peers and more clients.
  hs_cfg_.admit_client = [this] { return clients_.size() < cfg_.lim.max_clients; };
  link_cfg_.self_incarnation = cfg_.incarnation;
  link_cfg_.lanes = cfg_.lim.lanes;
  link_cfg_.ack_every_deliveries = cfg_.lim.ack_every_deliveries;
  link_cfg_.ping_interval = cfg_.lim.ping_interval;
  link_cfg_.idle_timeout = cfg_.lim.idle_timeout;
}

std::chrono::nanoseconds transport_core::now() {
  return std::chrono::steady_clock::now().time_since_epoch();
}

void transport_core::log(log_level level, const std::string& text) const {
  if (cfg_.log)
    cfg_.log(level, "transport", text);
}

void transport_core::start(caf::io::doorman_ptr doorman, caf::intrusive_ptr<write_batcher> batcher) {
  batcher_ = std::move(batcher);
  doorman_ = doorman->hdl();
  self_->add_doorman(std::move(doorman));
  for (const auto& [id, addr] : cfg_.peers) {
    if (id == cfg_.self)
      continue;
    auto& s = make_peer_session(id);
    s.addr = addr;
    s.dials = cfg_.self < id && addr.port != 0;
    if (s.dials)
      dial(s);
  }
  self_->delayed_send(self_, cfg_.lim.tick_interval, tick_atom::value);
  metrics_.set_max_client_connections(cfg_.lim.max_clients);
  log(log_level::info, "node " + std::to_string(cfg_.self) + " incarnation " +
                           std::to_string(cfg_.incarnation) + " serving " + std::to_string(peers_.size()) +
                           " peers");
}

session& transport_core::make_peer_session(node_id id) {
  auto& slot = peers_[id];
  if (!slot) {
    slot = std::make_unique<session>(link_cfg_, cfg_.lim);
    slot->role = peer_role::peer;
    slot->id = id;
    slot->label = std::to_string(id);
    slot->m = &metrics_.peer(slot->label);
    metrics_.set(slot->m->state, 0);
  }
  return *slot;
}

session* transport_core::find_session(const connection& c) {
  if (!c.established)
    return nullptr;
  if (c.role == peer_role::client) {
    auto it = clients_.find(c.remote);
    return it == clients_.end() ? nullptr : it->second.get();
  }
  auto it = peers_.find(c.remote);
  return it == peers_.end() ? nullptr : it->second.get();
}

void transport_core::set_state(session& s, connection_state st) {
  s.state = st;
  metrics_.set(s.m->state, static_cast<double>(st));
}

// ---- Dialing -------------------------------------------------------------------------------------

void transport_core::dial(session& s) {
  if (stopping_ || s.dial_in_flight || s.conn || !s.addr)
    return;
  s.dial_in_flight = true;
  set_state(s, connection_state::connecting);
  const auto generation = ++s.dial_generation;
  // A blocking connect would stall every connection of this broker: it runs in a detached actor
  // (its own thread) that hands the connected socket back. Anonymously: a message that reaches
  // this broker after it quit stays in its mailbox (CAF 0.17 brokers never close it), and with the
  // dialer as its sender it would keep the dialer alive and ~actor_system waiting for its thread.
  self_->spawn<caf::detached>(
      [](caf::blocking_actor* dialer, caf::actor broker, node_id peer, std::uint64_t gen,
         std::string host, std::uint16_t port) {
        auto fd = caf::io::network::new_tcp_connection(host, port);
        if (fd)
          caf::anon_send(broker, dialed_atom::value, peer, gen, static_cast<int>(*fd));
        else
          caf::anon_send(broker, dial_failed_atom::value, peer, gen,
                         dialer->system().render(fd.error()));
      },
      caf::actor_cast<caf::actor>(self_), s.id, generation, s.addr->host, s.addr->port);
}

void transport_core::on_dialed(node_id peer, std::uint64_t generation, int fd) {
  auto it = peers_.find(peer);
  if (stopping_ || it == peers_.end() || it->second->dial_generation != generation ||
      it->second->conn) {
    caf::io::network::close_socket(fd);
    return;
  }
  auto& s = *it->second;
  s.dial_in_flight = false;
  connection_handle hdl;
  if (batcher_) {
    auto scribe = batcher_->make_scribe(fd);
    hdl = scribe->hdl();
    self_->add_scribe(std::move(scribe));
  } else {
    hdl = self_->add_scribe(fd);
  }
  auto& c = add_connection(hdl, link::handshake_side::dialer, peer);
  c.remote_host = to_string(*s.addr);
  set_state(s, connection_state::handshaking);
  start_handshake(c, peer);
}

void transport_core::on_dial_failed(node_id peer, std::uint64_t generation, const std::string& why) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second->dial_generation != generation)
    return;
  auto& s = *it->second;
  s.dial_in_flight = false;
  log(s.retry.attempts() == 0 ? log_level::info : log_level::debug,
      "dial to node " + std::to_string(peer) + " at " + to_string(*s.addr) + " failed: " + why);
  set_state(s, connection_state::disconnected);
  schedule_redial(s);
}

void transport_core::schedule_redial(session& s) {
  if (stopping_ || !s.dials)
    return;
  const auto delay = s.retry.next(rng_);
  self_->delayed_send(self_, delay, redial_atom::value, s.id, s.dial_generation);
}

void transport_core::on_redial(node_id peer, std::uint64_t generation) {
  auto it = peers_.find(peer);
  if (it != peers_.end() && it->second->dial_generation == generation)
    dial(*it->second);
}

// ---- Connections ---------------------------------------------------------------------------------

connection& transport_core::add_connection(connection_handle hdl, link::handshake_side side,
                                           std::uint64_t remote) {
  auto c = std::make_unique<connection>(hdl, next_connection_id_++, reader_limits_, cfg_.lim);
  self_->configure_read(hdl, caf::io::receive_policy::at_most(c->chunk.size()));
  // Write completions drive the pull-based writer (pump).
  self_->ack_writes(hdl, true);
  c->side = side;
  c->remote = remote;
  auto& ref = *c;
  conns_[hdl] = std::move(c);
  return ref;
}

void transport_core::on_new_connection(connection_handle hdl) {
  metrics_.connection_accepted();
  if (stopping_ || unauthenticated_inbound_ >= cfg_.lim.max_inbound_unauthenticated) {
    log(log_level::warn, "refusing an inbound connection: " +
                                std::string(stopping_ ? "shutting down" : "too many connections"));
    self_->close(hdl);
    return;
  }
  ++unauthenticated_inbound_;
  auto& c = add_connection(hdl, link::handshake_side::acceptor, 0);
  c.remote_host = self_->remote_addr(hdl);
  start_handshake(c, 0);
}

void transport_core::start_handshake(connection& c, node_id expected_peer) {
  link::connection_facts facts;
  facts.side = c.side;
  facts.expected_peer_id = expected_peer;
  facts.remote_is_loopback = is_loopback(c.remote_host);
  auto n = link::random_nonce();
  if (!n) {
    log(log_level::error, "no nonce for a handshake: " + n.err().message);
    close_connection(c.hdl, "no nonce");
    return;
  }
  facts.local_nonce = *n;
  c.hs = std::make_unique<link::handshake>(hs_cfg_, facts);
  handle_handshake_step(c, c.hs->start(now()));
}

void transport_core::on_data(connection_handle hdl, const std::vector<char>& buf) {
  auto it = conns_.find(hdl);
  if (it == conns_.end())
    return;
  auto& c = *it->second;
  // Deliveries to batched endpoints collect over the frames of this read and go out when it is
  // done, whichever way it ends: they were accepted (and will be acknowledged) already.
  struct flush_at_exit {
    transport_core* core;
    ~flush_at_exit() { core->flush_deliveries(); }
  } flush{this};
  // The codecs promise errors as values. Should bytes from the network still make one throw (a
  // Cap'n Proto check they missed), only this connection pays: an exception escaping into CAF
  // would take every connection of the node down with the broker.
  // One clock reading for every frame of this read: it only feeds the idle timeout.
  const auto t = now();
  try {
    auto in = std::as_bytes(std::span<const char>(buf.data(), buf.size()));
    // Frames are taken where CAF put them whenever the assembler holds nothing: copying every
    // byte received into the assembler first was ~6% of the receiving broker thread (callgrind).
    // The frame a read ends inside waits in the assembler; when its size is known, the next read
    // gives the assembler just the rest of it, and the frames after it are taken in place again.
    const auto buffered = c.assembler.buffered_bytes();
    if (buffered > 0 && c.partial_frame_bytes > buffered) {
      const auto rest = std::min(c.partial_frame_bytes - buffered, in.size());
      c.assembler.append(in.first(rest));
      in = in.subspan(rest);
      if (!take_assembled_frames(c, t))
        return;
    }
    if (c.assembler.buffered_bytes() == 0 && !take_frames_in_place(c, in, t))
      return;
    c.assembler.append(in);
    if (!take_assembled_frames(c, t))
      return;
    // What the assembler holds now is the beginning of one frame: its last bytes came with this
    // read, and if all of them did, its segment table says its size (else it is the same frame
    // as after the previous read, whose size stays what it was: known, or 0 for unknown).
    if (const auto left = c.assembler.buffered_bytes(); left == 0) {
      c.partial_frame_bytes = 0;
    } else if (left <= in.size()) {
      auto layout = wire::read_frame_layout(in.last(left), c.assembler.limits());
      c.partial_frame_bytes = layout && layout->has_value() ? (*layout)->total_bytes : 0;
    }
  } catch (const std::exception& e) {
    if (conns_.find(hdl) != conns_.end())
      malformed(c, std::string("exception while reading a frame: ") + e.what());
    return;
  }
  // The connection is still open here (every close above returned). Takes effect for the next
  // read: CAF sizes its read buffer right after this handler returns.
  if (c.chunk.after_read(buf.size()))
    self_->configure_read(hdl, caf::io::receive_policy::at_most(c.chunk.size()));
  if (auto* s = find_session(c))
    pump(*s);
}

bool transport_core::take_frames_in_place(connection& c, std::span<const std::byte>& in,
                                          std::chrono::nanoseconds t) {
  // The assembler's segment-table checks; handle_frame validates each frame completely (it copies
  // a payload, and reads a header unaligned or copies it first).
  const auto hdl = c.hdl;
  for (;;) {
    auto layout = wire::read_frame_layout(in, c.assembler.limits());
    if (!layout) {
      malformed(c, layout.err().message);
      return false;
    }
    if (!layout->has_value() || in.size() < (*layout)->total_bytes)
      return true;
    const auto n = (*layout)->total_bytes;
    handle_frame(c, in.first(n), t);
    // The frame may have closed the connection.
    if (conns_.find(hdl) == conns_.end())
      return false;
    in = in.subspan(n);
  }
}

bool transport_core::take_assembled_frames(connection& c, std::chrono::nanoseconds t) {
  const auto hdl = c.hdl;
  for (;;) {
    // The frame's bytes stay in the assembler's buffer (no copy) until the next append, and
    // handle_frame validates them completely before anything reads them.
    auto next = c.assembler.next_frame_bytes();
    if (!next) {
      malformed(c, next.err().message);
      return false;
    }
    if (!next->has_value())
      return true;
    handle_frame(c, **next, t);
    // The frame may have closed the connection.
    if (conns_.find(hdl) == conns_.end())
      return false;
  }
}

void transport_core::handle_frame(connection& c, std::span<const std::byte> frame,
                                  std::chrono::nanoseconds t) {
  // The data frame in c.pending, `bytes` more of it received: its header (`payload` empty), then,
  // when the header announced one, its payload. Every data header takes this path, fast or not.
  const auto take_data = [&](wire::message payload, std::size_t bytes) {
    auto* s = find_session(c);
    if (s == nullptr)
      return;
    metrics_.add(s->m->received_bytes[link::index_of(c.pending.via)], static_cast<double>(bytes));
    if (payload.empty() && c.pending.has_payload) {
      c.awaiting_payload = true;
      return;
    }
    inbound_events_.clear();
    // The names stay in c.pending: deliver compares them with the pending batch's in place.
    if (s->core.accept_data_frame(c.pending, !payload.empty(), t, inbound_events_))
      deliver(*s, c.pending.via, c.pending.destination, c.pending.source, std::move(payload));
    if (!inbound_events_.empty())
      carry_out(*s, inbound_events_);  // a close verdict
  };
  if (c.awaiting_payload) {
    // The message after a data header with has_payload is that frame's payload, written as-is.
    // It is kept (it goes to an actor): copied once into its own buffer and validated completely.
    auto msg = wire::message::parse(frame, c.assembler.limits());
    if (!msg) {
      malformed(c, msg.err().message);
      return;
    }
    c.awaiting_payload = false;
    take_data(std::move(*msg), frame.size());
    return;
  }
  if (c.established && link::decode_canonical_data_header(frame, c.assembler.limits(), c.pending)) {
    // The hot path: a data header in the layout this build writes, checked and decoded in place
    // into the connection's reused data_frame.
    take_data(wire::message{}, frame.size());
    return;
  }
  // Any other header is decoded at once into plain structs and dropped: validated completely in
  // place by the reader that then decodes it (no copy, no kept message). Established
  // connections tried the canonical layout just above: only the reader is left to try.
  auto header = c.established
                    ? link::decode_frame_header_by_reader(frame, c.assembler.limits(), header_validator_)
                    : link::decode_frame_header(frame, c.assembler.limits(), header_validator_);
  if (!header) {
    malformed(c, "undecodable link header: " + header.err().message);
    return;
  }
  if (!c.established) {
    handle_handshake_step(c, c.hs->on_frame(*header, t));
    return;
  }
  if (auto* d = std::get_if<link::data_frame>(&*header)) {
    c.pending = std::move(*d);
    take_data(wire::message{}, frame.size());
    return;
  }
  auto* s = find_session(c);
  if (s == nullptr)
    return;
  inbound_events_.clear();
  s->core.on_frame(std::move(*header), wire::message{}, t, inbound_events_);
  carry_out(*s, inbound_events_);
}

void transport_core::handle_handshake_step(connection& c, link::handshake_step step) {
  const auto hdl = c.hdl;
  for (const auto& f : step.to_write)
    write_frame(hdl, f, nullptr);
  self_->flush(hdl);
  if (step.failure) {
    const auto& f = *step.failure;
    metrics_.handshake_refused(link::to_string(f.reason));
    log(log_level::warn, "handshake on " + describe(c) + " refused (" +
                                std::string(link::to_string(f.reason)) + ", " +
                                (f.by_remote ? "by the remote" : "by us") + "): " + f.detail);
    const bool dialer = c.side == link::handshake_side::dialer;
    const auto peer = c.remote;
    close_connection(hdl, "handshake failed");
    if (dialer)
      if (auto it = peers_.find(peer); it != peers_.end())
        schedule_redial(*it->second);
    return;
  }
  if (step.outcome)
    on_established(c, *step.outcome);
}

void transport_core::on_established(connection& c, const link::handshake_outcome& outcome) {
  c.established = true;
  c.hs.reset();
  if (c.side == link::handshake_side::acceptor && unauthenticated_inbound_ > 0)
    --unauthenticated_inbound_;
  c.role = outcome.remote_role;
  session* s = nullptr;
  if (outcome.remote_role == peer_role::client) {
    if (clients_.size() >= cfg_.lim.max_clients) {
      // admit_client said yes in the handshake, but so it did to others since: the bound holds.
      metrics_.handshake_refused(link::to_string(link::close_reason::too_many_clients));
      log(log_level::warn, describe(c) + " refused: " + std::to_string(clients_.size()) +
                               " clients connected, max_clients " + std::to_string(cfg_.lim.max_clients));
      write_frame(c.hdl, link::peer_link::goodbye(link::close_reason::too_many_clients,
                                                  "this node serves its maximum of client connections"),
                  nullptr);
      close_connection(c.hdl, "too many clients");
      return;
    }
    c.remote = c.id;
    auto sess = std::make_unique<session>(link_cfg_, cfg_.lim);
    sess->role = peer_role::client;
    sess->id = c.id;
    sess->label = transport_metrics::client_label;
    sess->m = &metrics_.peer(sess->label);
    s = sess.get();
    clients_[c.id] = std::move(sess);
    metrics_.set_client_connections(clients_.size());
  } else {
    c.remote = outcome.remote_id;
    if (!hs_cfg_.accept_any_peer && !hs_cfg_.peer_ids.contains(outcome.remote_id)) {
      // The handshake began before the peer left the configuration (set_peers).
      log(log_level::info, describe(c) + ": node " + std::to_string(outcome.remote_id) +
                               " is no longer a peer: closing");
      close_connection(c.hdl, "not a peer");
      return;
    }
    s = &make_peer_session(outcome.remote_id);
    if (s->conn && *s->conn != c.hdl) {
      // One link per pair: the newer connection wins (the peer saw the old one break first).
      write_frame(*s->conn, link::peer_link::goodbye(link::close_reason::superseded, "newer connection"),
                  nullptr);
      close_connection(*s->conn, "superseded");
    }
    if (s->ever_up)
      metrics_.add(s->m->reconnects, 1);
    s->ever_up = true;
    s->dials = cfg_.self < s->id && s->addr && s->addr->port != 0;
    s->retry.reset();
    s->dial_in_flight = false;
  }
  s->conn = c.hdl;
  set_state(*s, connection_state::up);
  log(log_level::info, describe(c) + " established with " +
                           (outcome.remote_role == peer_role::client ? "client " : "node ") +
                           std::to_string(outcome.remote_id) + " incarnation " +
                           std::to_string(outcome.remote_incarnation));
  const auto role = s->role;
  const auto id = s->id;
  carry_out(*s, s->core.attach(outcome, now()));
  // A verdict may have closed the connection, and a client's session dies with its connection.
  if (auto* again = role == peer_role::client ? find_client(id) : s; again != nullptr && again->conn)
    pump(*again);
}

session* transport_core::find_client(std::uint64_t id) {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second.get();
}

void transport_core::carry_out(session& s, link::link_events& events) {
  for (const auto& lost : events.lost)
    report_lost(s, lost, failure_reason::peer_restarted);
  for (auto& d : events.deliveries)
    deliver(s, d.via, d.destination, d.source, std::move(d.payload));
  if (events.close && s.conn) {
    if (*events.close == link::close_reason::protocol_error)
      metrics_.malformed_frame(s.role == peer_role::client ? "client" : "peer");
    log(*events.close == link::close_reason::shutting_down ? log_level::info : log_level::warn,
        std::string("closing the connection to ") + (s.role == peer_role::client ? "client " : "node ") +
            std::to_string(s.id) + " (" + std::string(link::to_string(*events.close)) +
            "): " + events.close_detail);
    const auto hdl = *s.conn;
    close_connection(hdl, "link verdict");
    schedule_redial(s);  // a no-op unless this node dials the peer
  }
}

void transport_core::deliver(session& s, lane via, const std::string& destination,
                             const std::string& source, wire::message&& payload) {
  metrics_.add(s.m->received_messages[link::index_of(via)], 1);
  if (s.role == peer_role::client) {
    flush_deliveries();
    auto it = endpoints_.find(client_service_endpoint);
    if (it == endpoints_.end()) {
      log(log_level::warn, "client request dropped: no endpoint '" +
                                  std::string(client_service_endpoint) + "' registered");
      return;
    }
    self_->send(it->second.handler, client_request{s.id, std::move(payload)});
    return;
  }
  // The next message of the pending batch (the common case on a busy link): the same source,
  // endpoint and lane, so the same batched endpoint (no registration changes inside one read).
  if (!batch_.payloads.empty() && batch_.source_node == s.id && batch_.via == via &&
      batch_.destination_endpoint == destination && batch_.source_endpoint == source) {
    batch_.payloads.push_back(std::move(payload));
    return;
  }
  // Anything else first sends the batch, so the order of everything the broker sends stays the
  // order of arrival.
  flush_deliveries();
  auto it = endpoints_.find(destination);
  if (it == endpoints_.end()) {
    metrics_.add(s.m->dropped[link::index_of(via)], 1);
    // One line per endpoint name, not per message: a misaddressed stream must not flood the log.
    if (unknown_endpoints_logged_.size() < 64 && unknown_endpoints_logged_.insert(destination).second)
      log(log_level::warn, "message from node " + std::to_string(s.id) + " for unknown endpoint '" +
                                  destination + "' dropped (counted in dropped_messages_total)");
    return;
  }
  auto& to = it->second;
  if (to.batched) {
    batch_to_ = to.handler;
    batch_.source_node = s.id;
    batch_.via = via;
    batch_.source_endpoint = source;
    batch_.destination_endpoint = destination;
    batch_.payloads.push_back(std::move(payload));
    return;
  }
  self_->send(to.handler, delivery{s.id, source, destination, via, std::move(payload)});
}

void transport_core::flush_deliveries() {
  if (batch_.payloads.empty())
    return;
  const auto n = batch_.payloads.size();
  self_->send(batch_to_, std::move(batch_));
  batch_ = delivery_batch{};
  batch_.payloads.reserve(n);  // the next read likely brings about as many
  batch_to_ = caf::actor{};
}

void transport_core::report_lost(session& s, const link::lost_message& lost, failure_reason why) {
  flush_deliveries();  // what arrived before goes out before
  metrics_.add(s.m->lost, 1);
  auto it = senders_.find(lost.tag);
  auto sender = it == senders_.end() ? caf::actor{} : caf::actor_cast<caf::actor>(it->second);
  if (!sender) {
    log(log_level::warn, "message " + std::to_string(lost.message_id) + " to node " +
                                std::to_string(s.id) + " lost (" + std::string(to_string(why)) +
                                ") and its sender is gone");
    return;
  }
  self_->send(sender, delivery_failed{s.id, lost.destination, lost.message_id, why});
}

// ---- Writing -------------------------------------------------------------------------------------

void transport_core::write_frame(connection_handle hdl, const link::frame_header& header,
                                 const wire::message* payload, std::size_t* written) {
  append_frame(self_->wr_buf(hdl), header, payload, written);
}

void transport_core::append_frame(std::vector<char>& buf, const link::frame_header& header,
                                  const wire::message* payload, std::size_t* written) {
  // Header and payload go into the socket's buffer back to back: the header is built in a reused
  // per-thread segment and written straight into the buffer, the payload copied once.
  const auto start = buf.size();
  link::append_frame_header(buf, header);
  if (payload != nullptr && !payload->empty()) {
    // One copy, without resize's zero-fill first.
    const auto bytes = payload->bytes();
    const auto* first = reinterpret_cast<const char*>(bytes.data());
    buf.insert(buf.end(), first, first + bytes.size());
  }
  if (written != nullptr)
    *written = buf.size() - start;
}

void transport_core::pump(session& s) {
  if (!s.conn || !s.core.attached())
    return;
  const auto hdl = *s.conn;
  const auto t = now();
  bool wrote = false;
  auto& buf = self_->wr_buf(hdl);
  // The eager scribes' limit is this one (the write_batcher is made with it, eager_io.hpp): a
  // buffer filled up to it goes CAF's write path, whose data_transferred_msg pulls more.
  while (buf.size() < cfg_.lim.write_high_water_bytes) {
    auto& f = outgoing_;  // reused: its header's strings keep their storage
    if (!s.core.next_frame(t, f))
      break;
    std::size_t n = 0;
    append_frame(buf, f.header, &f.payload, &n);
    const auto via = link::index_of(f.via);
    metrics_.add(s.m->sent_bytes[via], static_cast<double>(n));
    if (std::holds_alternative<link::data_frame>(f.header))
      metrics_.add(s.m->sent_messages[via], 1);
    if (f.retransmission)
      metrics_.add(s.m->retransmits, 1);
    wrote = true;
  }
  outgoing_.payload = wire::message{};  // the bytes are in the socket's buffer now
  if (wrote)
    self_->flush(hdl);
}

void transport_core::on_transferred(connection_handle hdl) {
  auto it = conns_.find(hdl);
  if (it == conns_.end())
    return;
  if (auto* s = find_session(*it->second))
    pump(*s);
}

// ---- Closing -------------------------------------------------------------------------------------

void transport_core::malformed(connection& c, const std::string& what) {
  metrics_.malformed_frame(!c.established ? "unknown" : c.role == peer_role::client ? "client" : "peer");
  log(log_level::warn, "malformed frame on " + describe(c) + ", closing it: " + what);
  const bool dialer = c.side == link::handshake_side::dialer;
  const auto peer = c.remote;
  close_connection(c.hdl, "malformed frame");
  if (dialer)
    if (auto it = peers_.find(peer); it != peers_.end())
      schedule_redial(*it->second);
}

void transport_core::close_connection(connection_handle hdl, const std::string& why) {
  // Pending bytes (a refusal, a goodbye) are still written: flushed first, so an idle connection
  // does not send its FIN before them (close alone drops bytes that were never flushed).
  self_->flush(hdl);
  self_->close(hdl);
  (void)why;
  forget_connection(hdl);
}

void transport_core::on_closed(connection_handle hdl) {
  auto it = conns_.find(hdl);
  if (it == conns_.end())
    return;
  const bool dialer = it->second->side == link::handshake_side::dialer;
  const auto peer = it->second->remote;
  const bool was_up = it->second->established;
  log(was_up ? log_level::info : log_level::debug, describe(*it->second) + " closed by the remote");
  forget_connection(hdl);
  if (dialer)
    if (auto p = peers_.find(peer); p != peers_.end() && !p->second->conn)
      schedule_redial(*p->second);
}

void transport_core::forget_connection(connection_handle hdl) {
  auto it = conns_.find(hdl);
  if (it == conns_.end())
    return;
  auto c = std::move(it->second);
  conns_.erase(it);
  if (!c->established && c->side == link::handshake_side::acceptor && unauthenticated_inbound_ > 0)
    --unauthenticated_inbound_;
  if (!c->established) {
    if (c->side == link::handshake_side::dialer)
      if (auto p = peers_.find(c->remote); p != peers_.end() && !p->second->conn)
        set_state(*p->second, connection_state::disconnected);
    return;
  }
  if (c->role == peer_role::client) {
    clients_.erase(c->id);
    metrics_.set_client_connections(clients_.size());
    return;
  }
  auto p = peers_.find(c->remote);
  if (p == peers_.end() || p->second->conn != hdl)
    return;
  auto& s = *p->second;
  s.conn.reset();
  s.core.detach();
  update_link_metrics(s);
  set_state(s, connection_state::disconnected);
}

// ---- Actor-facing --------------------------------------------------------------------------------

void transport_core::on_register(std::string name, caf::actor handler, bool batched) {
  log(log_level::debug, "endpoint '" + name + "' registered" + (batched ? " (batched)" : ""));
  endpoints_[std::move(name)] = endpoint{std::move(handler), batched};
}

std::uint64_t transport_core::tag_for_current_sender() {
  const auto& sender = self_->current_sender();
  if (!sender)
    return 0;
  const auto id = sender->id();
  auto [it, added] = senders_.try_emplace(id);
  if (added)
    it->second = caf::actor_cast<caf::actor_addr>(sender);
  return id;
}

void transport_core::on_send(outbound& msg) {
  auto reply_failed = [&](failure_reason why) {
    if (auto sender = caf::actor_cast<caf::actor>(self_->current_sender()))
      self_->send(sender, delivery_failed{msg.destination_node, msg.destination_endpoint,
                                          msg.message_id, why});
  };
  if (stopping_) {
    reply_failed(failure_reason::shutting_down);
    return;
  }
  if (msg.destination_node == cfg_.self) {
    // Local delivery: the same message shape, the very same buffer.
    auto it = endpoints_.find(msg.destination_endpoint);
    if (it == endpoints_.end()) {
      reply_failed(failure_reason::unknown_endpoint);
      return;
    }
    if (it->second.batched) {
      delivery_batch one{cfg_.self, std::move(msg.source_endpoint),
                         std::move(msg.destination_endpoint), msg.via, {}};
      one.payloads.push_back(std::move(msg.payload));
      self_->send(it->second.handler, std::move(one));
      return;
    }
    self_->send(it->second.handler, delivery{cfg_.self, std::move(msg.source_endpoint),
                                             std::move(msg.destination_endpoint), msg.via,
                                             std::move(msg.payload)});
    return;
  }
  auto p = peers_.find(msg.destination_node);
  if (p == peers_.end() || msg.via == lane::client) {
    reply_failed(failure_reason::unknown_peer);
    return;
  }
  auto& s = *p->second;
  const auto via = msg.via;
  const auto message_id = msg.message_id;
  link::outbound_message m{std::move(msg.destination_endpoint), std::move(msg.source_endpoint),
                           std::move(msg.payload), message_id,
                           via == lane::application ? tag_for_current_sender() : 0};
  auto r = s.core.send(via, std::move(m));
  if (!r) {
    if (r.err().code == errc::busy) {
      metrics_.add(s.m->busy[link::index_of(via)], 1);
      if (auto sender = caf::actor_cast<caf::actor>(self_->current_sender()))
        self_->send(sender, busy{s.id, via, message_id});
      return;
    }
    log(log_level::warn, "send to node " + std::to_string(s.id) + " refused: " + r.err().message);
    reply_failed(failure_reason::too_large);
    return;
  }
  // Overflow drops (raft lanes) reach the metrics through link_stats on the next tick.
  pump(s);
}

void transport_core::on_client_reply(client_reply& msg) {
  auto it = clients_.find(msg.client);
  if (it == clients_.end())
    return;  // the client went away; it retries on another connection
  auto& s = *it->second;
  auto r = s.core.send(lane::client, link::outbound_message{"client", "client", std::move(msg.payload), 0, 0});
  if (!r)
    log(log_level::warn, "reply to client " + std::to_string(msg.client) + " dropped: " +
                                r.err().message);
  pump(s);
}

void transport_core::on_set_peers(const std::map<node_id, std::string>& peers) {
  if (stopping_)
    return;
  hs_cfg_.peer_ids.clear();
  hs_cfg_.accept_any_peer = false;  // a configuration is known now: only its members may connect
  for (const auto& [id, text] : peers) {
    if (id == cfg_.self || id == 0)
      continue;
    hs_cfg_.peer_ids.insert(id);
    std::optional<address> addr;
    if (!text.empty()) {
      auto parsed = parse_address(text);
      if (!parsed) {
        log(log_level::warn, "peer " + std::to_string(id) + ": unusable address '" + text + "': " +
                                 parsed.err().message + " (it may still dial us)");
      } else {
        addr = *parsed;
      }
    }
    const bool added = peers_.find(id) == peers_.end();
    auto& s = make_peer_session(id);
    const bool moved = addr && (!s.addr || to_string(*s.addr) != to_string(*addr));
    if (addr)
      s.addr = addr;
    // The lower id dials (one link per pair). A member new to this node is dialed from both sides
    // until the first link is up: a node that joins knows nobody and may have the lower id, so it
    // cannot dial the leader that added it (on_established restores the rule).
    s.dials = (cfg_.self < id || (added && !s.ever_up)) && s.addr && s.addr->port != 0;
    if (added || moved)
      log(log_level::info, std::string(added ? "new peer " : "peer ") + std::to_string(id) +
                               (s.addr ? " at " + to_string(*s.addr) : std::string(" (no address)")) +
                               (s.dials ? ": dialing it" : ": waiting for it to dial"));
    if (s.dials && !s.conn)
      dial(s);
  }
  // Members no longer in the configuration: goodbye, then forget them (Raft never talks to them
  // again; their connections would be refused from now on).
  std::vector<node_id> gone;
  for (const auto& [id, s] : peers_)
    if (!hs_cfg_.peer_ids.contains(id))
      gone.push_back(id);
  for (auto id : gone) {
    auto& s = *peers_.at(id);
    log(log_level::info, "peer " + std::to_string(id) + " left the configuration: disconnecting");
    if (s.conn) {
      write_frame(*s.conn, link::peer_link::goodbye(link::close_reason::shutting_down, "removed from the cluster"),
                  nullptr);
      self_->flush(*s.conn);
      close_connection(*s.conn, "removed");
    }
    for (const auto& lost : s.core.abandon())
      report_lost(s, lost, failure_reason::unknown_peer);
    metrics_.set(s.m->state, static_cast<double>(connection_state::disconnected));
    peers_.erase(id);
  }
}

peer_status transport_core::status(node_id peer) const {
  peer_status st;
  st.peer = peer;
  auto it = peers_.find(peer);
  if (it == peers_.end())
    return st;
  const auto& s = *it->second;
  const auto stats = s.core.stats();
  st.state = s.state;
  st.peer_incarnation = s.core.peer_incarnation();
  st.unacknowledged = stats.unacked_messages;
  for (auto q : stats.queued_messages)
    st.queued += q;
  return st;
}

void transport_core::update_link_metrics(session& s) {
  const auto stats = s.core.stats();
  for (std::size_t i = 0; i < lane_count; ++i) {
    if (stats.dropped[i] > s.reported.dropped[i])
      metrics_.add(s.m->dropped[i], static_cast<double>(stats.dropped[i] - s.reported.dropped[i]));
  }
  s.reported = stats;
}

void transport_core::on_tick() {
  const auto t = now();
  // Handshake timeouts (collect first: a step may close the connection).
  std::vector<connection_handle> handshaking;
  for (auto& [hdl, c] : conns_)
    if (!c->established && c->hs)
      handshaking.push_back(hdl);
  for (auto hdl : handshaking)
    if (auto it = conns_.find(hdl); it != conns_.end())
      handle_handshake_step(*it->second, it->second->hs->on_tick(t));
  auto tick = [&](session& s) {
    carry_out(s, s.core.on_tick(t));
    pump(s);
    update_link_metrics(s);
  };
  for (auto& [id, s] : peers_)
    tick(*s);
  std::vector<std::uint64_t> client_ids;
  for (auto& [id, s] : clients_)
    client_ids.push_back(id);
  for (auto id : client_ids) {
    if (auto* c = find_client(id))
      carry_out(*c, c->core.on_tick(t));
    if (auto* c = find_client(id)) {  // still there: the tick's verdict may have closed it
      pump(*c);
      update_link_metrics(*c);
    }
  }
  // Forget senders that are gone (bounded table).
  if (senders_.size() > 1024)
    std::erase_if(senders_, [](const auto& kv) { return !caf::actor_cast<caf::actor>(kv.second); });
  if (!stopping_)
    self_->delayed_send(self_, cfg_.lim.tick_interval, tick_atom::value);
}

void transport_core::stop() {
  if (stopping_)
    return;
  stopping_ = true;
  log(log_level::info, "shutting down: goodbye to every peer");
  for (auto& [id, s] : peers_) {
    if (s->conn) {
      pump(*s);  // what is queued and fits goes out first
      write_frame(*s->conn, link::peer_link::goodbye(link::close_reason::shutting_down, "node stopping"),
                  nullptr);
      self_->flush(*s->conn);
      close_connection(*s->conn, "shutting down");
    }
    for (const auto& lost : s->core.abandon())
      report_lost(*s, lost, failure_reason::shutting_down);
  }
  std::vector<connection_handle> rest;
  for (auto& [hdl, c] : conns_)
    rest.push_back(hdl);
  for (auto hdl : rest)
    close_connection(hdl, "shutting down");
  self_->close(doorman_);
}

}  // namespace troupe::transport::detail

namespace troupe::transport {

namespace {

struct broker_state {
  std::unique_ptr<detail::transport_core> core;
  static inline const char* name = "troupe.transport";
};

caf::behavior transport_broker(caf::io::stateful_broker<broker_state>* self, config cfg,
                               caf::io::doorman_ptr doorman,
                               caf::intrusive_ptr<detail::write_batcher> batcher) {
  self->state.core = std::make_unique<detail::transport_core>(self, std::move(cfg));
  auto* core = self->state.core.get();
  core->start(std::move(doorman), std::move(batcher));
  // No exception may escape into CAF: the cores and codecs report errors as values; anything else
  // thrown here is a bug, and CAF's default handler then terminates this actor loudly.
  return {
      [=](outbound& msg) { core->on_send(msg); },
      [=](client_reply& msg) { core->on_client_reply(msg); },
      [=](register_atom, std::string& name, caf::actor& handler) {
        core->on_register(std::move(name), std::move(handler), false);
        return ok_atom::value;
      },
      [=](register_atom, std::string& name, caf::actor& handler, batched_atom) {
        core->on_register(std::move(name), std::move(handler), true);
        return ok_atom::value;
      },
      [=](status_atom, node_id peer) { return core->status(peer); },
      [=](set_peers& p) {
        core->on_set_peers(p.peers);
        return ok_atom::value;
      },
      [=](stop_atom) {
        core->stop();
        self->quit();
        return ok_atom::value;
      },
      [=](const caf::io::new_connection_msg& msg) { core->on_new_connection(msg.handle); },
      [=](const caf::io::new_data_msg& msg) { core->on_data(msg.handle, msg.buf); },
      [=](const caf::io::data_transferred_msg& msg) { core->on_transferred(msg.handle); },
      [=](const caf::io::connection_closed_msg& msg) { core->on_closed(msg.handle); },
      [=](const caf::io::acceptor_closed_msg&) {},
      [=](detail::dialed_atom, node_id peer, std::uint64_t gen, int fd) {
        core->on_dialed(peer, gen, fd);
      },
      [=](detail::dial_failed_atom, node_id peer, std::uint64_t gen, const std::string& why) {
        core->on_dial_failed(peer, gen, why);
      },
      [=](detail::redial_atom, node_id peer, std::uint64_t gen) { core->on_redial(peer, gen); },
      [=](detail::tick_atom) { core->on_tick(); },
  };
}

status validate(const config& cfg) {
  auto bad = [](std::string what) { return make_error(errc::invalid_argument, std::move(what)); };
  if (cfg.self == 0)
    return bad("transport: node id must be non-zero");
  if (cfg.cluster_id.empty() || cfg.cluster_id.size() > link::max_cluster_id_bytes)
    return bad("transport: cluster id must have 1.." + std::to_string(link::max_cluster_id_bytes) +
               " bytes");
  if (!cfg.node_secret)
    return bad("transport: a node secret is required");
  if (cfg.listen.host.empty())
    return bad("transport: listen host is empty");
  for (const auto& [id, a] : cfg.peers)
    if (id == 0 || a.host.empty())
      return bad("transport: peer " + std::to_string(id) + " has no usable id or host");
  if (cfg.lim.read_chunk_bytes == 0 || cfg.lim.read_chunk_min_bytes == 0 ||
      cfg.lim.write_high_water_bytes == 0 || cfg.lim.max_clients == 0 ||
      cfg.lim.max_frame_bytes == 0 || cfg.lim.tick_interval.count() <= 0)
    return bad("transport: limits must be positive");
  if (auto s = cfg.lim.lanes.validate(); !s)
    return s;
  return status::success();
}

}  // namespace

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<wire::message>("troupe.wire.message");
  cfg.add_message_type<outbound>("troupe.outbound");
  cfg.add_message_type<delivery>("troupe.delivery");
  cfg.add_message_type<delivery_batch>("troupe.delivery_batch");
  cfg.add_message_type<delivery_failed>("troupe.delivery_failed");
  cfg.add_message_type<busy>("troupe.busy");
  cfg.add_message_type<client_request>("troupe.client_request");
  cfg.add_message_type<client_reply>("troupe.client_reply");
  cfg.add_message_type<peer_status>("troupe.peer_status");
  cfg.add_message_type<set_peers>("troupe.set_peers");
}

result<spawn_result> spawn_transport(caf::actor_system& system, config cfg) {
  if (auto s = validate(cfg); !s)
    return s.err();
  if (cfg.incarnation == 0) {
    auto inc = link::random_incarnation();
    if (!inc)
      return inc.err();
    cfg.incarnation = *inc;
  }
  auto& mm = system.middleman();
  // Eager writes (eager_io.hpp) need CAF's default multiplexer, the one every build of ours runs;
  // on another backend the transport keeps CAF's own scribes.
  caf::intrusive_ptr<detail::write_batcher> batcher;
  caf::expected<caf::io::doorman_ptr> dm{caf::io::doorman_ptr{}};
  if (auto* mpx = dynamic_cast<caf::io::network::default_multiplexer*>(&mm.backend())) {
    batcher = caf::make_counted<detail::write_batcher>(*mpx, cfg.lim.write_high_water_bytes);
    dm = detail::listen_eager(*mpx, cfg.listen.port, cfg.listen.host, batcher);
  } else {
    dm = mm.backend().new_tcp_doorman(cfg.listen.port, cfg.listen.host.c_str(), true);
  }
  if (!dm)
    return make_error(errc::io, "transport: cannot listen on " + to_string(cfg.listen) + ": " +
                                    system.render(dm.error()));
  spawn_result r;
  r.port = (*dm)->port();
  r.broker = mm.spawn_broker(transport_broker, std::move(cfg), std::move(*dm), std::move(batcher));
  return r;
}

}  // namespace troupe::transport
