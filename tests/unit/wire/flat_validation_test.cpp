// message::parse proves one-segment frames valid with wire::proven_flat (flat_validation.hpp)
// instead of Cap'n Proto's reader when it can: seeded random pointer soups, checked against
// Cap'n Proto's own validating traversal (frame_validator). parse must accept exactly what
// Cap'n Proto accepts, and what it accepts must read the same through the reader-less (flat)
// path as through Cap'n Proto's checked reader. Rerun one run with TROUPE_TEST_SEED=<seed>.
#include <boost/test/unit_test.hpp>

#include <optional>
#include <random>

#include <capnp/any.h>
#include <capnp/message.h>

#include "runtime/wire/flat_validation.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

using namespace troupe::wire::test;

/// A random word of a pointer soup: mostly pointers with small offsets and sizes, so that many
/// land inside the segment, some point at each other (sharing, cycles, depth), some do not fit.
std::uint64_t random_word(std::mt19937_64& rng, std::size_t words) {
  const auto offset = [&] {
    return static_cast<std::int32_t>(rng() % (2 * words + 3)) - static_cast<std::int32_t>(words) - 1;
  };
  switch (rng() % 9) {
    case 0:
      return 0;
    case 1:
    case 2:
      return struct_ptr(offset(), static_cast<std::uint16_t>(rng() % 3),
                        static_cast<std::uint16_t>(rng() % 3));
    case 3:
    case 4:
      return list_ptr(offset(), static_cast<unsigned>(rng() % 8), static_cast<std::uint32_t>(rng() % 9));
    case 5:  // an inline-composite tag: element count in the offset bits, then the struct's sizes
      return struct_ptr(static_cast<std::int32_t>(rng() % 4), static_cast<std::uint16_t>(rng() % 3),
                        static_cast<std::uint16_t>(rng() % 3));
    case 6:
      return far_ptr(static_cast<std::uint32_t>(rng() % (words + 1)), static_cast<std::uint32_t>(rng() % 2));
    case 7:
      return rng() % 2 == 0 ? 3u : rng();  // a capability, or anything
    default:
      return rng() % 100;  // data
  }
}

/// Cap'n Proto's checked total size of the root, or nullopt when it throws.
std::optional<std::uint64_t> checked_total_words(std::span<const std::byte> bytes) {
  try {
    capnp::FlatArrayMessageReader reader(
        kj::ArrayPtr<const capnp::word>(reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / 8));
    return reader.getRoot<capnp::AnyPointer>().targetSize().wordCount;
  } catch (const kj::Exception&) {
    return std::nullopt;
  }
}

BOOST_AUTO_TEST_SUITE(flat_validation_suite)

BOOST_AUTO_TEST_CASE(parse_accepts_exactly_what_capnp_accepts_and_reads_it_the_same) {
  const std::uint64_t seed = test_seed("parse_accepts_exactly_what_capnp_accepts_and_reads_it_the_same");
  std::mt19937_64 rng(seed);
  frame_validator capnp_validator;
  std::size_t accepted = 0, refused = 0, proven = 0;
  for (int round = 0; round < 50000; ++round) {
    const std::size_t n = 1 + rng() % 12;
    words segment(n);
    for (auto& w : segment) w = random_word(rng, n);
    const auto bytes = frame({segment});
    reader_limits limits;
    // Small limits keep a cyclic soup's traversal short (each object charges at least a word).
    limits.traversal_limit_words = rng() % 4 == 0 ? 1 + rng() % 16 : 256;
    if (rng() % 4 == 0) limits.nesting_limit = 1 + static_cast<int>(rng() % 3);
    auto parsed = message::parse(bytes, limits);
    auto expected = capnp_validator.validate(bytes, limits);
    BOOST_REQUIRE_MESSAGE(parsed.ok() == expected.ok(),
                          disagreement(static_cast<std::size_t>(round), bytes, limits, expected));
    if (!parsed.ok()) {
      BOOST_REQUIRE(parsed.err().code == expected.err().code);
      ++refused;
      continue;
    }
    ++accepted;
    if (proven_flat(std::span<const std::byte>(bytes).subspan(8), limits.nesting_limit,
                    limits.traversal_limit_words))
      ++proven;
    // Read back through whichever path the message took: the same size as Cap'n Proto's reader.
    // (A far pointer, which the flat path cannot follow, keeps a message off it.)
    const auto want = checked_total_words(bytes);
    BOOST_REQUIRE(want.has_value());
    BOOST_REQUIRE_EQUAL(parsed->root<capnp::AnyPointer>().targetSize().wordCount, *want);
  }
  BOOST_TEST_MESSAGE("accepted " << accepted << " (" << proven << " proven flat), refused " << refused);
  // Every outcome must occur, or the soup is not testing what it claims.
  BOOST_TEST(refused > 1000u);
  BOOST_TEST(proven > 1000u);
  BOOST_TEST(accepted > proven);
}

BOOST_AUTO_TEST_CASE(what_proven_flat_leaves_open_is_still_decided_by_capnp) {
  // A capability pointer (proven_flat does not decide it) parses; a far pointer to a missing
  // segment is refused with Cap'n Proto's reason; a bounds violation is refused.
  BOOST_TEST(message::parse(frame({{3}})).ok());
  BOOST_TEST(!proven_flat(std::span<const std::byte>(frame({{3}})).subspan(8), 64, 100));
  auto far = message::parse(frame({{far_ptr(0, 5)}}));
  BOOST_REQUIRE(!far.ok());
  BOOST_TEST(far.err().code == errc::malformed);
  auto outside = message::parse(frame({{struct_ptr(0, 2, 0)}}));
  BOOST_REQUIRE(!outside.ok());
  BOOST_TEST(outside.err().code == errc::malformed);
  // And what it proves is read without a reader, correctly.
  auto ok = message::parse(frame({{struct_ptr(0, 1, 0), 42}}));
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->root<capnp::AnyStruct>().getDataSection().size() == 8u);
  BOOST_TEST(ok->root<capnp::AnyStruct>().getDataSection()[0] == 42u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::wire
