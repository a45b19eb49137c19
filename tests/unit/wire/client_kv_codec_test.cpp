// Client protocol, config-center members (range, txn, changes and their results): every field set to
// a non-default value round-trips; values this build does not know come back as errors, not throws.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>

#include "runtime/wire/client.capnp.h"
#include "runtime/wire/client_codec.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

using namespace troupe::wire::test;

client_request request_with(decltype(client_request::body) body) {
  return client_request{0x1122334455667788ull, 12, 42, std::move(body)};
}

client_reply reply_with(decltype(client_reply::body) body) {
  client_reply r;
  r.client_id = 9;
  r.sequence = 10;
  r.error = client_error::invalid_request;
  r.error_message = "compacted";
  r.body = std::move(body);
  return r;
}

template <class T, class Decode>
void check_round_trip(const T& original, Decode decode) {
  auto parsed = message::parse(encode(original).bytes());
  BOOST_REQUIRE(parsed.ok());
  auto decoded = decode(*parsed);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? "" : decoded.err().message));
  BOOST_TEST((*decoded == original));
}

kv_compare compare(compare_target target, compare_op op, std::string value, std::uint64_t number) {
  return kv_compare{"cfg/\0x" + std::to_string(number), op, target, std::move(value), number};
}

BOOST_AUTO_TEST_SUITE(client_kv_codec)

BOOST_AUTO_TEST_CASE(range_txn_and_changes_requests_round_trip) {
  const std::vector<client_request> requests{
      request_with(kv_range{"cfg/", true, std::string("cfg/a\0", 6), 17, true, read_consistency::lease}),
      request_with(kv_range{"one", false, "", 0, false, read_consistency::follower}),
      request_with(kv_txn{{compare(compare_target::value, compare_op::not_equal, std::string("v\0", 2), 0),
                           compare(compare_target::version, compare_op::less, "", 3),
                           compare(compare_target::create_revision, compare_op::greater, "", 4),
                           compare(compare_target::mod_revision, compare_op::equal, "", 5)},
                          {kv_put{"a", "1"}, kv_del{"b"}, kv_get{"c", read_consistency::lease}},
                          {kv_get{"d", read_consistency::linearizable}}}),
      request_with(kv_txn{}),
      request_with(kv_changes{"cfg/", true, 123456789012ull, 50, read_consistency::lease}),
      request_with(kv_changes{"k", false, 0, 0, read_consistency::linearizable}),
  };
  for (const auto& r : requests) check_round_trip(r, decode_client_request);
}

BOOST_AUTO_TEST_CASE(range_txn_and_changes_results_round_trip) {
  const kv_entry entry{"cfg/a", std::string("\0\1", 2), 3, 7, 2};
  const std::vector<client_reply> replies{
      reply_with(kv_range_result{{entry, kv_entry{"cfg/b", "", 4, 4, 1}}, true, 99}),
      reply_with(kv_range_result{}),
      reply_with(kv_txn_result{true, 12, {std::monostate{}, del_result{true}, kv_txn_get_result{true, entry},
                                          kv_txn_get_result{false, {}}}}),
      reply_with(kv_changes_result{{kv_event{5, kv_event_kind::put, "k", "v", 4, 2},
                                    kv_event{6, kv_event_kind::del, "k", "", 4, 0}},
                                   7, true, 8, false, 0}),
      reply_with(kv_changes_result{{}, 101, false, 500, true, 100}),
  };
  for (const auto& r : replies) check_round_trip(r, decode_client_reply);
}

BOOST_AUTO_TEST_CASE(an_unknown_compare_target_or_op_is_unsupported) {
  {
    capnp::MallocMessageBuilder builder;
    auto cmp = builder.initRoot<schema::ClientRequest>().initBody().initTxn().initCompares(1)[0];
    cmp.initTarget().setVersion(1);
    set_discriminant<schema::KvCompare::Target>(capnp::toAny(cmp), 40);
    auto decoded = decode_client_request(message::from_builder(builder));
    BOOST_REQUIRE(!decoded.ok());
    BOOST_TEST(decoded.err().code == errc::unsupported);
  }
  {
    capnp::MallocMessageBuilder builder;
    auto cmp = builder.initRoot<schema::ClientRequest>().initBody().initTxn().initCompares(1)[0];
    cmp.setOp(static_cast<schema::CompareOp>(77));
    auto decoded = decode_client_request(message::from_builder(builder));
    BOOST_REQUIRE(!decoded.ok());
    BOOST_TEST(decoded.err().code == errc::unsupported);
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_txn_operation_or_result_is_unsupported) {
  {
    capnp::MallocMessageBuilder builder;
    auto op = builder.initRoot<schema::ClientRequest>().initBody().initTxn().initSuccess(1)[0];
    op.initDel();
    set_discriminant<schema::KvTxnOp>(capnp::toAny(op), 9);
    auto decoded = decode_client_request(message::from_builder(builder));
    BOOST_REQUIRE(!decoded.ok());
    BOOST_TEST(decoded.err().code == errc::unsupported);
  }
  {
    capnp::MallocMessageBuilder builder;
    auto res = builder.initRoot<schema::ClientReply>().initBody().initTxn().initResults(1)[0];
    res.setPut();
    set_discriminant<schema::KvTxnOpResult>(capnp::toAny(res), 9);
    auto decoded = decode_client_reply(message::from_builder(builder));
    BOOST_REQUIRE(!decoded.ok());
    BOOST_TEST(decoded.err().code == errc::unsupported);
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_event_kind_or_consistency_is_unsupported) {
  {
    capnp::MallocMessageBuilder builder;
    auto ev = builder.initRoot<schema::ClientReply>().initBody().initChanges().initEvents(1)[0];
    ev.setKind(static_cast<schema::KvEventKind>(5));
    auto decoded = decode_client_reply(message::from_builder(builder));
    BOOST_REQUIRE(!decoded.ok());
    BOOST_TEST(decoded.err().code == errc::unsupported);
  }
  {
    capnp::MallocMessageBuilder builder;
    builder.initRoot<schema::ClientRequest>().initBody().initChanges().setConsistency(
        static_cast<schema::ReadConsistency>(8));
    auto decoded = decode_client_request(message::from_builder(builder));
    BOOST_REQUIRE(!decoded.ok());
    BOOST_TEST(decoded.err().code == errc::unsupported);
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_pointer_inside_a_txn_is_malformed_not_thrown) {
  capnp::MallocMessageBuilder builder;
  auto put = builder.initRoot<schema::ClientRequest>().initBody().initTxn().initSuccess(1)[0].initPut();
  capnp::toAny(put).getPointerSection()[0].initAs<schema::Ping>().setNonce(1);  // key: a struct
  auto parsed = message::parse(message::from_builder(builder).bytes());
  BOOST_REQUIRE(parsed.ok());
  auto decoded = decode_client_request(*parsed);
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::malformed);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::wire
