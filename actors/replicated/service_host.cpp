// The service host: routing by service name, generic client sessions, fallback to key-value.
#include "actors/replicated/service_host.hpp"

#include <cassert>
#include <span>
#include <utility>
#include <variant>

#include "runtime/wire/client_codec.hpp"

namespace troupe::replicated {

namespace {

using wire::client_error;
using wire::client_reply;
using wire::client_request;

std::string to_bytes(const client_reply& reply) {
  const wire::message msg = wire::encode(reply);  // owns the bytes: keep it while copying
  const auto bytes = msg.bytes();
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

client_reply answer(std::uint64_t client, std::uint64_t sequence, client_error error, std::string message) {
  client_reply reply;
  reply.client_id = client;
  reply.sequence = sequence;
  reply.error = error;
  reply.error_message = std::move(message);
  return reply;
}

std::string refusal(const client_request* request, client_error error, std::string message) {
  return to_bytes(answer(request ? request->client_id : 0, request ? request->sequence : 0, error,
                         std::move(message)));
}

result<wire::message> parse(std::string_view bytes, std::size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return make_error(errc::too_large, "request of " + std::to_string(bytes.size()) +
                                           " bytes is over the limit of " + std::to_string(max_bytes));
  }
  wire::reader_limits limits;
  limits.max_frame_bytes = max_bytes;
  return wire::message::parse(std::as_bytes(std::span(bytes.data(), bytes.size())), limits);
}

}  // namespace

service_host::service_host(std::unique_ptr<raft::state_machine> fallback, host_options options)
    : fallback_(std::move(fallback)), options_(options), sessions_(options.sessions) {}

void service_host::add(std::string name, std::unique_ptr<service> s) {
  assert(!name.empty() && s != nullptr);
  const bool fresh = services_.emplace(std::move(name), std::move(s)).second;
  assert(fresh && "a service name is registered twice");
  (void)fresh;
}

const service* service_host::find(std::string_view name) const {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second.get();
}

std::string service_host::apply(std::uint64_t index, std::string_view command) {
  if (index <= applied_) {
    // The caller re-applied an index: doing it again could apply a command twice.
    return refusal(nullptr, client_error::internal,
                   "index " + std::to_string(index) + " is not above the applied index " +
                       std::to_string(applied_));
  }
  applied_ = index;
  auto msg = parse(command, options_.max_request_bytes);
  if (msg && !wire::is_app_request(*msg) && fallback_) {
    ++stats_.delegated;
    return fallback_->apply(index, command);
  }
  if (!msg) {
    ++stats_.invalid;
    return refusal(nullptr, client_error::invalid_request, "cannot decode the request: " + msg.err().message);
  }
  return apply_app(index, *msg);
}

std::string service_host::apply_app(std::uint64_t index, const wire::message& msg) {
  auto decoded = wire::decode_client_request(msg);
  if (!decoded) {
    ++stats_.invalid;
    return refusal(nullptr, client_error::invalid_request, "cannot decode the request: " + decoded.err().message);
  }
  const client_request& req = *decoded;
  const auto* app = std::get_if<wire::app_request>(&req.body);
  auto invalid = [&](std::string why) {
    ++stats_.invalid;
    return refusal(&req, client_error::invalid_request, std::move(why));
  };
  if (app == nullptr) return invalid("this node serves only application requests (no key-value service)");
  if (req.client_id == 0 || req.sequence == 0) return invalid("clientId and sequence must be non-zero");
  if (app->call != wire::app_call::command) return invalid("a query sent as a command: send it as a query");
  auto it = services_.find(app->service);
  if (it == services_.end()) return invalid("no service named '" + app->service + "' on this node");

  switch (sessions_.check(req.client_id, req.sequence)) {
    case session_verdict::duplicate:
      ++stats_.duplicates;
      sessions_.touch(req.client_id, index);
      return std::string(sessions_.cached_reply(req.client_id));
    case session_verdict::stale:
      ++stats_.stale;
      return refusal(&req, client_error::invalid_request,
                     "sequence " + std::to_string(req.sequence) + " is older than the session's last " +
                         std::to_string(sessions_.last_sequence(req.client_id)) +
                         ": its reply is no longer kept");
    case session_verdict::expired:
      ++stats_.expired;
      return refusal(&req, client_error::session_expired,
                     "no session for client " + std::to_string(req.client_id) + " at sequence " +
                         std::to_string(req.sequence) + ": start a new session (new client id)");
    case session_verdict::fresh: break;
  }
  // From here on the command is consumed by its session: even a refusal is recorded, so a retry
  // gets the same answer (thesis §6.3).
  ++stats_.applied;
  auto out = it->second->apply(apply_context{index, req.client_id, req.sequence}, app->payload);
  client_reply reply = answer(req.client_id, req.sequence, client_error::ok, {});
  if (out) {
    reply.body = wire::app_reply{std::move(*out), index};
  } else {
    reply.error = client_error::invalid_request;
    reply.error_message = app->service + ": " + out.err().message;
  }
  std::string bytes = to_bytes(reply);
  sessions_.record(req.client_id, req.sequence, bytes, index);
  return bytes;
}

std::string service_host::query(std::string_view request) const {
  auto msg = parse(request, options_.max_request_bytes);
  if (msg && !wire::is_app_request(*msg) && fallback_) return fallback_->query(request);
  ++queries_;
  auto decoded = msg ? wire::decode_client_request(*msg) : result<client_request>(msg.err());
  if (!decoded) {
    return refusal(nullptr, client_error::invalid_request, "cannot decode the request: " + decoded.err().message);
  }
  const client_request& req = *decoded;
  const auto* app = std::get_if<wire::app_request>(&req.body);
  if (app == nullptr) {
    return refusal(&req, client_error::invalid_request, "this node serves only application requests");
  }
  if (app->call != wire::app_call::query) {
    return refusal(&req, client_error::invalid_request, "a command sent as a query: propose it");
  }
  auto it = services_.find(app->service);
  if (it == services_.end()) {
    return refusal(&req, client_error::invalid_request, "no service named '" + app->service + "' on this node");
  }
  auto out = it->second->query(app->payload);
  if (!out) return refusal(&req, client_error::invalid_request, app->service + ": " + out.err().message);
  client_reply reply = answer(req.client_id, req.sequence, client_error::ok, {});
  // The applied index this answer reflects: a session client never accepts less later (monotonic
  // reads) and asks followers for at least its own writes' indexes (read your writes).
  reply.body = wire::app_reply{std::move(*out), applied_};
  return to_bytes(reply);
}

}  // namespace troupe::replicated
