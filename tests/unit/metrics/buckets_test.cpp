#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "runtime/metrics/buckets.hpp"

using namespace troupe::metrics;

BOOST_AUTO_TEST_SUITE(buckets)

BOOST_AUTO_TEST_CASE(exponential_buckets_multiply_by_the_factor) {
  auto b = exponential_buckets(0.001, 2, 4);
  BOOST_REQUIRE(b.ok());
  BOOST_TEST((*b == bucket_bounds{0.001, 0.002, 0.004, 0.008}));
}

BOOST_AUTO_TEST_CASE(exponential_buckets_refuse_bad_arguments) {
  BOOST_TEST(!exponential_buckets(0, 2, 4).ok());
  BOOST_TEST(!exponential_buckets(-1, 2, 4).ok());
  BOOST_TEST(!exponential_buckets(1, 1, 4).ok());
  BOOST_TEST(!exponential_buckets(1, 2, 0).ok());
  BOOST_TEST(!exponential_buckets(1, 2, 65).ok());
  BOOST_TEST(!exponential_buckets(1e300, 1e10, 5).ok());  // overflows to inf
  BOOST_TEST(exponential_buckets(1, 2, 0).err().message.find("count") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(latency_buckets_span_100_microseconds_to_10_seconds_increasing) {
  const auto& b = latency_buckets_seconds();
  BOOST_REQUIRE(!b.empty());
  BOOST_TEST(b.front() == 0.0001);
  BOOST_TEST(b.back() == 10.0);
  BOOST_TEST((std::adjacent_find(b.begin(), b.end(), std::greater_equal<>()) == b.end()));
}

BOOST_AUTO_TEST_SUITE_END()
