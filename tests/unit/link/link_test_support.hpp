#pragma once
/// Helpers shared by the link unit tests: numbered payloads, frame pumping through the codec.

#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include <boost/test/unit_test.hpp>

#include "runtime/transport/link/auth_proof.hpp"
#include "runtime/transport/link/frame_codec.hpp"
#include "runtime/transport/link/handshake.hpp"
#include "runtime/transport/link/peer_link.hpp"

// Printers so that BOOST_TEST can show these values (found by argument-dependent lookup).
namespace troupe {
inline std::ostream& operator<<(std::ostream& os, errc c) {
  return os << to_string(c);
}
}  // namespace troupe
namespace troupe::link {
inline std::ostream& operator<<(std::ostream& os, close_reason r) {
  return os << to_string(r);
}
inline std::ostream& operator<<(std::ostream& os, lane l) {
  return os << to_string(l);
}
inline std::ostream& operator<<(std::ostream& os, peer_role r) {
  return os << to_string(r);
}
}  // namespace troupe::link

namespace troupe::link::test {

using namespace std::chrono_literals;

/// A payload message that carries the number `n` (any Cap'n Proto message works as a payload).
inline wire::message payload_of(std::int64_t n) {
  return encode_frame_header(ping_frame{n});
}

/// The number carried by payload_of(n).
inline std::int64_t value_of(const wire::message& m) {
  auto h = decode_frame_header(m);
  BOOST_REQUIRE(h.ok());
  BOOST_REQUIRE(std::holds_alternative<ping_frame>(*h));
  return std::get<ping_frame>(*h).sent_at_ns;
}

/// Encodes and decodes a header, as the wire would (checks the codec on every frame a test sends).
inline frame_header over_the_wire(const frame_header& h) {
  auto encoded = encode_frame_header(h);
  auto reparsed = wire::message::parse(encoded.bytes());
  BOOST_REQUIRE(reparsed.ok());
  auto decoded = decode_frame_header(*reparsed);
  if (!decoded.ok()) BOOST_FAIL("decode failed: " << decoded.err().message);
  BOOST_REQUIRE(*decoded == h);
  return *decoded;
}

inline std::shared_ptr<const secret> make_secret(const std::string& text) {
  auto s = secret::from_file_contents(std::string_view(text));
  BOOST_REQUIRE(s.ok());
  return std::make_shared<const secret>(std::move(*s));
}

inline nonce make_nonce(std::uint8_t seed) {
  nonce n{};
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>(seed * 31 + i);
  return n;
}

/// A node's handshake config for a 3-node cluster {1, 2, 3}.
inline handshake_config node_config(
    std::uint64_t id, std::uint64_t incarnation,
    const std::string& cluster_secret = "cluster-secret-0123456789") {
  handshake_config c;
  c.cluster_id = "test-cluster";
  c.self_id = id;
  c.incarnation = incarnation;
  c.self_role = peer_role::peer;
  c.peer_ids = {1, 2, 3};
  c.node_secret = make_secret(cluster_secret);
  return c;
}

/// The result of running two handshakes against each other until both stop.
struct handshake_run {
  handshake_step dialer_last;
  handshake_step acceptor_last;
  std::optional<handshake_outcome> dialer_outcome;
  std::optional<handshake_outcome> acceptor_outcome;
  std::optional<handshake_failure> dialer_failure;
  std::optional<handshake_failure> acceptor_failure;
  int frames = 0;
};

/// Pumps frames between a dialer and an acceptor (through the codec) until neither has more.
inline handshake_run run_handshake(handshake& dialer, handshake& acceptor) {
  handshake_run run;
  auto now = std::chrono::nanoseconds(1'000'000);
  std::vector<frame_header> to_acceptor = dialer.start(now).to_write;
  std::vector<frame_header> to_dialer = acceptor.start(now).to_write;
  auto absorb = [&](handshake_step step, std::optional<handshake_outcome>& outcome,
                    std::optional<handshake_failure>& failure, std::vector<frame_header>& out) {
    for (auto& f : step.to_write) out.push_back(f);
    if (step.outcome) outcome = step.outcome;
    if (step.failure) failure = step.failure;
  };
  for (int round = 0; round < 16 && (!to_acceptor.empty() || !to_dialer.empty()); ++round) {
    auto a_in = std::exchange(to_acceptor, {});
    for (auto& f : a_in) {
      ++run.frames;
      absorb(acceptor.on_frame(over_the_wire(f), now), run.acceptor_outcome, run.acceptor_failure,
             to_dialer);
    }
    auto d_in = std::exchange(to_dialer, {});
    for (auto& f : d_in) {
      ++run.frames;
      absorb(dialer.on_frame(over_the_wire(f), now), run.dialer_outcome, run.dialer_failure,
             to_acceptor);
    }
  }
  return run;
}

}  // namespace troupe::link::test
