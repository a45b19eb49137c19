// Schema evolution as runtime/wire/README.md promises it: a message from a newer peer, with fields
// this build does not know, decodes to what this build does know; a message from an older peer,
// missing fields, decodes with defaults.
#include <boost/test/unit_test.hpp>

#include <cstring>

#include <capnp/message.h>

#include "runtime/wire/raft.capnp.h"
#include "runtime/wire/raft_codec.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

/// Re-encodes the root struct of `original` with `extra_data` more data words and `extra_pointers`
/// more pointers, all set: what a newer schema with appended fields would produce.
message widened(const message& original, std::uint16_t extra_data, std::uint16_t extra_pointers) {
  capnp::AnyStruct::Reader old_root = original.root<capnp::AnyStruct>();
  const auto old_data = old_root.getDataSection();
  const auto old_pointers = old_root.getPointerSection();
  capnp::MallocMessageBuilder builder;
  auto root = builder.getRoot<capnp::AnyPointer>().initAsAnyStruct(
      static_cast<std::uint16_t>(old_data.size() / 8 + extra_data),
      static_cast<std::uint16_t>(old_pointers.size() + extra_pointers));
  auto data = root.getDataSection();
  std::memcpy(data.begin(), old_data.begin(), old_data.size());
  std::memset(data.begin() + old_data.size(), 0xab, data.size() - old_data.size());
  auto pointers = root.getPointerSection();
  for (unsigned i = 0; i < old_pointers.size(); ++i) pointers[i].set(old_pointers[i]);
  for (unsigned i = old_pointers.size(); i < pointers.size(); ++i) {
    pointers[i].setAs<capnp::Text>("a field from the future");
  }
  return message::from_builder(builder);
}

BOOST_AUTO_TEST_SUITE(schema_evolution)

BOOST_AUTO_TEST_CASE(fields_appended_by_a_newer_peer_are_ignored) {
  const raft::raft_message original{
      1, 2, 3, raft::append_entries{9, 4, 2, {raft::log_entry{3, 5, {}, "cmd"}}, 4}};
  const message newer = widened(encode(original), 3, 2);
  BOOST_REQUIRE(newer.size_bytes() > encode(original).size_bytes());
  auto parsed = message::parse(newer.bytes());
  BOOST_REQUIRE(parsed.ok());
  auto decoded = decode_raft_message(*parsed);
  BOOST_REQUIRE(decoded.ok());
  BOOST_TEST((*decoded == original));
}

BOOST_AUTO_TEST_CASE(fields_missing_from_an_older_peer_read_as_defaults) {
  // An "old" root that has only the group id and from/to (two data words), and no body pointer:
  // the union tag, term and body read as zero, i.e. an empty vote request.
  capnp::MallocMessageBuilder builder;
  auto root = builder.getRoot<capnp::AnyPointer>().initAsAnyStruct(3, 0);
  auto data = root.getDataSection();
  const std::uint64_t group = 5, from = 6, to = 7;
  std::memcpy(data.begin(), &group, 8);
  std::memcpy(data.begin() + 8, &from, 8);
  std::memcpy(data.begin() + 16, &to, 8);
  auto decoded = decode_raft_message(message::from_builder(builder));
  BOOST_REQUIRE(decoded.ok());
  BOOST_TEST(decoded->from == from);
  BOOST_TEST(decoded->to == to);
  BOOST_TEST(decoded->term == 0u);
  BOOST_TEST((decoded->body == raft::raft_message_body{raft::vote_request{group}}));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::wire
