/// The benchmark's latency summary: nearest-rank percentiles and the mean, against hand-computed
/// values.
#include <boost/test/unit_test.hpp>

#include "runtime/client/bench/latency_stats.hpp"

using troupe::client::bench::percentile_of_sorted;
using troupe::client::bench::summarize;

BOOST_AUTO_TEST_SUITE(latency_stats)

BOOST_AUTO_TEST_CASE(nearest_rank_percentiles_of_one_to_a_thousand) {
  std::vector<std::uint32_t> v;
  for (std::uint32_t i = 1000; i >= 1; --i) v.push_back(i * 1000);  // 1..1000 ms, unsorted
  auto s = summarize(v);
  BOOST_TEST(s.count == 1000u);
  BOOST_TEST(s.p50_ms == 500.0);
  BOOST_TEST(s.p99_ms == 990.0);
  BOOST_TEST(s.p999_ms == 999.0);
  BOOST_TEST(s.max_ms == 1000.0);
  BOOST_TEST(s.mean_ms == 500.5);
}

BOOST_AUTO_TEST_CASE(small_samples_take_the_largest_value_for_high_percentiles) {
  std::vector<std::uint32_t> v{300, 100, 200};
  auto s = summarize(v);
  BOOST_TEST(s.p50_ms == 0.2);
  BOOST_TEST(s.p99_ms == 0.3);
  BOOST_TEST(percentile_of_sorted(v, 100) == 300u);
  std::vector<std::uint32_t> empty;
  BOOST_TEST(summarize(empty).count == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
