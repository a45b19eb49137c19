// `troupe lock` argument parsing (examples/lock/lock_command.hpp): what is accepted, and that bad
// input is a one-line usage error (exit 2 in lock_main).
#include <boost/test/unit_test.hpp>

#include "examples/lock/lock_command.hpp"

using troupe::lock::lock_cli_op;
using troupe::lock::parse_lock_command;

BOOST_AUTO_TEST_SUITE(lock_command_parsing)

BOOST_AUTO_TEST_CASE(acquire_release_and_status_parse_with_their_options) {
  auto a = parse_lock_command({"acquire", "disk", "--ttl=2s", "--wait", "--endpoints=127.0.0.1:7000"});
  BOOST_REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.err().message));
  BOOST_TEST((a->op == lock_cli_op::acquire));
  BOOST_TEST(a->name == "disk");
  BOOST_TEST(a->ttl.count() == 2000);
  BOOST_TEST(a->wait);
  auto d = parse_lock_command({"acquire", "disk", "--endpoints=127.0.0.1:7000"});
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d->ttl.count() == 10'000);  // the default TTL
  BOOST_TEST(!d->wait);
  auto r = parse_lock_command({"release", "disk", "--lease=7", "--endpoints=127.0.0.1:7000"});
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->lease == 7u);
  auto s = parse_lock_command({"status", "disk", "--endpoints=127.0.0.1:7000"});
  BOOST_REQUIRE(s.ok());
  BOOST_TEST((s->op == lock_cli_op::status));
}

BOOST_AUTO_TEST_CASE(bad_input_is_a_usage_error) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"grab", "disk", "--endpoints=127.0.0.1:7000"},
      {"acquire", "--endpoints=127.0.0.1:7000"},
      {"acquire", "a", "b", "--endpoints=127.0.0.1:7000"},
      {"acquire", "disk", "--ttl=50ms", "--endpoints=127.0.0.1:7000"},
      {"acquire", "disk", "--ttl=ten", "--endpoints=127.0.0.1:7000"},
      {"acquire", "disk", "--lease=3", "--endpoints=127.0.0.1:7000"},
      {"release", "disk", "--endpoints=127.0.0.1:7000"},
      {"release", "disk", "--lease=0", "--endpoints=127.0.0.1:7000"},
      {"status", "disk", "--wait", "--endpoints=127.0.0.1:7000"},
  };
  for (const auto& words : bad) {
    auto c = parse_lock_command(words);
    std::string shown;
    for (const auto& w : words) shown += w + " ";
    BOOST_TEST(!c.ok(), "accepted: " << shown);
    if (!c.ok()) BOOST_TEST((c.err().code == troupe::errc::invalid_argument), shown << ": " << c.err().message);
  }
}

BOOST_AUTO_TEST_SUITE_END()
