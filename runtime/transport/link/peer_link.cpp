#include "runtime/transport/link/peer_link.hpp"

// GCC 12 -Wmaybe-uninitialized false positives on moved variants holding strings (GCC 105562).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>

namespace troupe::link {
namespace {

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

retransmit_limits retransmit_limits_of(const lane_config& lanes) {
  const auto& l = lanes.limits[index_of(lane::application)];
  return {l.max_messages, l.max_bytes};
}

}  // namespace

status peer_link_config::validate() const {
  if (self_incarnation == 0)
    return make_error(errc::invalid_argument, "self_incarnation must be non-zero");
  if (auto st = lanes.validate(); !st) return st;
  if (ack_every_deliveries == 0)
    return make_error(errc::invalid_argument, "ack_every_deliveries must be non-zero");
  if (ping_interval <= std::chrono::nanoseconds::zero())
    return make_error(errc::invalid_argument, "ping_interval must be positive");
  if (idle_timeout <= ping_interval)
    return make_error(errc::invalid_argument, "idle_timeout must exceed ping_interval");
  if (max_payload_bytes == 0)
    return make_error(errc::invalid_argument, "max_payload_bytes must be non-zero");
  return status::success();
}

peer_link::peer_link(peer_link_config config)
    : config_(std::move(config)),
      queues_(config_.lanes),
      scheduler_(config_.lanes),
      sender_(retransmit_limits_of(config_.lanes)),
      receiver_(config_.ack_every_deliveries) {
  if (auto st = config_.validate(); !st) {
    // A programmer error (the shell validates its configuration first): stop and say which.
    std::fprintf(stderr, "troupe link: invalid peer_link_config: %s\n", st.err().message.c_str());
    std::abort();
  }
}

// ---- sending ------------------------------------------------------------------------------------

result<send_outcome> peer_link::send(lane l, outbound_message&& m) {
  if (m.destination.size() > max_endpoint_bytes || m.source.size() > max_endpoint_bytes)
    return make_error(errc::invalid_argument,
                      "endpoint name over " + std::to_string(max_endpoint_bytes) + " bytes");
  if (!m.payload.empty() && m.payload.size_bytes() > config_.max_payload_bytes)
    return make_error(errc::too_large, "payload of " + std::to_string(m.payload.size_bytes()) +
                                           " bytes exceeds the frame limit of " +
                                           std::to_string(config_.max_payload_bytes));
  if (l != lane::application) {
    return queues_.push(l, std::move(m));  // drops are counted by lane_queues
  }
  auto seq = sender_.push(std::move(m));
  if (!seq) return seq.err();
  return send_outcome::queued;
}

bool peer_link::has_room(lane l, std::size_t bytes) const noexcept {
  if (l == lane::application) return sender_.has_room(bytes);
  const lane_limits& lim = config_.lanes.limits[index_of(l)];
  return queues_.queued_messages(l) < lim.max_messages && bytes <= lim.max_bytes &&
         queues_.queued_bytes(l) <= lim.max_bytes - bytes;
}

// ---- lifecycle ----------------------------------------------------------------------------------

link_events peer_link::attach(const handshake_outcome& outcome, std::chrono::nanoseconds now) {
  if (attached_) detach();
  link_events events;
  auto lost =
      sender_.attach(config_.self_incarnation, outcome.remote_incarnation, outcome.remote_resume);
  if (!lost) {
    events.close = close_reason::protocol_error;
    events.close_detail = "cannot resume the application lane: " + lost.err().message;
    return events;
  }
  receiver_.attach(outcome.remote_incarnation);
  attached_ = true;
  peer_incarnation_ = outcome.remote_incarnation;
  peer_role_ = outcome.remote_role;
  last_received_ = now;
  last_ping_at_ = now;
  pong_owed_.reset();
  ping_in_flight_ = false;
  ping_due_ = false;
  ack_owed_ = false;
  stats_.lost_reported += lost->size();
  events.lost = std::move(*lost);
  return events;
}

void peer_link::detach() noexcept {
  if (!attached_) return;
  attached_ = false;
  sender_.on_disconnect();
  // Raft retries and clients retry: what was queued for this connection dies with it.
  for (lane l : {lane::raft_control, lane::raft_bulk, lane::client}) queues_.clear(l);
  pong_owed_.reset();
  ping_in_flight_ = false;
  ping_due_ = false;
  ack_owed_ = false;
}

link_events peer_link::close_with(close_reason reason, std::string detail) {
  link_events events;
  events.close = reason;
  events.close_detail = std::move(detail);
  detach();  // nothing more is read or written on this connection
  return events;
}

std::vector<lost_message> peer_link::abandon() {
  auto lost = sender_.abandon();
  stats_.lost_reported += lost.size();
  return lost;
}

// ---- receiving ----------------------------------------------------------------------------------

bool peer_link::data_frame_attached(const data_frame& d, bool payload_present,
                                    link_events& events) {
  if (d.has_payload != payload_present) {
    events = close_with(close_reason::protocol_error,
                        d.has_payload ? "data frame announced a payload but none came"
                                      : "payload given for a data frame without one");
    return false;
  }
  if (peer_role_ == peer_role::client && d.via != lane::client) {
    // A client never speaks for Raft or for application endpoints.
    events = close_with(close_reason::protocol_error,
                        "a client sent on lane " + std::string(to_string(d.via)));
    return false;
  }
  if (!take_ack(d.ack, events)) return false;
  ++stats_.frames_received[index_of(d.via)];
  if (d.via != lane::application) return true;
  auto verdict = receiver_.on_data(d.seq);
  if (!verdict) {
    events = close_with(close_reason::protocol_error, verdict.err().message);
    return false;
  }
  if (receiver_.ack_due()) ack_owed_ = true;
  return *verdict == reliable_receiver::verdict::deliver;
}

bool peer_link::take_ack(std::uint64_t ack, link_events& events) {
  if (auto st = sender_.on_ack(ack); !st) {
    events = close_with(close_reason::protocol_error, st.err().message);
    return false;
  }
  return true;
}

bool peer_link::accept_data_frame(const data_frame& header, bool payload_present,
                                  std::chrono::nanoseconds now, link_events& events) {
  if (!attached_) return false;
  last_received_ = now;
  return data_frame_attached(header, payload_present, events);
}

link_events peer_link::on_frame(const frame_header& header, wire::message payload,
                                std::chrono::nanoseconds now) {
  link_events events;
  on_frame(frame_header{header}, std::move(payload), now, events);
  return events;
}

void peer_link::on_frame(frame_header&& header, wire::message payload, std::chrono::nanoseconds now,
                         link_events& events) {
  if (!attached_) return;
  last_received_ = now;
  if (!payload.empty() && !std::holds_alternative<data_frame>(header)) {
    events = close_with(close_reason::protocol_error,
                        "payload given for a " + std::string(kind_name(header)) + " frame");
    return;
  }
  std::visit(
      overloaded{
          [&](data_frame& d) {
            if (data_frame_attached(d, !payload.empty(), events))
              events.deliveries.push_back(
                  inbound_delivery{d.via, d.via == lane::application ? d.seq : 0,
                                   std::move(d.destination), std::move(d.source),
                                   std::move(payload)});
          },
          [&](const ack_frame& a) { (void)take_ack(a.ack, events); },
          [&](const ping_frame& p) { pong_owed_ = p.sent_at_ns; },
          [&](const pong_frame& p) {
            // Only the answer to our own outstanding ping measures anything.
            if (ping_in_flight_ && p.echo_ns == last_ping_at_.count() && now >= last_ping_at_) {
              stats_.last_rtt = now - last_ping_at_;
              ping_in_flight_ = false;
            }
          },
          [&](const goodbye_frame& g) {
            events = close_with(g.reason, "the peer said goodbye: " + g.text);
          },
          [&](const auto& other) {
            events = close_with(close_reason::protocol_error,
                                std::string("unexpected ") +
                                    std::string(kind_name(frame_header{other})) +
                                    " frame on an established link");
          },
      },
      header);
}

link_events peer_link::on_tick(std::chrono::nanoseconds now) {
  if (!attached_) return {};
  if (now - last_received_ >= config_.idle_timeout)
    return close_with(close_reason::idle_timeout,
                      "nothing received for " +
                          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             now - last_received_)
                                             .count()) +
                          " ms");
  if (receiver_.ack_pending()) ack_owed_ = true;
  if (!ping_in_flight_ && now - last_ping_at_ >= config_.ping_interval) ping_due_ = true;
  return {};
}

// ---- writing ------------------------------------------------------------------------------------

std::array<std::optional<std::size_t>, lane_count> peer_link::heads(
    const pending_message* unsent) const noexcept {
  std::array<std::optional<std::size_t>, lane_count> h{};
  for (lane l : {lane::raft_control, lane::raft_bulk, lane::client})
    h[index_of(l)] = queues_.head_bytes(l);
  if (unsent != nullptr) h[index_of(lane::application)] = unsent->bytes;
  return h;
}

bool peer_link::wants_to_write() const noexcept {
  if (!attached_) return false;
  if (pong_owed_ || ack_owed_ || ping_due_) return true;
  for (const auto& h : heads(sender_.peek_unsent()))
    if (h) return true;
  return false;
}

bool peer_link::next_data_frame(outgoing_frame& out) {
  const pending_message* unsent = sender_.peek_unsent();
  // Every pump ends with a call that finds nothing queued: heads() is then all empty, and the
  // scheduler sees the idle round it must see (deficits reset).
  const auto picked = scheduler_.pick(heads(unsent));
  if (!picked) return false;
  const lane l = *picked;
  out.via = l;
  out.retransmission = false;
  auto* reused = std::get_if<data_frame>(&out.header);
  data_frame& d = reused != nullptr ? *reused : out.header.emplace<data_frame>();
  d.via = l;
  d.seq = 0;
  if (l == lane::application) {
    const pending_message* p = unsent;
    assert(p != nullptr);
    d.seq = p->seq;
    d.destination = p->message.destination;  // copied into the reused strings' storage
    d.source = p->message.source;
    out.payload = p->message.payload;  // shared by reference: the buffer stays for retransmission
    const auto before = sender_.retransmitted_total();
    sender_.mark_sent();
    out.retransmission = sender_.retransmitted_total() != before;
    if (out.retransmission) ++stats_.retransmitted;
  } else {
    outbound_message m = queues_.pop(l);
    d.destination = std::move(m.destination);
    d.source = std::move(m.source);
    out.payload = std::move(m.payload);
  }
  d.has_payload = !out.payload.empty();
  d.ack = receiver_.take_ack();  // every data frame carries the cumulative ack
  ack_owed_ = false;
  ++stats_.frames_sent[index_of(l)];
  return true;
}

std::optional<outgoing_frame> peer_link::next_frame(std::chrono::nanoseconds now) {
  outgoing_frame out;
  if (!next_frame(now, out)) return std::nullopt;
  return out;
}

bool peer_link::next_frame(std::chrono::nanoseconds now, outgoing_frame& out) {
  if (!attached_) return false;
  // Link-internal frames first: each is tiny and at most one of each is pending.
  const auto internal = [&](frame_header h) {
    out.header = std::move(h);
    out.payload = wire::message{};
    out.via = lane::raft_control;
    out.retransmission = false;
    return true;
  };
  if (pong_owed_) {
    const auto echo = *pong_owed_;
    pong_owed_.reset();
    return internal(pong_frame{echo});
  }
  if (ping_due_) {
    ping_due_ = false;
    ping_in_flight_ = true;
    last_ping_at_ = now;
    return internal(ping_frame{now.count()});
  }
  if (next_data_frame(out)) return true;
  if (ack_owed_) {
    ack_owed_ = false;
    return internal(ack_frame{receiver_.take_ack()});
  }
  return false;
}

frame_header peer_link::goodbye(close_reason reason, std::string text) {
  return goodbye_frame{reason, std::move(text)};
}

link_stats peer_link::stats() const {
  link_stats s = stats_;
  for (lane l : {lane::raft_control, lane::raft_bulk, lane::client}) {
    s.queued_messages[index_of(l)] = queues_.queued_messages(l);
    s.dropped[index_of(l)] = queues_.dropped_total(l);
  }
  s.queued_messages[index_of(lane::application)] = sender_.unsent_messages();
  s.duplicates_received = receiver_.duplicates_total();
  s.unacked_messages = sender_.buffered_messages();
  s.unacked_bytes = sender_.buffered_bytes();
  return s;
}

status peer_link::check_invariants() const {
  if (auto st = queues_.check_invariants(); !st) return st;
  if (auto st = sender_.check_invariants(); !st) return st;
  if (!attached_ && (pong_owed_ || ping_due_ || ping_in_flight_ || ack_owed_))
    return make_error(errc::internal, "peer_link invariant: link frames pending while detached");
  if (attached_ && sender_.bound_incarnation() != peer_incarnation_)
    return make_error(errc::internal,
                      "peer_link invariant: sequence space bound to another incarnation");
  return status::success();
}

}  // namespace troupe::link
