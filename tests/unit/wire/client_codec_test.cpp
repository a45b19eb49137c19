// Client protocol codec: every request and reply kind round-trips with every field set to a
// non-default value; anything this build does not understand comes back as an error value.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>

#include "runtime/wire/client.capnp.h"
#include "runtime/wire/client_codec.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

using namespace troupe::wire::test;

client_request with_body(decltype(client_request::body) body) {
  client_request r;
  r.client_id = 0x1122334455667788ull;
  r.sequence = 987654321;
  r.group_id = 42;
  r.body = std::move(body);
  return r;
}

client_reply reply_with(decltype(client_reply::body) body) {
  client_reply r;
  r.client_id = 0x0102030405060708ull;
  r.sequence = 55;
  r.error = client_error::not_leader;
  r.error_message = "not the leader";
  r.leader_hint = node_address{3, "10.0.0.3:7103"};
  r.body = std::move(body);
  return r;
}

/// Encode, go through the bytes (as the network would), decode, compare.
template <class T, class Decode>
void check_round_trip(const T& original, Decode decode) {
  const message encoded = encode(original);
  auto parsed = message::parse(encoded.bytes());
  BOOST_REQUIRE(parsed.ok());
  auto decoded = decode(*parsed);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? "" : decoded.err().message));
  BOOST_TEST((*decoded == original));
}

const std::string binary_key{"k\0\xff\x01", 4};

BOOST_AUTO_TEST_SUITE(client_codec)

BOOST_AUTO_TEST_CASE(every_request_kind_round_trips) {
  const std::vector<client_request> requests{
      with_body(kv_put{binary_key, std::string("v\0alue", 6)}),
      with_body(kv_get{binary_key, read_consistency::lease}),
      with_body(kv_get{"g", read_consistency::follower}),
      with_body(kv_cas{"c", std::string("old"), "new"}),
      with_body(kv_cas{"c", std::nullopt, "new"}),
      with_body(kv_cas{"c", std::string(), "empty expected differs from absent"}),
      with_body(kv_del{"d"}),
      with_body(ping{0xdeadbeefull}),
      with_body(status_query{}),
  };
  for (const auto& r : requests) check_round_trip(r, decode_client_request);
}

BOOST_AUTO_TEST_CASE(application_requests_and_replies_round_trip_with_every_consistency) {
  check_round_trip(with_body(app_request{"counter", app_call::command, std::string("i\0\xff", 3),
                                         read_consistency::linearizable, 0}),
                   decode_client_request);
  for (auto c : {read_consistency::linearizable, read_consistency::lease, read_consistency::follower,
                 read_consistency::session, read_consistency::stale}) {
    check_round_trip(with_body(app_request{"lock", app_call::query, "q", c, 0xfedcba9876543210ull}),
                     decode_client_request);
    check_round_trip(with_body(kv_get{"k", c}), decode_client_request);
  }
  check_round_trip(reply_with(app_reply{std::string("\0\1", 2), 77}), decode_client_reply);
  check_round_trip(reply_with(app_reply{}), decode_client_reply);
}

BOOST_AUTO_TEST_CASE(an_unknown_app_call_is_refused_not_guessed) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::ClientRequest>();
  root.setClientId(1);
  root.setSequence(1);
  auto app = root.initBody().initApp();
  app.setService("counter");
  app.setCall(static_cast<schema::AppCall>(7));
  auto decoded = decode_client_request(message::from_builder(builder));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST((decoded.err().code == errc::unsupported));
}

BOOST_AUTO_TEST_CASE(every_reply_kind_round_trips) {
  status_info status{7, 42, 9, raft_role::leader, 7, 100, 99, 101,
                     {node_address{1, "a:1"}, node_address{2, "b:2"}}};
  const std::vector<client_reply> replies{
      reply_with(std::monostate{}),
      reply_with(kv_value{true, std::string("\0\1\2", 3)}),
      reply_with(cas_result{false, std::string("current")}),
      reply_with(cas_result{true, std::nullopt}),
      reply_with(del_result{true}),
      reply_with(pong{0xabcdefull}),
      reply_with(status),
  };
  for (const auto& r : replies) check_round_trip(r, decode_client_reply);
  for (auto role : {raft_role::follower, raft_role::candidate, raft_role::learner,
                    raft_role::pre_candidate}) {
    status.role = role;
    check_round_trip(reply_with(status), decode_client_reply);
  }
  for (auto code : {client_error::ok, client_error::no_such_key, client_error::cas_mismatch,
                    client_error::busy, client_error::timeout, client_error::invalid_request,
                    client_error::session_expired, client_error::unavailable,
                    client_error::internal}) {
    auto r = reply_with(std::monostate{});
    r.error = code;
    r.leader_hint.reset();
    check_round_trip(r, decode_client_reply);
  }
}

BOOST_AUTO_TEST_CASE(encoding_is_independent_of_what_was_encoded_before) {
  // Encoders reuse a per-thread first segment; leftovers of an earlier, larger message (one that
  // filled and overflowed it) must never leak into a later one.
  const auto small = with_body(kv_put{"k", "v"});
  const auto first = copy_bytes(encode(small));
  for (std::size_t size : {100u, 4000u, 5000u, 100000u}) {
    const auto big = with_body(kv_put{std::string(size, 'K'), std::string(size, 'V')});
    auto decoded = decode_client_request(encode(big));
    BOOST_REQUIRE(decoded.ok());
    BOOST_TEST((*decoded == big));
    BOOST_TEST((copy_bytes(encode(small)) == first), "after a message of " << size << " bytes");
  }
}

BOOST_AUTO_TEST_CASE(cluster_requests_round_trip) {
  const std::vector<client_request> requests{
      with_body(cluster_request{{{member_change_kind::add_learner, 4, "127.0.0.1:7104"}}, 0}),
      with_body(cluster_request{{{member_change_kind::add_voter, 4, ""},
                                 {member_change_kind::remove, 1, ""},
                                 {member_change_kind::add_voter, 9, "h9:1"}},
                                0}),
      with_body(cluster_request{{}, 3}),
  };
  for (const auto& r : requests) check_round_trip(r, decode_client_request);
}

BOOST_AUTO_TEST_CASE(backup_requests_and_chunks_round_trip) {
  check_round_trip(with_body(backup_request{0, 0, 1u << 20}), decode_client_request);
  check_round_trip(with_body(backup_request{7, 123456789, 4096}), decode_client_request);
  check_round_trip(reply_with(backup_chunk{7, 1000, 200, std::string("\0\1\2", 3), 42, 3}), decode_client_reply);
  check_round_trip(reply_with(backup_chunk{}), decode_client_reply);
}

BOOST_AUTO_TEST_CASE(a_bad_cluster_request_is_an_error_value) {
  // No change at all, and a transfer to node 0, are refused at the edge.
  capnp::MallocMessageBuilder empty;
  empty.initRoot<schema::ClientRequest>().initBody().initCluster().initChangeMembers(0);
  BOOST_TEST(!decode_client_request(message::from_builder(empty)).ok());
  capnp::MallocMessageBuilder zero;
  zero.initRoot<schema::ClientRequest>().initBody().initCluster().setTransferLeader(0);
  BOOST_TEST(!decode_client_request(message::from_builder(zero)).ok());
  capnp::MallocMessageBuilder kind;
  auto list = kind.initRoot<schema::ClientRequest>().initBody().initCluster().initChangeMembers(1);
  list[0].setKind(static_cast<schema::MemberChangeKind>(77));
  list[0].setNodeId(4);
  auto decoded = decode_client_request(message::from_builder(kind));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(an_unknown_request_body_is_unsupported) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::ClientRequest>();
  root.initBody().initPing();
  set_discriminant<schema::ClientRequest::Body>(capnp::toAny(root), 200);
  auto decoded = decode_client_request(message::from_builder(builder));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(an_unknown_reply_body_is_unsupported) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::ClientReply>();
  root.initBody().setNone();
  set_discriminant<schema::ClientReply::Body>(capnp::toAny(root), 77);
  auto decoded = decode_client_reply(message::from_builder(builder));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(an_unknown_error_code_decodes_as_unknown) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::ClientReply>();
  root.setError(static_cast<schema::ClientError>(300));
  root.setErrorMessage("from a newer node");
  auto decoded = decode_client_reply(message::from_builder(builder));
  BOOST_REQUIRE(decoded.ok());
  BOOST_TEST((decoded->error == client_error::unknown));
  BOOST_TEST(decoded->error_message == "from a newer node");
}

BOOST_AUTO_TEST_CASE(an_unknown_read_consistency_is_unsupported) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::ClientRequest>();
  root.initBody().initGet().setConsistency(static_cast<schema::ReadConsistency>(9));
  auto decoded = decode_client_request(message::from_builder(builder));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(a_pointer_of_the_wrong_kind_is_malformed_not_thrown) {
  // Structurally valid (parse accepts it) but the key, a Data field, points at a struct.
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::ClientRequest>();
  auto put = root.initBody().initPut();
  capnp::toAny(put).getPointerSection()[0].initAs<schema::Ping>().setNonce(1);
  auto parsed = message::parse(message::from_builder(builder).bytes());
  BOOST_REQUIRE(parsed.ok());
  auto decoded = decode_client_request(*parsed);
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::malformed);
}

BOOST_AUTO_TEST_CASE(an_empty_message_is_malformed) {
  auto decoded = decode_client_request(message{});
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::malformed);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::wire
