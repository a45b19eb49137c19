// ring_buffer against std::deque as the oracle: random pushes and pops across many growths and
// wrap-arounds, indexing checked after every step. Fixed seeds; rerun one with TROUPE_LINK_SEED=<s>.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>
#include <random>

#include "runtime/transport/link/ring_buffer.hpp"

namespace troupe::link::test {

BOOST_AUTO_TEST_SUITE(ring_buffer_tests)

BOOST_AUTO_TEST_CASE(a_ring_buffer_holds_what_a_deque_holds_through_growth_and_wrap_around) {
  std::vector<std::uint64_t> seeds{1, 2, 3};
  if (const char* env = std::getenv("TROUPE_LINK_SEED")) seeds = {std::strtoull(env, nullptr, 10)};
  for (const auto seed : seeds) {
    BOOST_TEST_MESSAGE("ring_buffer seed " << seed << " (rerun with TROUPE_LINK_SEED=" << seed << ")");
    std::mt19937_64 rng(seed);
    ring_buffer<std::uint64_t> ring;
    std::deque<std::uint64_t> oracle;
    std::uint64_t next = 1;
    for (int step = 0; step < 20000; ++step) {
      // Phases that mostly grow, then mostly shrink, so the ring wraps at many sizes.
      const bool growing = (step / 2500) % 2 == 0;
      if (oracle.empty() || rng() % 10 < (growing ? 7u : 3u)) {
        ring.push_back_slot() = next;
        oracle.push_back(next++);
      } else {
        ring.pop_front();
        oracle.pop_front();
      }
      BOOST_REQUIRE_EQUAL(ring.size(), oracle.size());
      BOOST_REQUIRE_EQUAL(ring.empty(), oracle.empty());
      if (!oracle.empty()) {
        BOOST_REQUIRE_EQUAL(ring.front(), oracle.front());
        const auto i = rng() % oracle.size();
        BOOST_REQUIRE_EQUAL(ring[i], oracle[i]);
        BOOST_REQUIRE_EQUAL(ring[oracle.size() - 1], oracle.back());
      }
    }
    ring.clear();
    BOOST_TEST(ring.empty());
    ring.push_back_slot() = 7;
    BOOST_TEST(ring.front() == 7u);
  }
}

BOOST_AUTO_TEST_CASE(a_popped_slot_lets_go_of_what_it_held_at_once) {
  ring_buffer<std::shared_ptr<int>> ring;
  auto held = std::make_shared<int>(1);
  ring.push_back_slot() = held;
  ring.push_back_slot() = std::make_shared<int>(2);
  BOOST_TEST(held.use_count() == 2);
  ring.pop_front();
  BOOST_TEST(held.use_count() == 1);  // the retransmit buffer must not keep an acked payload alive
  BOOST_TEST(*ring.front() == 2);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace troupe::link::test
