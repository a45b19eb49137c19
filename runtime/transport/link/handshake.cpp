#include "runtime/transport/link/handshake.hpp"

#include <algorithm>
#include <type_traits>

namespace troupe::link {
namespace {

std::string id_text(std::uint64_t id) {
  return std::to_string(id);
}

std::string range_text(wire::version_range r) {
  // Built by appending: GCC 12 at -O3 reports a false -Wrestrict on "literal" + std::string
  // (GCC bug 105651).
  std::string out(1, '[');
  out.append(std::to_string(r.min)).append(", ").append(std::to_string(r.max)).push_back(']');
  return out;
}

}  // namespace

status handshake_config::validate() const {
  if (cluster_id.empty() || cluster_id.size() > max_cluster_id_bytes)
    return make_error(errc::invalid_argument, "cluster id must have 1 to " +
                                                  std::to_string(max_cluster_id_bytes) + " bytes");
  if (self_id == 0) return make_error(errc::invalid_argument, "self id must be non-zero");
  if (incarnation == 0) return make_error(errc::invalid_argument, "incarnation must be non-zero");
  if (versions.min == 0 || versions.min > versions.max)
    return make_error(errc::invalid_argument, "empty version range " + range_text(versions));
  if (self_role == peer_role::peer && !node_secret)
    return make_error(errc::invalid_argument, "a node needs the cluster secret");
  if (timeout <= std::chrono::nanoseconds::zero())
    return make_error(errc::invalid_argument, "handshake timeout must be positive");
  return status::success();
}

handshake::handshake(handshake_config config, connection_facts facts)
    : config_(std::move(config)), facts_(facts) {
  if (auto st = config_.validate(); !st) {
    config_ok_ = false;
    config_error_ = st.err().message;
  }
  outcome_.side = facts_.side;
}

handshake_step handshake::fail(close_reason reason, std::string detail, bool send_refuse) {
  handshake_step step;
  if (send_refuse) step.to_write.emplace_back(refuse_frame{reason, detail});
  step.failure = handshake_failure{reason, std::move(detail), false};
  state_ = state::done;
  return step;
}

const secret* handshake::secret_for(peer_role dialer_role) const noexcept {
  return dialer_role == peer_role::peer ? config_.node_secret.get() : config_.client_secret.get();
}

resume_info handshake::lookup_resume(peer_role role, std::uint64_t id) const {
  return config_.resume ? config_.resume(role, id) : resume_info{};
}

handshake_step handshake::start(std::chrono::nanoseconds now) {
  if (state_ != state::idle) return {};
  started_at_ = now;
  if (!config_ok_)
    return fail(close_reason::protocol_error, "bad handshake config: " + config_error_, false);
  if (facts_.side == handshake_side::acceptor) {
    state_ = state::acceptor_await_hello;
    return {};
  }
  if (config_.self_role == peer_role::peer && facts_.expected_peer_id == 0)
    return fail(close_reason::protocol_error, "a node must know which node it dials", false);
  hello_frame h;
  h.versions = config_.versions;
  h.cluster_id = config_.cluster_id;
  h.role = config_.self_role;
  h.sender_id = config_.self_id;
  h.expected_acceptor = facts_.expected_peer_id;
  h.sender_nonce = facts_.local_nonce;
  h.incarnation = config_.incarnation;
  transcript_.cluster_id = config_.cluster_id;
  transcript_.dialer_role = config_.self_role;
  transcript_.dialer_id = config_.self_id;
  transcript_.dialer_incarnation = config_.incarnation;
  transcript_.dialer_nonce = facts_.local_nonce;
  state_ = state::dialer_await_challenge;
  handshake_step step;
  step.to_write.emplace_back(std::move(h));
  return step;
}

handshake_step handshake::on_tick(std::chrono::nanoseconds now) {
  if (state_ == state::done || state_ == state::idle) return {};
  if (now - started_at_ < config_.timeout) return {};
  return fail(
      close_reason::handshake_timeout,
      "handshake not finished after " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(config_.timeout).count()) +
          " ms",
      true);
}

handshake_step handshake::on_frame(const frame_header& header, std::chrono::nanoseconds now) {
  (void)now;
  if (state_ == state::done || state_ == state::idle) return {};
  if (const auto* r = std::get_if<refuse_frame>(&header)) {
    state_ = state::done;
    handshake_step step;
    step.failure = handshake_failure{r->reason, "refused by the other side: " + r->text, true};
    return step;
  }
  const auto unexpected = [&] {
    return fail(
        close_reason::protocol_error,
        std::string("unexpected ") + std::string(kind_name(header)) + " frame during the handshake",
        true);
  };
  switch (state_) {
    case state::acceptor_await_hello:
      if (const auto* h = std::get_if<hello_frame>(&header)) return on_hello(*h);
      return unexpected();
    case state::dialer_await_challenge:
      if (const auto* c = std::get_if<challenge_frame>(&header)) return on_challenge(*c);
      return unexpected();
    case state::acceptor_await_auth:
      if (const auto* a = std::get_if<auth_frame>(&header)) return on_auth(*a);
      return unexpected();
    case state::dialer_await_welcome:
      if (const auto* w = std::get_if<welcome_frame>(&header)) return on_welcome(*w);
      return unexpected();
    case state::idle:
    case state::done:
      break;
  }
  return {};
}

// Acceptor: every check that needs no secret happens here, before anything is revealed.
handshake_step handshake::on_hello(const hello_frame& h) {
  if (h.cluster_id != config_.cluster_id)
    return fail(close_reason::wrong_cluster,
                "cluster id \"" + h.cluster_id + "\" is not ours (\"" + config_.cluster_id + "\")",
                true);
  auto version = wire::negotiate_version(config_.versions, h.versions);
  if (!version)
    return fail(version.err().code == errc::unsupported ? close_reason::incompatible_version
                                                        : close_reason::protocol_error,
                "versions " + range_text(h.versions) + " vs ours " + range_text(config_.versions) +
                    ": " + version.err().message,
                true);
  if (h.role == peer_role::peer) {
    if (h.sender_id == config_.self_id)
      return fail(close_reason::duplicate_node,
                  "a peer claims our own node id " + id_text(h.sender_id), true);
    if (!config_.accept_any_peer && !config_.peer_ids.contains(h.sender_id))
      return fail(close_reason::unknown_node,
                  "node id " + id_text(h.sender_id) + " is not a configured peer", true);
    if (h.expected_acceptor != config_.self_id)
      return fail(close_reason::wrong_node,
                  "the dialer wants node " + id_text(h.expected_acceptor) + ", this is node " +
                      id_text(config_.self_id),
                  true);
    authenticated_ = true;
  } else {
    if (h.expected_acceptor != 0 && h.expected_acceptor != config_.self_id)
      return fail(close_reason::wrong_node,
                  "the client wants node " + id_text(h.expected_acceptor) + ", this is node " +
                      id_text(config_.self_id),
                  true);
    if (config_.client_secret) {
      authenticated_ = true;
    } else if (facts_.remote_is_loopback) {
      authenticated_ = false;  // no client secret: loopback clients only, without proofs
    } else {
      return fail(close_reason::client_not_allowed,
                  "no client secret configured: clients are accepted from loopback only", true);
    }
  }
  transcript_.cluster_id = config_.cluster_id;
  transcript_.dialer_role = h.role;
  transcript_.dialer_id = h.sender_id;
  transcript_.acceptor_id = config_.self_id;
  transcript_.dialer_incarnation = h.incarnation;
  transcript_.acceptor_incarnation = config_.incarnation;
  transcript_.dialer_nonce = h.sender_nonce;
  transcript_.acceptor_nonce = facts_.local_nonce;
  transcript_.version = *version;
  outcome_.remote_role = h.role;
  outcome_.remote_id = h.sender_id;
  outcome_.remote_incarnation = h.incarnation;
  outcome_.version = *version;
  outcome_.authenticated = authenticated_;
  state_ = state::acceptor_await_auth;
  handshake_step step;
  step.to_write.emplace_back(challenge_frame{*version, config_.self_id, facts_.local_nonce,
                                             config_.incarnation, authenticated_});
  return step;
}

// Dialer: checks the acceptor's choices, then proves the secret first (the acceptor proves second).
handshake_step handshake::on_challenge(const challenge_frame& c) {
  if (facts_.expected_peer_id != 0 && c.acceptor_id != facts_.expected_peer_id)
    return fail(close_reason::wrong_node,
                "dialed node " + id_text(facts_.expected_peer_id) + " but node " +
                    id_text(c.acceptor_id) + " answered",
                true);
  if (c.version < config_.versions.min || c.version > config_.versions.max)
    return fail(close_reason::incompatible_version,
                "the acceptor chose version " + std::to_string(c.version) + ", outside ours " +
                    range_text(config_.versions),
                true);
  const secret* key = secret_for(config_.self_role);
  if (!c.authenticated) {
    if (config_.self_role == peer_role::peer)
      return fail(close_reason::protocol_error, "a node offered an unauthenticated peer session",
                  true);
    if (key != nullptr)
      return fail(close_reason::unauthenticated_peer,
                  "the node offers no proof but we hold a client secret", true);
  } else if (key == nullptr) {
    return fail(close_reason::unauthenticated_peer,
                "the node requires a client secret and we have none", true);
  }
  authenticated_ = c.authenticated;
  transcript_.acceptor_id = c.acceptor_id;
  transcript_.acceptor_incarnation = c.incarnation;
  transcript_.acceptor_nonce = c.acceptor_nonce;
  transcript_.version = c.version;
  outcome_.remote_role = peer_role::peer;  // only nodes accept connections
  outcome_.remote_id = c.acceptor_id;
  outcome_.remote_incarnation = c.incarnation;
  outcome_.version = c.version;
  outcome_.authenticated = authenticated_;
  auth_frame a;
  if (authenticated_)
    a.dialer_proof = compute_proof(*key, proof_direction::dialer_to_acceptor, transcript_);
  a.resume = lookup_resume(peer_role::peer, c.acceptor_id);
  state_ = state::dialer_await_welcome;
  handshake_step step;
  step.to_write.emplace_back(a);
  return step;
}

// Acceptor: the dialer's proof must verify before ours is revealed.
handshake_step handshake::on_auth(const auth_frame& a) {
  const secret* key = secret_for(outcome_.remote_role);
  if (authenticated_) {
    if (key == nullptr ||
        !verify_proof(*key, proof_direction::dialer_to_acceptor, transcript_, a.dialer_proof))
      return fail(close_reason::bad_proof,
                  std::string(to_string(outcome_.remote_role)) + " " + id_text(outcome_.remote_id) +
                      " failed to prove the " +
                      (outcome_.remote_role == peer_role::peer ? "cluster" : "client") + " secret",
                  true);
  }
  // Capacity is told only to a client that proved itself: nobody else learns how busy we are.
  if (outcome_.remote_role == peer_role::client && config_.admit_client && !config_.admit_client())
    return fail(close_reason::too_many_clients,
                "this node serves its maximum of client connections (max_clients): try another node "
                "or later",
                true);
  outcome_.remote_resume = a.resume;
  welcome_frame w;
  if (authenticated_)
    w.acceptor_proof = compute_proof(*key, proof_direction::acceptor_to_dialer, transcript_);
  w.resume = lookup_resume(outcome_.remote_role, outcome_.remote_id);
  state_ = state::done;
  handshake_step step;
  step.to_write.emplace_back(w);
  step.outcome = outcome_;
  return step;
}

// Dialer: the acceptor proves it knows the secret too (mutual authentication).
handshake_step handshake::on_welcome(const welcome_frame& w) {
  if (authenticated_) {
    const secret* key = secret_for(config_.self_role);
    if (key == nullptr ||
        !verify_proof(*key, proof_direction::acceptor_to_dialer, transcript_, w.acceptor_proof))
      return fail(close_reason::bad_proof,
                  "node " + id_text(outcome_.remote_id) + " failed to prove the " +
                      (config_.self_role == peer_role::peer ? "cluster" : "client") + " secret",
                  true);
  }
  outcome_.remote_resume = w.resume;
  state_ = state::done;
  handshake_step step;
  step.outcome = outcome_;
  return step;
}

}  // namespace troupe::link
