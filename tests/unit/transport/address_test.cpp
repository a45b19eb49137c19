#include <boost/test/unit_test.hpp>

#include "runtime/transport/transport.hpp"

using troupe::transport::parse_address;

BOOST_AUTO_TEST_SUITE(listen_and_peer_addresses)

BOOST_AUTO_TEST_CASE(host_and_port_are_split_at_the_last_colon) {
  auto a = parse_address("127.0.0.1:7101");
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(a->host == "127.0.0.1");
  BOOST_TEST(a->port == 7101);
  BOOST_TEST(troupe::transport::to_string(*a) == "127.0.0.1:7101");
}

BOOST_AUTO_TEST_CASE(bad_ports_are_refused_with_a_message_naming_the_address) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:70000", ":80",
                          "127.0.0.1:0", "127.0.0.1:80x"}) {
    auto a = parse_address(bad);
    BOOST_TEST(!a.ok(), bad);
    if (!a.ok())
      BOOST_TEST(a.err().message.find(bad) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(port_zero_is_allowed_only_when_asked_for) {
  BOOST_TEST(parse_address("127.0.0.1:0", true).ok());
  BOOST_TEST(!parse_address("127.0.0.1:0").ok());
}

BOOST_AUTO_TEST_SUITE_END()
