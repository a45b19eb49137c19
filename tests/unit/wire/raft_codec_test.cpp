// Raft codec: every peer message kind round-trips with every field non-default; what a newer or
// hostile peer might send decodes to an error value.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>

#include "runtime/wire/raft.capnp.h"
#include "runtime/wire/raft_codec.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

using namespace troupe::wire::test;

constexpr raft::group_id group = 0x0a0b0c0d;

raft::raft_message envelope(raft::raft_message_body body) {
  return raft::raft_message{0x1111, 0x2222, 0x3333, std::move(body)};
}

raft::membership some_membership() { return {{1, 2, 3}, {4, 5}, {1, 2, 6}}; }

std::vector<raft::raft_message> every_kind() {
  return {
      envelope(raft::vote_request{group, true, 100, 7, true}),
      envelope(raft::vote_request{group, false, 101, 8, false}),
      envelope(raft::vote_response{group, true, true}),
      envelope(raft::append_entries{group,
                                    10,
                                    3,
                                    {raft::log_entry{4, 11, raft::entry_type::normal, "set x"},
                                     raft::log_entry{4, 12, raft::entry_type::no_op, ""},
                                     raft::log_entry{5, 13, raft::entry_type::config,
                                                     std::string("\0\1cfg", 5)}},
                                    9}),
      envelope(raft::append_entries{group, 0, 0, {}, 0}),
      envelope(raft::append_entries_response{group, true, 13, 14, 15, 16}),
      envelope(raft::heartbeat{group, 12, 77}),
      envelope(raft::heartbeat_response{group, 77, 13}),
      envelope(raft::timeout_now{group}),
      envelope(raft::install_snapshot{group, raft::snapshot_metadata{500, 9, some_membership()},
                                      4096, std::string(1000, '\x7f'), true}),
      envelope(raft::install_snapshot_response{group, 500, 9, 5096, raft::snapshot_reply::received, 0}),
      envelope(raft::install_snapshot_response{group, 500, 9, 0, raft::snapshot_reply::installed, 731}),
      envelope(raft::install_snapshot_response{group, 500, 9, 4096, raft::snapshot_reply::resend, 0}),
      envelope(raft::read_index_request{group, 0xfeed}),
      envelope(raft::read_index_response{group, 0xfeed, 321, true}),
  };
}

BOOST_AUTO_TEST_SUITE(raft_codec)

BOOST_AUTO_TEST_CASE(every_raft_message_kind_round_trips) {
  const auto messages = every_kind();
  // Every alternative of the body variant is covered.
  std::vector<bool> seen(std::variant_size_v<raft::raft_message_body>, false);
  for (const auto& original : messages) {
    seen[original.body.index()] = true;
    auto parsed = message::parse(encode(original).bytes());
    BOOST_REQUIRE(parsed.ok());
    BOOST_TEST(parsed->root<schema::RaftMessage>().getGroupId() == group);
    auto decoded = decode_raft_message(*parsed);
    BOOST_REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? "" : decoded.err().message));
    BOOST_TEST((*decoded == original), raft::type_name(original));
  }
  for (std::size_t i = 0; i < seen.size(); ++i) BOOST_TEST(seen[i], "kind " << i << " covered");
}

BOOST_AUTO_TEST_CASE(an_unknown_raft_body_is_unsupported) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::RaftMessage>();
  root.setFrom(1);
  root.setTo(2);
  root.initBody().initTimeoutNow();
  set_discriminant<schema::RaftMessage::Body>(capnp::toAny(root), 15);
  auto decoded = decode_raft_message(message::from_builder(builder));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(an_unknown_entry_type_is_unsupported) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::RaftMessage>();
  root.setFrom(1);
  root.setTo(2);
  auto append = root.initBody().initAppendEntries();
  append.setPrevLogIndex(4);
  auto entry = append.initEntries(1)[0];
  entry.setIndex(5);
  entry.setType(static_cast<schema::EntryType>(42));
  auto decoded = decode_raft_message(message::from_builder(builder));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(entries_not_consecutive_from_prev_log_index_are_malformed) {
  auto gap = envelope(raft::append_entries{
      group, 10, 3, {raft::log_entry{4, 11, {}, "a"}, raft::log_entry{4, 13, {}, "b"}}, 9});
  auto decoded = decode_raft_message(encode(gap));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::malformed);
  auto wrong_start = envelope(raft::append_entries{group, 10, 3, {raft::log_entry{4, 10, {}, ""}}, 9});
  BOOST_TEST(!decode_raft_message(encode(wrong_start)).ok());
  auto overflow = envelope(raft::append_entries{
      group, UINT64_MAX, 3, {raft::log_entry{4, 0, {}, ""}}, 9});
  BOOST_TEST(!decode_raft_message(encode(overflow)).ok());
}

BOOST_AUTO_TEST_CASE(a_snapshot_answer_with_an_unknown_status_is_malformed) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::RaftMessage>();
  root.setFrom(1);
  root.setTo(2);
  auto r = root.initBody().initInstallSnapshotResponse();
  r.setLastIndex(5);
  r.setStatus(4);  // one past `installed`
  auto decoded = decode_raft_message(message::from_builder(builder));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::malformed);
  r.setStatus(3);
  BOOST_TEST(decode_raft_message(message::from_builder(builder)).ok());
}

BOOST_AUTO_TEST_CASE(a_message_from_or_to_node_zero_is_malformed) {
  auto m = envelope(raft::timeout_now{group});
  m.from = raft::no_node;
  auto decoded = decode_raft_message(encode(m));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::malformed);
  m.from = 1;
  m.to = raft::no_node;
  BOOST_TEST(!decode_raft_message(encode(m)).ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::wire
