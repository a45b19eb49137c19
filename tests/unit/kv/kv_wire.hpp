#pragma once
// Test helpers: ClientRequests to the bytes a proposer passes, reply bytes back to ClientReplies.

#include <boost/test/unit_test.hpp>

#include <span>
#include <string>

#include "runtime/wire/client_codec.hpp"

namespace troupe::kv::test {

inline std::string bytes_of(const wire::message& m) {
  const auto b = m.bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

inline std::string request_bytes(std::uint64_t client, std::uint64_t seq,
                                 decltype(wire::client_request::body) body) {
  wire::client_request r;
  r.client_id = client;
  r.sequence = seq;
  r.group_id = 1;
  r.body = std::move(body);
  return bytes_of(wire::encode(r));
}

inline wire::client_reply reply_of(const std::string& bytes) {
  auto msg = wire::message::parse(std::as_bytes(std::span(bytes.data(), bytes.size())));
  BOOST_REQUIRE_MESSAGE(msg.ok(), "reply bytes do not parse");
  auto reply = wire::decode_client_reply(*msg);
  BOOST_REQUIRE_MESSAGE(reply.ok(), "reply does not decode");
  return *reply;
}

}  // namespace troupe::kv::test
