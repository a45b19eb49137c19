#include "runtime/client/kv_client.hpp"

#include <algorithm>
#include <cassert>
#include <thread>

#include "runtime/base/host_port.hpp"
#include "runtime/client/connection.hpp"
#include "runtime/transport/backoff.hpp"
#include "runtime/transport/link/auth_proof.hpp"

namespace troupe::client {

namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

std::uint64_t random_u64_nonzero() {
  auto id = link::random_incarnation();  // OpenSSL's CSPRNG, never 0
  if (id) return *id;
  std::random_device rd;  // fallback if the CSPRNG failed: still random, still non-zero
  std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd();
  return v == 0 ? 1 : v;
}

/// A kv_client link over a real `connection`.
class connection_link final : public node_link {
 public:
  explicit connection_link(std::unique_ptr<connection> c) : conn_(std::move(c)) {}
  std::uint64_t node_id() const override { return conn_->node_id(); }
  result<wire::client_reply> call(const wire::client_request& request,
                                  milliseconds deadline) override {
    return conn_->call(request, deadline);
  }

 private:
  std::unique_ptr<connection> conn_;
};

bool is_ok_body_for(const wire::client_request& req, const wire::client_reply& reply) {
  if (std::holds_alternative<wire::kv_put>(req.body)) return true;
  if (std::holds_alternative<wire::cluster_request>(req.body)) return std::holds_alternative<std::monostate>(reply.body);
  if (std::holds_alternative<wire::kv_get>(req.body)) {
    return std::holds_alternative<wire::kv_value>(reply.body);
  }
  if (std::holds_alternative<wire::kv_cas>(req.body)) {
    return std::holds_alternative<wire::cas_result>(reply.body);
  }
  if (std::holds_alternative<wire::kv_del>(req.body)) {
    return std::holds_alternative<wire::del_result>(reply.body);
  }
  if (std::holds_alternative<wire::kv_range>(req.body)) {
    return std::holds_alternative<wire::kv_range_result>(reply.body);
  }
  if (std::holds_alternative<wire::kv_changes>(req.body)) {
    return std::holds_alternative<wire::kv_changes_result>(reply.body);
  }
  if (std::holds_alternative<wire::kv_txn>(req.body)) {
    return std::holds_alternative<wire::kv_txn_result>(reply.body);
  }
  if (std::holds_alternative<wire::app_request>(req.body)) {
    return std::holds_alternative<wire::app_reply>(reply.body);
  }
  return true;
}

}  // namespace

bool is_read(const decltype(wire::client_request::body)& body) noexcept {
  return std::holds_alternative<wire::kv_get>(body) || std::holds_alternative<wire::kv_range>(body) ||
         std::holds_alternative<wire::kv_changes>(body) || std::holds_alternative<wire::ping>(body) ||
         std::holds_alternative<wire::status_query>(body) ||
         (std::holds_alternative<wire::app_request>(body) &&
          std::get<wire::app_request>(body).call == wire::app_call::query);
}

const char* to_string(kv_outcome o) noexcept {
  switch (o) {
    case kv_outcome::done: return "done";
    case kv_outcome::failed: return "failed";
    case kv_outcome::unknown: return "unknown";
    case kv_outcome::invalid: return "invalid";
  }
  return "?";
}

client_clock client_clock::real() {
  return {[] { return clock_type::now(); }, [](milliseconds d) { std::this_thread::sleep_for(d); }};
}

link_factory connection_factory(std::string cluster_id,
                                std::shared_ptr<const link::secret> client_secret) {
  return [cluster_id = std::move(cluster_id), client_secret = std::move(client_secret)](
             const std::string& address, std::uint64_t client_id,
             milliseconds connect_timeout) -> result<std::unique_ptr<node_link>> {
    auto hp = parse_host_port(address);
    if (!hp) return make_error(errc::invalid_argument, address + ": " + hp.err().message);
    connection_options o;
    o.host = hp->host;
    o.port = hp->port;
    o.cluster_id = cluster_id;
    o.client_secret = client_secret;
    o.client_id = client_id;
    o.connect_timeout = connect_timeout;
    auto c = connection::open(o);
    if (!c) return c.err();
    return std::unique_ptr<node_link>(std::make_unique<connection_link>(std::move(*c)));
  };
}

kv_client::kv_client(kv_client_options options, link_factory factory, client_clock clock)
    : options_(std::move(options)),
      factory_(std::move(factory)),
      clock_(std::move(clock)),
      rng_(options_.seed != 0 ? options_.seed : random_u64_nonzero()),
      client_id_(options_.client_id != 0 ? options_.client_id : random_u64_nonzero()) {
  assert(!options_.endpoints.empty() && "kv_client needs at least one endpoint");
  assert(options_.timeout.count() > 0 && options_.attempt_timeout.count() > 0);
}

kv_client::~kv_client() = default;

std::optional<std::string> kv_client::leader() const {
  if (!leader_) return std::nullopt;
  return options_.endpoints[*leader_];
}

std::uint64_t kv_client::connected_node() const noexcept { return link_ ? link_->node_id() : 0; }

kv_result kv_client::put(const std::string& key, const std::string& value) {
  wire::client_request r;
  r.body = wire::kv_put{key, value};
  return run(std::move(r));
}

namespace {

/// KvGet, KvRange and KvChanges carry no session index (only an application query has minIndex),
/// so a node serves a kv `session` read like a `stale` one. Refuse it before sending rather than
/// answer with a weaker guarantee than the caller asked for (docs/consistency.md).
std::optional<kv_result> refuse_kv_session(wire::read_consistency consistency) {
  if (consistency != wire::read_consistency::session) return std::nullopt;
  kv_result r;
  r.outcome = kv_outcome::invalid;
  r.code = wire::client_error::invalid_request;
  r.message = wire::kv_session_read_refusal;
  return r;
}

}  // namespace

kv_result kv_client::get(const std::string& key, wire::read_consistency consistency) {
  if (auto refused = refuse_kv_session(consistency)) return std::move(*refused);
  wire::client_request r;
  r.body = wire::kv_get{key, consistency};
  return run(std::move(r));
}

kv_result kv_client::cas(const std::string& key, const std::optional<std::string>& expected,
                         const std::string& new_value) {
  wire::client_request r;
  r.body = wire::kv_cas{key, expected, new_value};
  return run(std::move(r));
}

kv_result kv_client::del(const std::string& key) {
  wire::client_request r;
  r.body = wire::kv_del{key};
  return run(std::move(r));
}

kv_result kv_client::range(wire::kv_range request) {
  if (auto refused = refuse_kv_session(request.consistency)) return std::move(*refused);
  wire::client_request r;
  r.body = std::move(request);
  return run(std::move(r));
}

kv_result kv_client::changes(wire::kv_changes request) {
  if (auto refused = refuse_kv_session(request.consistency)) return std::move(*refused);
  wire::client_request r;
  r.body = std::move(request);
  return run(std::move(r));
}

kv_result kv_client::app(wire::app_request request) {
  wire::client_request r;
  r.body = std::move(request);
  return run(std::move(r));
}

kv_result kv_client::cluster(wire::cluster_request request) {
  wire::client_request r;
  r.body = std::move(request);
  return run(std::move(r));
}

kv_result kv_client::txn(wire::kv_txn request) {
  wire::client_request r;
  r.body = std::move(request);
  return run(std::move(r));
}

std::size_t kv_client::endpoint_index(const std::string& address) {
  auto it = std::find(options_.endpoints.begin(), options_.endpoints.end(), address);
  if (it != options_.endpoints.end()) return static_cast<std::size_t>(it - options_.endpoints.begin());
  // A leader we were not told about (the hint carries its advertised address): dial it too.
  options_.endpoints.push_back(address);
  return options_.endpoints.size() - 1;
}

void kv_client::forget_leader(std::size_t failed) {
  leader_.reset();
  if (link_ && link_endpoint_ == failed) link_.reset();
  next_ = (failed + 1) % options_.endpoints.size();
}

milliseconds kv_client::remaining(clock_type::time_point until) const {
  auto left = std::chrono::duration_cast<milliseconds>(until - clock_.now());
  return std::max(left, milliseconds(0));
}

kv_result kv_client::run(wire::client_request request) {
  // Writes take the next sequence number. Reads are not in the log and never touch the session
  // table, so they reuse the last one: a session opens with the first write, sequence 1 (thesis
  // 6.3; a first write with a higher number would look like a forgotten session).
  const bool write = !is_read(request.body);
  request.client_id = client_id_;
  request.sequence = write ? ++sequence_ : std::max<std::uint64_t>(sequence_, 1);
  request.group_id = options_.group_id;

  const auto until = clock_.now() + options_.timeout;
  transport::backoff busy_backoff(options_.backoff_initial, options_.backoff_max);
  transport::backoff round_backoff(options_.backoff_initial, options_.backoff_max);
  // Whether a copy of this (client id, sequence) may have reached a node without a definite answer
  // since: then giving up means "unknown", not "failed" (Raft thesis 6.3).
  bool maybe_applied = false;
  std::string problem = "no node answered";
  wire::client_error last_code = wire::client_error::unknown;
  std::size_t failures_in_row = 0;
  unsigned attempts = 0;

  auto pause = [&](transport::backoff& b) {
    auto d = std::min(b.next(rng_), remaining(until));
    if (d.count() > 0) clock_.sleep(d);
  };
  // A try at `endpoint` got nowhere: move on, and once every endpoint failed in a row, back off
  // (an election is probably running; Raft paper 5.2: it takes about an election timeout).
  auto move_on = [&](std::size_t endpoint) {
    forget_leader(endpoint);
    if (++failures_in_row % options_.endpoints.size() == 0) pause(round_backoff);
  };

  while (remaining(until).count() > 0) {
    const std::size_t target = leader_ ? *leader_ : next_;
    const std::string& address = options_.endpoints[target];
    if (!link_ || link_endpoint_ != target) {
      link_.reset();
      auto opened = factory_(address, client_id_, std::min(remaining(until), options_.attempt_timeout));
      if (!opened) {
        if (opened.err().code == errc::refused || opened.err().code == errc::invalid_argument) {
          // Authentication or configuration: no retry can help.
          return {kv_outcome::failed, last_code, opened.err().message, {}, attempts, request.sequence, true};
        }
        problem = opened.err().message;
        move_on(target);
        continue;
      }
      link_ = std::move(*opened);
      link_endpoint_ = target;
    }

    ++attempts;
    auto reply = link_->call(request, std::min(remaining(until), options_.attempt_timeout));
    if (!reply) {
      // Timeout, connection lost, garbage: the request may have been applied; try elsewhere with
      // the same sequence number.
      maybe_applied = true;
      last_code = wire::client_error::unknown;
      problem = reply.err().message;
      link_.reset();
      move_on(target);
      continue;
    }
    last_code = reply->error;
    switch (reply->error) {
      case wire::client_error::ok:
      case wire::client_error::no_such_key:
      case wire::client_error::cas_mismatch:
        leader_ = target;
        return finish_ok(request, std::move(*reply), attempts);
      case wire::client_error::not_leader:
        problem = "node at " + address + " is not the leader";
        if (reply->leader_hint && !reply->leader_hint->address.empty()) {
          auto hinted = endpoint_index(reply->leader_hint->address);
          if (hinted != target) {
            leader_ = hinted;
            ++failures_in_row;
            if (failures_in_row % options_.endpoints.size() == 0) pause(round_backoff);
            continue;
          }
        }
        move_on(target);
        continue;
      case wire::client_error::unavailable:
        problem = "node at " + address + " is unavailable: " + reply->error_message;
        move_on(target);
        continue;
      case wire::client_error::busy:
        // Admission control (the node bounds pending work): back off, same node.
        problem = "node at " + address + " is busy";
        leader_ = target;
        pause(busy_backoff);
        continue;
      case wire::client_error::timeout:
        // The node could not finish in time (e.g. lost its quorum): outcome unknown, retry.
        maybe_applied = true;
        problem = "node at " + address + " timed out: " + reply->error_message;
        move_on(target);
        continue;
      case wire::client_error::session_expired:
        // The node forgot our session: continue under a new client id. If an earlier copy may
        // have been applied, the new session cannot tell, so the outcome is unknown.
        client_id_ = random_u64_nonzero();
        sequence_ = 0;
        link_.reset();
        if (maybe_applied) {
          return {kv_outcome::unknown, last_code, "session expired after a lost reply", {}, attempts,
                  request.sequence};
        }
        request.client_id = client_id_;
        request.sequence = write ? ++sequence_ : 1;
        continue;
      case wire::client_error::invalid_request: {
        kv_result r{kv_outcome::invalid, last_code, reply->error_message, {}, attempts, request.sequence};
        r.body = std::move(reply->body);  // e.g. changes from a compacted revision
        r.maybe_applied = maybe_applied;
        return r;
      }
      case wire::client_error::internal:
      case wire::client_error::unknown:
        return {kv_outcome::unknown, last_code,
                std::string(wire::to_string(reply->error)) + " from " + address + ": " +
                    reply->error_message,
                {},
                attempts,
                request.sequence};
    }
  }
  if (maybe_applied) {
    return {kv_outcome::unknown, last_code,
            "outcome unknown: no definite answer within the timeout; last problem: " + problem, {},
            attempts, request.sequence};
  }
  return {kv_outcome::failed, last_code, "gave up at the timeout: " + problem, {}, attempts,
          request.sequence};
}

kv_result kv_client::finish_ok(const wire::client_request& request, wire::client_reply reply,
                               unsigned attempts) {
  kv_result r;
  r.attempts = attempts;
  r.sequence = request.sequence;
  r.code = reply.error;
  if (reply.error == wire::client_error::ok && !is_ok_body_for(request, reply)) {
    r.outcome = kv_outcome::unknown;
    r.message = "the node's answer does not fit the request";
    return r;
  }
  if (std::holds_alternative<wire::kv_range_result>(reply.body) ||
      std::holds_alternative<wire::kv_changes_result>(reply.body) ||
      std::holds_alternative<wire::kv_txn_result>(reply.body) ||
      std::holds_alternative<wire::app_reply>(reply.body)) {
    r.outcome = reply.error == wire::client_error::ok ? kv_outcome::done : kv_outcome::failed;
    if (r.outcome == kv_outcome::failed) r.message = wire::to_string(reply.error);
    r.body = std::move(reply.body);
    return r;
  }
  if (auto* v = std::get_if<wire::kv_value>(&reply.body)) {
    if (v->found) {
      r.outcome = kv_outcome::done;
      r.value = std::move(v->value);
      return r;
    }
    r.code = wire::client_error::no_such_key;
  } else if (auto* c = std::get_if<wire::cas_result>(&reply.body)) {
    r.value = std::move(c->current);
    if (c->succeeded) {
      r.outcome = kv_outcome::done;
      return r;
    }
    r.code = wire::client_error::cas_mismatch;
  } else if (auto* d = std::get_if<wire::del_result>(&reply.body)) {
    if (d->existed) {
      r.outcome = kv_outcome::done;
      return r;
    }
    r.code = wire::client_error::no_such_key;
  } else if (reply.error == wire::client_error::ok) {
    r.outcome = kv_outcome::done;
    return r;
  }
  r.outcome = kv_outcome::failed;
  if (r.code == wire::client_error::cas_mismatch) {
    r.message = r.value ? "compare failed: the key holds another value" : "compare failed: the key is absent";
  } else {
    r.message = "no such key";
  }
  return r;
}

}  // namespace troupe::client
