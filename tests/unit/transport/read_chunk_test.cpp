#include <boost/test/unit_test.hpp>

#include "runtime/transport/read_chunk.hpp"

using troupe::transport::read_chunk;

BOOST_AUTO_TEST_SUITE(adaptive_read_chunk)

BOOST_AUTO_TEST_CASE(starts_at_the_minimum) {
  read_chunk c(4096, 65536);
  BOOST_TEST(c.size() == 4096u);
}

BOOST_AUTO_TEST_CASE(doubles_after_each_full_read_up_to_the_maximum) {
  read_chunk c(4096, 65536);
  const std::size_t expected[] = {8192, 16384, 32768, 65536};
  for (auto e : expected) {
    BOOST_TEST(c.after_read(c.size()));
    BOOST_TEST(c.size() == e);
  }
  BOOST_TEST(!c.after_read(c.size()));  // already at the maximum
  BOOST_TEST(c.size() == 65536u);
}

BOOST_AUTO_TEST_CASE(halves_after_small_reads_down_to_the_minimum) {
  read_chunk c(4096, 65536);
  while (c.size() < 65536)
    c.after_read(c.size());
  BOOST_TEST(c.after_read(100));
  BOOST_TEST(c.size() == 32768u);
  BOOST_TEST(c.after_read(8192));  // exactly a quarter: still small
  BOOST_TEST(c.size() == 16384u);
  while (c.after_read(1)) {
  }
  BOOST_TEST(c.size() == 4096u);
  BOOST_TEST(!c.after_read(0));
}

BOOST_AUTO_TEST_CASE(keeps_its_size_for_reads_between_a_quarter_and_full) {
  read_chunk c(4096, 65536);
  c.after_read(4096);
  BOOST_TEST(c.size() == 8192u);
  BOOST_TEST(!c.after_read(2049));
  BOOST_TEST(!c.after_read(8191));
  BOOST_TEST(c.size() == 8192u);
}

BOOST_AUTO_TEST_CASE(a_minimum_above_the_maximum_is_clamped) {
  read_chunk c(1 << 20, 65536);
  BOOST_TEST(c.size() == 65536u);
  BOOST_TEST(!c.after_read(65536));
  BOOST_TEST(!c.after_read(1));
  BOOST_TEST(c.size() == 65536u);
}

BOOST_AUTO_TEST_SUITE_END()
