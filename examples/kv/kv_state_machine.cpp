#include "examples/kv/kv_state_machine.hpp"

#include <utility>
#include <variant>

#include "examples/kv/kv_snapshot.hpp"
#include "examples/kv/txn.hpp"
#include "examples/kv/wire_bytes.hpp"

namespace troupe::kv {

namespace {

using detail::answer;
using detail::to_bytes;
using wire::client_error;
using wire::client_reply;
using wire::client_request;

bool is_write(const client_request& r) {
  return std::holds_alternative<wire::kv_put>(r.body) || std::holds_alternative<wire::kv_cas>(r.body) ||
         std::holds_alternative<wire::kv_del>(r.body) || std::holds_alternative<wire::kv_txn>(r.body);
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
  // A prefix may be empty (every key); a single key may not.
  if (const auto* range = std::get_if<wire::kv_range>(&request.body)) {
    return range->prefix && range->key.empty() ? std::string() : key_problem(range->key);
  }
  if (const auto* changes = std::get_if<wire::kv_changes>(&request.body)) {
    return changes->prefix && changes->key.empty() ? std::string() : key_problem(changes->key);
  }
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
  auto request = detail::decode_request(command, options_.max_request_bytes);
  if (!request) {
    last_outcome_ = apply_outcome::invalid;
    ++stats_.invalid;
    return to_bytes(detail::undecodable(request.err()));
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

std::string kv_state_machine::snapshot() const { return encode_snapshot(store_, sessions_, applied_index_); }

std::size_t kv_state_machine::snapshot_size() const { return kv::snapshot_size(store_, sessions_); }

void kv_state_machine::append_snapshot(std::string& out) const {
  kv::append_snapshot(out, store_, sessions_, applied_index_);
}

status kv_state_machine::restore(std::uint64_t index, std::string_view image) {
  kv_store store(options_.history);
  session_table sessions(options_.sessions);
  auto at = decode_snapshot(image, store, sessions);
  if (!at) return at.err();
  if (*at != index) {
    return make_error(errc::invalid_argument, "kv snapshot taken at index " + std::to_string(*at) +
                                                  " offered as the snapshot of index " + std::to_string(index));
  }
  store_ = std::move(store);
  sessions_ = std::move(sessions);
  applied_index_ = index;
  return {};
}

client_reply kv_state_machine::execute(const client_request& req) {
  if (!is_write(req)) {
    return answer(req, client_error::invalid_request,
                  std::string(detail::kind_name(req)) + " is not a write: send it as a query");
  }
  if (const auto* txn = std::get_if<wire::kv_txn>(&req.body)) return execute_txn(req, *txn);
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

client_reply kv_state_machine::execute_txn(const client_request& req, const wire::kv_txn& txn) {
  txn_limits limits;
  limits.max_compares = options_.max_txn_compares;
  limits.max_operations = options_.max_txn_operations;
  limits.max_key_bytes = options_.max_key_bytes;
  limits.max_value_bytes = options_.max_value_bytes;
  limits.max_read_bytes = options_.max_read_reply_bytes;
  if (auto problem = check_txn(store_, txn, limits); !problem.empty()) {
    return answer(req, client_error::invalid_request, std::move(problem));
  }
  // A transaction whose compares fail is not an error: it ran its failure branch (etcd's Txn).
  client_reply reply = answer(req, client_error::ok, {});
  reply.body = run_txn(store_, txn);
  return reply;
}

}  // namespace troupe::kv
