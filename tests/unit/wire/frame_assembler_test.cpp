// frame_assembler: reassembly from arbitrary chunks, early refusal of oversized frames, and
// refusal to continue after an error.
#include <boost/test/unit_test.hpp>

#include <random>

#include "runtime/wire/client_codec.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

using namespace troupe::wire::test;

client_request numbered_request(std::uint64_t n, std::size_t value_bytes) {
  client_request r;
  r.client_id = 77;
  r.sequence = n;
  r.group_id = 1;
  r.body = kv_put{"key-" + std::to_string(n), std::string(value_bytes, static_cast<char>('a' + n % 26))};
  return r;
}

std::vector<message> drain(frame_assembler& assembler) {
  std::vector<message> out;
  for (;;) {
    auto next = assembler.next();
    BOOST_REQUIRE_MESSAGE(next.ok(), "unexpected error: " << (next.ok() ? "" : next.err().message));
    if (!next->has_value()) return out;
    out.push_back(std::move(**next));
  }
}

BOOST_AUTO_TEST_SUITE(frame_assembler_suite)

BOOST_AUTO_TEST_CASE(the_zero_copy_path_gives_the_same_aligned_frames_as_next) {
  std::mt19937_64 rng(7);
  std::vector<std::vector<std::byte>> frames;
  std::vector<std::byte> stream;
  for (std::uint64_t n = 1; n <= 300; ++n) {
    frames.push_back(copy_bytes(encode(numbered_request(n, rng() % 200))));
    stream.insert(stream.end(), frames.back().begin(), frames.back().end());
  }
  frame_assembler assembler;
  std::size_t seen = 0;
  for (std::size_t at = 0; at < stream.size();) {
    const std::size_t chunk = std::min<std::size_t>(stream.size() - at, 1 + rng() % 700);
    assembler.append(std::span<const std::byte>(stream).subspan(at, chunk));
    at += chunk;
    for (;;) {
      auto next = assembler.next_frame_bytes();
      BOOST_REQUIRE(next.ok());
      if (!next->has_value()) break;
      const auto bytes = **next;
      BOOST_REQUIRE(reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 == 0);
      BOOST_REQUIRE(seen < frames.size());
      BOOST_REQUIRE(std::equal(bytes.begin(), bytes.end(), frames[seen].begin(), frames[seen].end()));
      frame_validator validator;
      BOOST_REQUIRE(validator.validate(bytes, assembler.limits()).ok());
      ++seen;
    }
  }
  BOOST_TEST(seen == frames.size());
  BOOST_TEST(assembler.buffered_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(the_zero_copy_path_refuses_an_oversized_frame_from_its_table) {
  reader_limits limits;
  limits.max_frame_bytes = 1024;
  frame_assembler assembler(limits);
  const auto big = copy_bytes(encode(numbered_request(1, 4000)));
  assembler.append(std::span<const std::byte>(big).first(16));
  auto next = assembler.next_frame_bytes();
  BOOST_REQUIRE(!next.ok());
  BOOST_TEST((next.err().code == errc::too_large));
  BOOST_TEST(assembler.failed());
  auto after = assembler.next_frame_bytes();
  BOOST_REQUIRE(!after.ok());
  BOOST_TEST((after.err().code == errc::closed));
}

BOOST_AUTO_TEST_CASE(frames_fed_one_byte_at_a_time_come_out_whole) {
  std::vector<std::byte> stream;
  for (std::uint64_t n = 1; n <= 3; ++n) {
    auto bytes = copy_bytes(encode(numbered_request(n, 10 * n)));
    stream.insert(stream.end(), bytes.begin(), bytes.end());
  }
  frame_assembler assembler;
  std::vector<message> got;
  for (std::byte b : stream) {
    assembler.append(std::span<const std::byte>(&b, 1));
    auto more = drain(assembler);
    got.insert(got.end(), more.begin(), more.end());
  }
  BOOST_REQUIRE_EQUAL(got.size(), 3u);
  for (std::uint64_t n = 1; n <= 3; ++n) {
    auto decoded = decode_client_request(got[n - 1]);
    BOOST_REQUIRE(decoded.ok());
    BOOST_TEST((*decoded == numbered_request(n, 10 * n)));
  }
  BOOST_TEST(assembler.buffered_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(many_frames_in_random_chunks_come_out_in_order) {
  const std::uint64_t seed = test_seed("many_frames_in_random_chunks_come_out_in_order");
  std::mt19937_64 rng(seed);
  constexpr std::uint64_t frame_count = 2000;
  std::vector<std::byte> stream;
  for (std::uint64_t n = 1; n <= frame_count; ++n) {
    auto bytes = copy_bytes(encode(numbered_request(n, rng() % 3000)));
    stream.insert(stream.end(), bytes.begin(), bytes.end());
  }
  frame_assembler assembler;
  std::uint64_t expected = 1;
  std::size_t at = 0;
  while (at < stream.size()) {
    // Mostly small reads, sometimes large ones, like a socket.
    const std::size_t chunk = std::min<std::size_t>(
        stream.size() - at, rng() % 4 == 0 ? 1 + rng() % 70000 : 1 + rng() % 700);
    assembler.append(std::span<const std::byte>(stream).subspan(at, chunk));
    at += chunk;
    for (const message& m : drain(assembler)) {
      auto decoded = decode_client_request(m);
      BOOST_REQUIRE(decoded.ok());
      BOOST_REQUIRE_EQUAL(decoded->sequence, expected);
      ++expected;
    }
  }
  BOOST_TEST(expected == frame_count + 1);
  BOOST_TEST(assembler.buffered_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(an_oversized_frame_is_refused_before_its_body_arrives) {
  reader_limits limits;
  limits.max_frame_bytes = 1024;
  frame_assembler assembler(limits);
  // Only the 8-byte header of a frame announcing 200 words (1608 bytes).
  assembler.append(raw_table({0, 200}, 0));
  auto next = assembler.next();
  BOOST_REQUIRE(!next.ok());
  BOOST_TEST(next.err().code == errc::too_large);
  BOOST_TEST(assembler.failed());
}

BOOST_AUTO_TEST_CASE(a_hostile_segment_table_is_refused_while_it_is_still_arriving) {
  reader_limits limits;
  limits.max_frame_bytes = 4096;
  frame_assembler assembler(limits);
  // 100 segments announced; the second size alone breaks the limit: refused after 12 bytes.
  assembler.append(raw_table({99, 1, 100000}, 0));
  auto next = assembler.next();
  BOOST_REQUIRE(!next.ok());
  BOOST_TEST(next.err().code == errc::too_large);
}

BOOST_AUTO_TEST_CASE(after_an_error_the_assembler_stays_failed) {
  frame_assembler assembler;
  assembler.append(frame({{struct_ptr(5, 1, 0), 0}}));  // pointer out of bounds
  auto first = assembler.next();
  BOOST_REQUIRE(!first.ok());
  BOOST_TEST(first.err().code == errc::malformed);
  // A perfectly good frame afterwards changes nothing: the stream cannot be resynchronised.
  assembler.append(copy_bytes(encode(numbered_request(1, 1))));
  auto second = assembler.next();
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.err().code == errc::closed);
}

BOOST_AUTO_TEST_CASE(an_incomplete_frame_is_reported_as_needing_more_bytes) {
  frame_assembler assembler;
  auto bytes = copy_bytes(encode(numbered_request(1, 100)));
  assembler.append(std::span<const std::byte>(bytes).first(bytes.size() - 1));
  auto next = assembler.next();
  BOOST_REQUIRE(next.ok());
  BOOST_TEST(!next->has_value());
  BOOST_TEST(assembler.buffered_bytes() == bytes.size() - 1);
  assembler.append(std::span<const std::byte>(bytes).last(1));
  auto done = assembler.next();
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done->has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::wire
