#include "examples/kv/kv_state_machine.hpp"

#include <span>
#include <utility>
#include <variant>

#include "runtime/wire/client_codec.hpp"

namespace troupe::kv {

namespace {

using wire::client_error;
using wire::client_reply;
using wire::client_request;

std::string to_bytes(const client_reply& reply) {
  const wire::message msg = wire::encode(reply);  // owns the bytes: keep it while copying
  const auto bytes = msg.bytes();
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

/// Decodes an encoded ClientRequest; never throws (message::parse and the codec return errors).
result<client_request> decode(std::string_view bytes, std::size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return make_error(errc::too_large, "request of " + std::to_string(bytes.size()) +
                                           " bytes is over the limit of " + std::to_string(max_bytes));
  }
  wire::reader_limits limits;
  limits.max_frame_bytes = max_bytes;
  auto msg = wire::message::parse(std::as_bytes(std::span(bytes.data(), bytes.size())), limits);
  if (!msg) return msg.err();
  return wire::decode_client_request(*msg);
}

client_reply invalid_bytes(const error& err) {
  client_reply reply;
  reply.error = client_error::invalid_request;
  reply.error_message = "cannot decode the request: " + err.message;
  return reply;
}

const char* kind_name(const client_request& r) {
  switch (r.body.index()) {
    case 0: return "put";
    case 1: return "get";
    case 2: return "cas";
    case 3: return "del";
    case 4: return "ping";
    case 5: return "status";
    default: return "unknown";
  }
}

bool is_write(const client_request& r) {
  return std::holds_alternative<wire::kv_put>(r.body) || std::holds_alternative<wire::kv_cas>(r.body) ||
         std::holds_alternative<wire::kv_del>(r.body);
}

}  // namespace

const char* to_string(apply_outcome o) noexcept {
  switch (o) {
    case apply_outcome::applied: return "applied";
    case apply_outcome::duplicate: return "duplicate";
    case apply_outcome::stale: return "stale";
    case apply_outcome::expired: return "expired";
    case apply_outcome::invalid: return "invalid";
  }
  return "unknown";
}

kv_state_machine::kv_state_machine(kv_options options)
    : options_(options), store_(options.history), sessions_(options.sessions) {}

client_reply kv_state_machine::answer(const client_request& request, client_error error, std::string message) {
  client_reply reply;
  reply.client_id = request.client_id;
  reply.sequence = request.sequence;
  reply.error = error;
  reply.error_message = std::move(message);
  return reply;
}

std::string kv_state_machine::check_limits(const client_request& request) const {
  auto key_problem = [this](const std::string& key) -> std::string {
    if (key.empty()) return "the key is empty";
    if (key.size() > options_.max_key_bytes) {
      return "key of " + std::to_string(key.size()) + " bytes is over the limit of " +
             std::to_string(options_.max_key_bytes);
    }
    return {};
  };
  auto value_problem = [this](const std::string& value) -> std::string {
    if (value.size() <= options_.max_value_bytes) return {};
    return "value of " + std::to_string(value.size()) + " bytes is over the limit of " +
           std::to_string(options_.max_value_bytes);
  };
  if (const auto* put = std::get_if<wire::kv_put>(&request.body)) {
    if (auto p = key_problem(put->key); !p.empty()) return p;
    return value_problem(put->value);
  }
  if (const auto* cas = std::get_if<wire::kv_cas>(&request.body)) {
    if (auto p = key_problem(cas->key); !p.empty()) return p;
    // An expected value larger than any stored value could never match; refuse it as the put would.
    if (cas->expected) {
      if (auto p = value_problem(*cas->expected); !p.empty()) return "expected " + p;
    }
    return value_problem(cas->new_value);
  }
  if (const auto* del = std::get_if<wire::kv_del>(&request.body)) return key_problem(del->key);
  if (const auto* get = std::get_if<wire::kv_get>(&request.body)) return key_problem(get->key);
  return {};
}

std::string kv_state_machine::apply(std::uint64_t index, std::string_view command) {
  if (index <= applied_index_) {
    // The caller re-applied an index: doing it again could apply a command twice.
    last_outcome_ = apply_outcome::invalid;
    client_reply reply;
    reply.error = client_error::internal;
    reply.error_message = "index " + std::to_string(index) + " is not above the applied index " +
                          std::to_string(applied_index_);
    return to_bytes(reply);
  }
  applied_index_ = index;
  auto request = decode(command, options_.max_request_bytes);
  if (!request) {
    last_outcome_ = apply_outcome::invalid;
    ++stats_.invalid;
    return to_bytes(invalid_bytes(request.err()));
  }
  const client_request& req = *request;
  if (req.client_id == 0 || req.sequence == 0) {
    last_outcome_ = apply_outcome::invalid;
    ++stats_.invalid;
    return to_bytes(answer(req, client_error::invalid_request, "clientId and sequence must be non-zero"));
  }
  switch (sessions_.check(req.client_id, req.sequence)) {
    case session_verdict::duplicate:
      last_outcome_ = apply_outcome::duplicate;
      ++stats_.duplicates;
      sessions_.touch(req.client_id, index);
      return std::string(sessions_.cached_reply(req.client_id));
    case session_verdict::stale:
      last_outcome_ = apply_outcome::stale;
      ++stats_.stale;
      return to_bytes(answer(req, client_error::invalid_request,
                             "sequence " + std::to_string(req.sequence) + " is older than the session's last " +
                                 std::to_string(sessions_.last_sequence(req.client_id)) +
                                 ": its reply is no longer kept"));
    case session_verdict::expired:
      last_outcome_ = apply_outcome::expired;
      ++stats_.expired;
      return to_bytes(answer(req, client_error::session_expired,
                             "no session for client " + std::to_string(req.client_id) + " at sequence " +
                                 std::to_string(req.sequence) + ": start a new session (new client id)"));
    case session_verdict::fresh: break;
  }
  // From here on the request is consumed by its session: even a refusal is cached, so a retry of it
  // gets the same answer.
  last_outcome_ = apply_outcome::applied;
  ++stats_.applied;
  std::string reply = to_bytes(execute(req));
  sessions_.record(req.client_id, req.sequence, reply, index);
  return reply;
}

client_reply kv_state_machine::execute(const client_request& req) {
  if (!is_write(req)) {
    return answer(req, client_error::invalid_request,
                  std::string(kind_name(req)) + " is not a write: send it as a query");
  }
  if (auto problem = check_limits(req); !problem.empty()) {
    return answer(req, client_error::invalid_request, std::move(problem));
  }
  client_reply reply = answer(req, client_error::ok, {});
  if (const auto* put = std::get_if<wire::kv_put>(&req.body)) {
    (void)store_.write({write_op{change_kind::put, put->key, put->value}});
    return reply;
  }
  if (const auto* del = std::get_if<wire::kv_del>(&req.body)) {
    std::vector<bool> existed;
    (void)store_.write({write_op{change_kind::del, del->key, {}}}, &existed);
    reply.body = wire::del_result{existed.front()};
    return reply;
  }
  const auto& cas = std::get<wire::kv_cas>(req.body);
  const key_record* current = store_.find(cas.key);
  const bool matches = cas.expected ? (current != nullptr && current->value == *cas.expected) : current == nullptr;
  if (!matches) {
    reply.error = client_error::cas_mismatch;
    reply.error_message = current ? "the key holds another value" : "the key does not exist";
    wire::cas_result result;
    if (current) result.current = current->value;
    reply.body = std::move(result);
    return reply;
  }
  (void)store_.write({write_op{change_kind::put, cas.key, cas.new_value}});
  reply.body = wire::cas_result{true, std::nullopt};
  return reply;
}

std::string kv_state_machine::query(std::string_view bytes) const {
  ++queries_;
  auto request = decode(bytes, options_.max_request_bytes);
  if (!request) return to_bytes(invalid_bytes(request.err()));
  const client_request& req = *request;
  const auto* get = std::get_if<wire::kv_get>(&req.body);
  if (get == nullptr) {
    return to_bytes(answer(req, client_error::invalid_request,
                           std::string(kind_name(req)) + " is not a read: propose it through the log"));
  }
  if (auto problem = check_limits(req); !problem.empty()) {
    return to_bytes(answer(req, client_error::invalid_request, std::move(problem)));
  }
  client_reply reply = answer(req, client_error::ok, {});
  if (const key_record* rec = store_.find(get->key)) {
    reply.body = wire::kv_value{true, rec->value};
  } else {
    reply.error = client_error::no_such_key;
    reply.error_message = "no such key";
    reply.body = wire::kv_value{false, {}};
  }
  return to_bytes(reply);
}

}  // namespace troupe::kv
