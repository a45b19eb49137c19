// Protocol version negotiation (the link handshake uses it).
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>

#include "runtime/wire/common_codec.hpp"
#include "runtime/wire/version.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

BOOST_AUTO_TEST_SUITE(version_negotiation)

BOOST_AUTO_TEST_CASE(the_highest_common_version_is_chosen) {
  auto v = negotiate_version({1, 3}, {2, 5});
  BOOST_REQUIRE(v.ok());
  BOOST_TEST(*v == 3);
  auto same = negotiate_version(supported_versions, supported_versions);
  BOOST_REQUIRE(same.ok());
  BOOST_TEST(*same == protocol_version_max);
}

BOOST_AUTO_TEST_CASE(disjoint_ranges_are_unsupported) {
  auto v = negotiate_version({1, 2}, {3, 4});
  BOOST_REQUIRE(!v.ok());
  BOOST_TEST(v.err().code == errc::unsupported);
  BOOST_TEST(v.err().message.find("[1, 2]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_empty_or_zero_range_is_invalid) {
  auto inverted = negotiate_version({1, 1}, {4, 3});
  BOOST_REQUIRE(!inverted.ok());
  BOOST_TEST(inverted.err().code == errc::invalid_argument);
  auto zero = negotiate_version({0, 1}, {1, 1});
  BOOST_REQUIRE(!zero.ok());
  BOOST_TEST(zero.err().code == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(version_range_and_node_address_round_trip_through_their_fields) {
  capnp::MallocMessageBuilder builder;
  auto range = builder.initRoot<schema::VersionRange>();
  write(range, version_range{3, 9});
  BOOST_TEST((read(range.asReader()) == version_range{3, 9}));
  capnp::MallocMessageBuilder address_builder;
  auto address = address_builder.initRoot<schema::NodeAddress>();
  write(address, node_address{0x1234, "node-7.example:7107"});
  BOOST_TEST((read(address.asReader()) == node_address{0x1234, "node-7.example:7107"}));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::wire
