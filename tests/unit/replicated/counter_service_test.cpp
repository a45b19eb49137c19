// The counter example's service: increments, reads, refusals and its snapshot.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>

#include "examples/counter/counter_service.hpp"

using troupe::counter::counter_service;
using troupe::replicated::apply_context;

BOOST_AUTO_TEST_CASE(increments_answer_the_new_value_and_get_reads_it) {
  counter_service s;
  BOOST_TEST(*s.apply({1, 1, 1}, "incr 3 hits") == "3");
  BOOST_TEST(*s.apply({2, 1, 2}, "incr -5 hits") == "-2");
  BOOST_TEST(*s.query("get hits") == "-2");
  BOOST_TEST(*s.query("get never") == "0");
  BOOST_TEST(*s.apply({3, 1, 3}, troupe::counter::incr_command("with space", 1)) == "1");
  BOOST_TEST(*s.query(troupe::counter::get_query("with space")) == "1");
}

BOOST_AUTO_TEST_CASE(bad_commands_and_overflow_are_refused_without_a_change) {
  counter_service s;
  for (const char* bad : {"", "incr", "incr x a", "incr 1", "incr 1 ", "decr 1 a", "incr 1x a"}) {
    BOOST_TEST(!s.apply({1, 1, 1}, bad).ok(), bad);
  }
  BOOST_TEST(!s.query("get").ok());
  BOOST_TEST(!s.query("put a").ok());
  BOOST_TEST(*s.apply({2, 1, 2}, "incr " + std::to_string(std::numeric_limits<std::int64_t>::max()) + " a") ==
             std::to_string(std::numeric_limits<std::int64_t>::max()));
  BOOST_TEST(!s.apply({3, 1, 3}, "incr 1 a").ok());
  BOOST_TEST(*s.query("get a") == std::to_string(std::numeric_limits<std::int64_t>::max()));
  BOOST_TEST(s.counters().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_snapshot_restores_the_same_counters_and_damage_is_refused) {
  counter_service s;
  (void)s.apply({1, 1, 1}, "incr 7 a");
  (void)s.apply({2, 1, 2}, "incr -1 b");
  const auto image = s.snapshot();
  counter_service t;
  BOOST_REQUIRE(t.restore(image).ok());
  BOOST_TEST(t.counters() == s.counters());
  BOOST_TEST(t.snapshot() == image);
  BOOST_TEST(!t.restore(image.substr(0, image.size() - 3)).ok());
  BOOST_TEST(!t.restore(image + "x").ok());
}
