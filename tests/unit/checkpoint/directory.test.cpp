// The participant directory against a plain map (its oracle): placements in a seeded random order
// that mixes small ids (kept dense) with large ones (kept sparse, some later covered by the dense
// range as it grows). A failure names its seed; rerun one with TROUPE_SEED=<seed>.
#define BOOST_TEST_MODULE checkpoint_directory
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>

#include "snapshot/channel/directory.hpp"
#include "tests/sim/seeds.hpp"

namespace ch = troupe::checkpoint::channel;

BOOST_AUTO_TEST_CASE(node_of_answers_as_a_map_would_for_dense_and_sparse_ids) {
  const auto seeds = troupe::testing::seeds_from_env({1, 20});
  for (std::uint64_t seed = seeds.first; seed <= seeds.last; ++seed) {
    std::mt19937_64 rng(seed);
    ch::directory d;
    std::map<std::uint64_t, ch::node_id> oracle;
    for (int i = 0; i < 3000; ++i) {
      // Mostly small ids, some far above anything dense, some just above the dense range.
      const auto kind = rng() % 10;
      const std::uint64_t p = kind < 7 ? 1 + rng() % 4000 : kind < 9 ? 1 + rng() % 20000 : rng();
      const ch::node_id node = 1 + rng() % 5;
      const bool placed = d.add(p, node).ok();
      BOOST_REQUIRE_MESSAGE(placed == !oracle.contains(p), "seed " << seed << ": add " << p);
      if (placed) oracle[p] = node;
    }
    BOOST_REQUIRE_EQUAL(d.size(), oracle.size());
    for (std::uint64_t p = 0; p < 25000; ++p) {
      auto expected = oracle.find(p);
      auto got = d.node_of(p);
      BOOST_REQUIRE_MESSAGE(got.has_value() == (expected != oracle.end()), "seed " << seed << ": id " << p);
      if (got) BOOST_REQUIRE_MESSAGE(*got == expected->second, "seed " << seed << ": id " << p);
      BOOST_REQUIRE(d.contains(p) == got.has_value());
    }
    for (auto [p, node] : oracle) BOOST_REQUIRE_MESSAGE(d.node_of(p) == node, "seed " << seed << ": id " << p);
  }
}

BOOST_AUTO_TEST_CASE(id_zero_and_node_zero_are_refused) {
  ch::directory d;
  BOOST_TEST(!d.add(0, 1).ok());
  BOOST_TEST(!d.add(1, 0).ok());
  BOOST_TEST(!d.node_of(0).has_value());
  BOOST_TEST(!d.contains(1));
}
