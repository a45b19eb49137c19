// A corpus of hostile frames: each must be refused by message::parse with an error value (never a
// crash, never an exception), and for each a well-formed twin is accepted, so that a rejection is
// proven to come from the defect under test.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>

#include "runtime/wire/client.capnp.h"
#include "runtime/wire/message.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

using namespace troupe::wire::test;

bool rejected_as(const result<message>& r, errc code) { return !r.ok() && r.err().code == code; }

/// Rejected as malformed for the reason named by `why` (a phrase of Cap'n Proto's own message), so
/// that a rejection for some other defect of the hand-made frame does not pass the test.
bool rejected_because(const result<message>& r, const char* why) {
  return rejected_as(r, errc::malformed) && r.err().message.find(why) != std::string::npos;
}

std::vector<std::byte> rich_valid_frame() {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::ClientReply>();
  root.setClientId(1);
  root.setSequence(2);
  root.setErrorMessage("something");
  auto hint = root.initLeaderHint();
  hint.setNodeId(3);
  hint.setAddress("127.0.0.1:7101");
  auto status = root.initBody().initStatus();
  auto members = status.initMembers(2);
  members[0].setAddress("a:1");
  members[1].setAddress("b:2");
  return copy_bytes(message::from_builder(builder));
}

/// root -> struct -> struct whose pointer is a byte list of `count` elements; `room` words follow.
std::vector<std::byte> nested_list(std::uint32_t count, std::size_t room) {
  words seg{struct_ptr(0, 0, 1), struct_ptr(0, 0, 1), struct_ptr(0, 1, 1), 0x77,
            list_ptr(0, 2, count)};
  seg.resize(seg.size() + room, 0);
  return frame({seg});
}

/// A chain of `depth` structs, each holding only a pointer to the next.
std::vector<std::byte> chain(std::size_t depth) {
  words seg(depth, struct_ptr(0, 0, 1));
  seg.push_back(0);  // the last struct's pointer is null
  return frame({seg});
}

/// A list of `fan_out` pointers that all point at one struct of `data_words` words: small on the
/// wire, fan_out * data_words words for a traversal.
std::vector<std::byte> shared_target(std::uint32_t fan_out, std::uint16_t data_words) {
  words seg{struct_ptr(0, 0, 1), list_ptr(0, 6, fan_out)};
  for (std::uint32_t i = 0; i < fan_out; ++i) {
    seg.push_back(struct_ptr(static_cast<std::int32_t>(fan_out - 1 - i), data_words, 0));
  }
  seg.resize(seg.size() + data_words, 0x5555);
  return frame({seg});
}

BOOST_AUTO_TEST_SUITE(malformed_frames)

BOOST_AUTO_TEST_CASE(a_hand_made_minimal_frame_is_accepted) {
  BOOST_TEST(message::parse(frame({{struct_ptr(0, 1, 0), 0x1234}})).ok());
}

BOOST_AUTO_TEST_CASE(a_frame_truncated_at_any_byte_is_rejected) {
  const auto bytes = rich_valid_frame();
  BOOST_REQUIRE(message::parse(bytes).ok());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = message::parse(std::span<const std::byte>(bytes).first(n));
    BOOST_TEST(rejected_as(r, errc::malformed), "prefix of " << n << " bytes");
  }
}

BOOST_AUTO_TEST_CASE(a_frame_with_trailing_bytes_is_rejected) {
  auto bytes = rich_valid_frame();
  bytes.resize(bytes.size() + 8);
  BOOST_TEST(rejected_as(message::parse(bytes), errc::malformed));
}

BOOST_AUTO_TEST_CASE(a_segment_count_of_zero_is_rejected) {
  // The count field holds count - 1: 0xffffffff wraps to zero segments.
  BOOST_TEST(rejected_as(message::parse(raw_table({0xffffffffu, 1}, 1)), errc::malformed));
}

BOOST_AUTO_TEST_CASE(a_huge_segment_count_is_rejected_as_too_large) {
  BOOST_TEST(rejected_as(message::parse(raw_table({0x7fffffffu, 1}, 1)), errc::too_large));
  BOOST_TEST(rejected_as(message::parse(raw_table({512u, 1}, 1)), errc::too_large));
}

BOOST_AUTO_TEST_CASE(segment_sizes_that_disagree_with_the_body_are_rejected) {
  BOOST_TEST(rejected_as(message::parse(raw_table({0, 4}, 2)), errc::malformed));  // too short
  BOOST_TEST(rejected_as(message::parse(raw_table({0, 2}, 4)), errc::malformed));  // too long
  BOOST_TEST(rejected_as(message::parse(raw_table({1, 1, 5}, 3)), errc::malformed));
}

BOOST_AUTO_TEST_CASE(an_empty_first_segment_is_rejected) {
  BOOST_TEST(rejected_as(message::parse(raw_table({0, 0}, 0)), errc::malformed));
}

BOOST_AUTO_TEST_CASE(a_root_struct_pointer_outside_its_segment_is_rejected) {
  BOOST_TEST(rejected_because(message::parse(frame({{struct_ptr(5, 1, 0), 0}})),
                              "out-of-bounds struct pointer"));
  BOOST_TEST(rejected_because(message::parse(frame({{struct_ptr(-10, 1, 0), 0}})),
                              "out-of-bounds struct pointer"));
}

BOOST_AUTO_TEST_CASE(a_far_pointer_out_of_bounds_is_rejected) {
  // A valid far pointer first: root in segment 1 through a landing pad.
  BOOST_TEST(message::parse(frame({{far_ptr(0, 1)}, {struct_ptr(0, 1, 0), 9}})).ok());
  // Landing pad beyond the end of segment 1.
  BOOST_TEST(rejected_because(message::parse(frame({{far_ptr(100, 1)}, {struct_ptr(0, 1, 0), 9}})),
                              "out-of-bounds far pointer"));
  // Landing pad in a segment that does not exist.
  BOOST_TEST(rejected_because(message::parse(frame({{far_ptr(0, 7)}, {struct_ptr(0, 1, 0), 9}})),
                              "unknown segment"));
}

BOOST_AUTO_TEST_CASE(a_list_pointer_too_long_deep_inside_is_rejected_at_parse) {
  BOOST_TEST(message::parse(nested_list(8, 1)).ok());
  BOOST_TEST(rejected_because(message::parse(nested_list(1000, 1)), "out-of-bounds list pointer"));
}

BOOST_AUTO_TEST_CASE(a_composite_list_whose_tag_overstates_its_words_is_rejected) {
  // Composite list of 2 words: tag claims 1 element of 1 data word (fits) / 5 elements (does not).
  BOOST_TEST(message::parse(frame({{list_ptr(0, 7, 1), struct_ptr(1, 1, 0), 0}})).ok());
  BOOST_TEST(rejected_because(
      message::parse(frame({{list_ptr(0, 7, 2), struct_ptr(5, 1, 0), 0, 0}})), "overran size"));
}

BOOST_AUTO_TEST_CASE(nesting_deeper_than_the_limit_is_rejected) {
  reader_limits limits;
  limits.nesting_limit = 64;
  BOOST_TEST(message::parse(chain(30), limits).ok());
  BOOST_TEST(rejected_because(message::parse(chain(100), limits), "too deeply-nested"));
}

BOOST_AUTO_TEST_CASE(a_frame_over_the_size_limit_is_rejected_from_its_header_alone) {
  // 8 bytes announcing a 24 MiB segment: refused without any body.
  BOOST_TEST(rejected_as(message::parse(raw_table({0, 3u << 20}, 0)), errc::too_large));
  // A complete frame just over a small limit.
  const auto bytes = rich_valid_frame();
  reader_limits limits;
  limits.max_frame_bytes = bytes.size() - 8;
  BOOST_TEST(rejected_as(message::parse(bytes, limits), errc::too_large));
  limits.max_frame_bytes = bytes.size();
  BOOST_TEST(message::parse(bytes, limits).ok());
}

BOOST_AUTO_TEST_CASE(amplification_through_shared_pointers_hits_the_traversal_limit) {
  // 2 pointers to one struct: fine. 3000 pointers to one 3000-word struct: 9M words of traversal
  // from a 48 KiB frame, over the default limit of twice the maximum frame size (4M words).
  BOOST_TEST(message::parse(shared_target(2, 3000)).ok());
  const auto hostile = shared_target(3000, 3000);
  BOOST_TEST(hostile.size() < 64u * 1024u);
  BOOST_TEST(rejected_because(message::parse(hostile), "traversal limit"));
}

BOOST_AUTO_TEST_CASE(a_reserved_pointer_kind_is_rejected) {
  // Kind 3 is "other": only a capability index (B == 0) is defined; B == 1 is reserved.
  BOOST_TEST(message::parse(frame({{struct_ptr(0, 0, 1), 0xffffffff00000003ull}})).ok());
  BOOST_TEST(rejected_because(message::parse(frame({{struct_ptr(0, 0, 1), 0xffffffff00000007ull}})),
                              "Unknown pointer type"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::wire
