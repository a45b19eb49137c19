// message: building, parsing valid frames, sharing, and reading without limits after validation.
#include <boost/test/unit_test.hpp>

#include <thread>

#include <capnp/message.h>

#include "runtime/wire/client.capnp.h"
#include "runtime/wire/message.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

using test::copy_bytes;

message small_request(std::uint64_t client_id) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::ClientRequest>();
  root.setClientId(client_id);
  root.setSequence(7);
  root.initBody().initPing().setNonce(99);
  return message::from_builder(builder);
}

/// Reads `shared`'s client id `reads` times in each of 4 threads at once; each thread's sum.
std::vector<std::uint64_t> client_id_sums_from_threads(const message& shared, int reads) {
  std::vector<std::uint64_t> sums(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < sums.size(); ++t) {
    threads.emplace_back([&shared, &sums, reads, t] {
      for (int i = 0; i < reads; ++i) sums[t] += shared.root<schema::ClientRequest>().getClientId();
    });
  }
  for (auto& th : threads) th.join();
  return sums;
}

BOOST_AUTO_TEST_SUITE(message_suite)

BOOST_AUTO_TEST_CASE(a_built_message_is_one_aligned_stream_framed_buffer) {
  const message m = small_request(42);
  const auto bytes = m.bytes();
  BOOST_TEST(!m.empty());
  BOOST_TEST(bytes.size() % 8 == 0);
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 == 0);
  // One segment: count-1 == 0 and the size word matches the rest of the buffer.
  std::uint32_t table[2];
  std::memcpy(table, bytes.data(), 8);
  BOOST_TEST(table[0] == 0u);
  BOOST_TEST(std::size_t{table[1]} * 8 + 8 == bytes.size());
  BOOST_TEST(m.root<schema::ClientRequest>().getClientId() == 42u);
}

BOOST_AUTO_TEST_CASE(parsing_the_bytes_of_a_message_gives_the_same_bytes_and_content) {
  const message built = small_request(5);
  auto parsed = message::parse(built.bytes());
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(copy_bytes(*parsed) == copy_bytes(built));
  auto root = parsed->root<schema::ClientRequest>();
  BOOST_TEST(root.getClientId() == 5u);
  BOOST_TEST(root.getBody().getPing().getNonce() == 99u);
}

BOOST_AUTO_TEST_CASE(parse_accepts_an_unaligned_input_buffer) {
  const auto bytes = copy_bytes(small_request(6));
  std::vector<std::byte> shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  auto parsed = message::parse(std::span<const std::byte>(shifted).subspan(1));
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->root<schema::ClientRequest>().getClientId() == 6u);
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(parsed->bytes().data()) % 8 == 0);
}

BOOST_AUTO_TEST_CASE(a_multi_segment_message_round_trips_through_parse) {
  // A tiny fixed first segment forces the builder to spill into more segments (far pointers).
  capnp::MallocMessageBuilder builder(1, capnp::AllocationStrategy::FIXED_SIZE);
  auto root = builder.initRoot<schema::ClientRequest>();
  root.setClientId(1);
  auto put = root.initBody().initPut();
  put.setKey(kj::heapArray<kj::byte>(100).asPtr());
  put.setValue(kj::heapArray<kj::byte>(200).asPtr());
  BOOST_REQUIRE(builder.getSegmentsForOutput().size() > 1);
  const message built = message::from_builder(builder);
  auto parsed = message::parse(built.bytes());
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->root<schema::ClientRequest>().getBody().getPut().getValue().size() == 200u);
}

BOOST_AUTO_TEST_CASE(copies_share_one_buffer) {
  const message a = small_request(1);
  const message b = a;  // NOLINT: the copy is the point
  BOOST_TEST(a.bytes().data() == b.bytes().data());
}

BOOST_AUTO_TEST_CASE(a_default_message_is_empty_with_no_bytes) {
  const message m;
  BOOST_TEST(m.empty());
  BOOST_TEST(m.bytes().empty());
}

BOOST_AUTO_TEST_CASE(a_parsed_message_can_be_read_far_more_often_than_its_traversal_limit) {
  const auto bytes = copy_bytes(small_request(3));
  reader_limits limits;
  limits.traversal_limit_words = bytes.size() / 8 * 2;  // room for about two full reads
  auto parsed = message::parse(bytes, limits);
  BOOST_REQUIRE(parsed.ok());
  std::uint64_t sum = 0;
  for (int i = 0; i < 10000; ++i) {
    sum += parsed->root<schema::ClientRequest>().getBody().getPing().getNonce();
  }
  BOOST_TEST(sum == 99u * 10000u);
}

BOOST_AUTO_TEST_CASE(threads_read_one_parsed_message_at_once) {
  auto parsed = message::parse(copy_bytes(small_request(11)));
  BOOST_REQUIRE(parsed.ok());
  for (auto v : client_id_sums_from_threads(*parsed, 1000)) BOOST_TEST(v == 11000u);
}

// A one-segment message is read without a MessageReader unless a far pointer is reachable: no
// builder writes one inside a single segment, but the format allows it and parse accepts it, so
// such a message must still read correctly (through the checked reader, which follows it).
BOOST_AUTO_TEST_CASE(a_one_segment_message_with_a_far_root_pointer_reads_correctly) {
  using test::far_ptr;
  using test::struct_ptr;
  // Root: a far pointer to the landing pad at word 1, a struct pointer to the data at word 2.
  const auto bytes = test::frame({{far_ptr(1, 0), struct_ptr(0, 1, 0), 77}});
  auto parsed = message::parse(bytes);
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->root<schema::ClientRequest>().getClientId() == 77u);
  BOOST_TEST(parsed->root<schema::ClientRequest>().getClientId() == 77u);  // prepared once
}

BOOST_AUTO_TEST_CASE(a_one_segment_message_with_a_far_pointer_deep_inside_reads_correctly) {
  using test::far_ptr;
  using test::struct_ptr;
  // Root struct (1 data word, 1 pointer) whose pointer is far: pad at word 3 -> struct at word 4.
  const auto bytes =
      test::frame({{struct_ptr(0, 1, 1), 5, far_ptr(3, 0), struct_ptr(0, 1, 0), 0x1234}});
  auto parsed = message::parse(bytes);
  BOOST_REQUIRE(parsed.ok());
  const auto root = parsed->root<capnp::AnyStruct>();
  const auto inner = root.getPointerSection()[0].getAs<capnp::AnyStruct>();
  std::uint64_t value = 0;
  BOOST_REQUIRE(inner.getDataSection().size() == 8u);
  std::memcpy(&value, inner.getDataSection().begin(), 8);
  BOOST_TEST(value == 0x1234u);
}

BOOST_AUTO_TEST_CASE(threads_read_one_fresh_built_message_at_once) {
  // A built message prepares its reading on its first root<T>(): every thread's first read races
  // to do it; one does, all read the same.
  for (int round = 0; round < 50; ++round) {
    for (auto v : client_id_sums_from_threads(small_request(13), 1)) BOOST_TEST(v == 13u);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::wire
