#include "runtime/client/client_link.hpp"

#include <cstring>

#include "runtime/client/connection.hpp"
#include "runtime/transport/link/frame_codec.hpp"
#include "runtime/wire/client_codec.hpp"

namespace troupe::client {

namespace {

link::handshake_config handshake_config_of(const client_link_config& c) {
  link::handshake_config hc;
  hc.cluster_id = c.cluster_id;
  hc.self_id = c.client_id;
  hc.incarnation = c.incarnation;
  hc.self_role = link::peer_role::client;
  hc.client_secret = c.client_secret;
  hc.timeout = c.handshake_timeout;
  return hc;
}

link::connection_facts facts_of(const client_link_config& c) {
  link::connection_facts facts;
  facts.side = link::handshake_side::dialer;
  facts.local_nonce = c.nonce;
  return facts;
}

}  // namespace

client_link::client_link(client_link_config config)
    : config_(std::move(config)),
      source_("client-" + std::to_string(config_.client_id)),
      handshake_(handshake_config_of(config_), facts_of(config_)) {}

std::vector<char> client_link::goodbye_bytes(const std::string& why) {
  std::vector<char> out;
  link::append_frame_header(out, link::peer_link::goodbye(link::close_reason::shutting_down, why));
  return out;
}

status client_link::fail(const error& e) {
  if (broken_.empty()) {
    broken_ = e.message;
    broken_code_ = e.code;
  }
  return e;
}

void client_link::append(const link::frame_header& header, const wire::message* payload) {
  // Header and payload back to back: the caller writes them in one system call.
  link::append_frame_header(out_, header);
  if (payload != nullptr && !payload->empty()) {
    const auto bytes = payload->bytes();
    const auto old = out_.size();
    out_.resize(old + bytes.size());
    std::memcpy(out_.data() + old, bytes.data(), bytes.size());
  }
}

status client_link::start(std::chrono::nanoseconds now) {
  if (auto st = handshake_config_of(config_).validate(); !st) return fail(st.err());
  return run_step(handshake_.start(now), now);
}

status client_link::run_step(link::handshake_step step, std::chrono::nanoseconds now) {
  for (auto& h : step.to_write) append(h, nullptr);
  if (step.failure) {
    const std::string why = std::string(link::to_string(step.failure->reason)) +
                            (step.failure->detail.empty() ? "" : " (" + step.failure->detail + ")");
    // Only a refusal of who we are is final for callers (kv_client gives up); a timeout or a
    // closed handshake they retry on another node.
    switch (handshake_error_code(step.failure->reason)) {
      case errc::refused:
        return fail(make_error(errc::refused, "node at " + config_.address + " refused the connection: " + why));
      case errc::timeout:
        return fail(make_error(errc::timeout, "handshake with " + config_.address + " timed out: " + why));
      default:
        return fail(make_error(errc::closed, "node at " + config_.address + " closed the handshake: " + why));
    }
  }
  if (step.outcome) {
    node_id_ = step.outcome->remote_id;
    link::peer_link_config lc;
    lc.self_incarnation = config_.incarnation;
    link_ = std::make_unique<link::peer_link>(lc);
    if (auto st = handle(link_->attach(*step.outcome, now)); !st) return st;
    return flush_link(now);
  }
  return {};
}

status client_link::handle(link::link_events events) {
  for (auto& d : events.deliveries) {
    if (d.payload.empty()) continue;
    auto reply = wire::decode_client_reply(d.payload);
    if (!reply) return fail(make_error(errc::malformed, "reply from " + config_.address + ": " + reply.err().message));
    replies_.push_back(std::move(*reply));
  }
  if (events.close) {
    return fail(make_error(errc::closed, "connection to " + config_.address + " closed: " +
                                             std::string(link::to_string(*events.close)) + " " +
                                             events.close_detail));
  }
  return {};
}

status client_link::flush_link(std::chrono::nanoseconds now) {
  while (auto f = link_->next_frame(now)) append(f->header, &f->payload);
  return {};
}

status client_link::on_bytes(std::span<const std::byte> bytes, std::chrono::nanoseconds now) {
  if (!broken_.empty()) return make_error(broken_code_, broken_);
  assembler_.append(bytes);
  for (;;) {
    auto m = assembler_.next();
    if (!m) return fail(make_error(errc::malformed, "from " + config_.address + ": " + m.err().message));
    if (!m->has_value()) break;
    if (awaiting_payload_) {
      // The message after a data header with has_payload is that frame's payload.
      link::frame_header h = std::move(*awaiting_payload_);
      awaiting_payload_.reset();
      if (auto st = handle(link_->on_frame(h, std::move(**m), now)); !st) return st;
      continue;
    }
    auto h = link::decode_frame_header(**m);
    if (!h) return fail(make_error(errc::malformed, "from " + config_.address + ": " + h.err().message));
    if (!established()) {
      if (auto st = run_step(handshake_.on_frame(*h, now), now); !st) return st;
      continue;
    }
    if (auto* d = std::get_if<link::data_frame>(&*h); d != nullptr && d->has_payload) {
      awaiting_payload_ = std::move(*d);
      continue;
    }
    if (auto st = handle(link_->on_frame(*h, wire::message{}, now)); !st) return st;
  }
  return established() ? flush_link(now) : status{};
}

status client_link::on_tick(std::chrono::nanoseconds now) {
  if (!broken_.empty()) return make_error(broken_code_, broken_);
  if (!established()) return run_step(handshake_.on_tick(now), now);
  if (auto st = handle(link_->on_tick(now)); !st) return st;
  return flush_link(now);
}

status client_link::send(const wire::client_request& request, std::chrono::nanoseconds now) {
  if (!broken_.empty()) return make_error(broken_code_, broken_);
  if (!established()) return make_error(errc::internal, "send before the handshake finished");
  link::outbound_message m;
  m.destination = client_service_endpoint;
  m.source = source_;
  m.payload = wire::encode(request);
  if (auto sent = link_->send(link::lane::client, std::move(m)); !sent) return fail(sent.err());
  return flush_link(now);
}

}  // namespace troupe::client
