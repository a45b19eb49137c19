#define BOOST_TEST_MODULE transport_unit
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <iostream>
#include <random>
#include <set>

#include "runtime/transport/backoff.hpp"

using namespace std::chrono_literals;
using troupe::transport::backoff;

namespace {

std::uint64_t test_seed() {
  const char* env = std::getenv("TROUPE_TEST_SEED");
  const std::uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::cout << "backoff tests: seed " << seed << " (rerun with TROUPE_TEST_SEED=" << seed << ")\n";
  return seed;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reconnect_backoff)

BOOST_AUTO_TEST_CASE(delays_stay_between_half_and_all_of_a_doubling_ceiling_capped_at_max) {
  std::mt19937_64 rng(test_seed());
  backoff b(50ms, 5000ms);
  std::int64_t ceiling = 50;
  for (int attempt = 0; attempt < 30; ++attempt) {
    const auto d = b.next(rng).count();
    BOOST_TEST(d >= ceiling - ceiling / 2);
    BOOST_TEST(d <= ceiling);
    ceiling = std::min<std::int64_t>(ceiling * 2, 5000);
  }
}

BOOST_AUTO_TEST_CASE(reset_starts_again_from_the_initial_delay) {
  std::mt19937_64 rng(test_seed());
  backoff b(100ms, 10s);
  for (int i = 0; i < 10; ++i)
    (void)b.next(rng);
  BOOST_TEST(b.attempts() == 10u);
  b.reset();
  BOOST_TEST(b.next(rng).count() <= 100);
}

BOOST_AUTO_TEST_CASE(the_same_seed_replays_the_same_delays) {
  const auto seed = test_seed();
  std::mt19937_64 r1(seed), r2(seed);
  backoff a(50ms, 5s), b(50ms, 5s);
  for (int i = 0; i < 20; ++i)
    BOOST_TEST(a.next(r1).count() == b.next(r2).count());
}

BOOST_AUTO_TEST_CASE(jitter_spreads_nodes_restarting_together) {
  std::mt19937_64 rng(test_seed());
  std::set<std::int64_t> seen;
  for (int node = 0; node < 50; ++node) {
    backoff b(1000ms, 60s);
    seen.insert(b.next(rng).count());
  }
  // 50 draws from 501 values: all equal would be a broken jitter, not bad luck.
  BOOST_TEST(seen.size() > 1u);
}

BOOST_AUTO_TEST_SUITE_END()
