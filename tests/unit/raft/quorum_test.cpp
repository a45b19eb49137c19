#define BOOST_TEST_MODULE raft_unit
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <iostream>
#include <vector>

#include "consensus/core/quorum.hpp"

using namespace troupe::raft;

namespace {
// Oracle: the largest index i such that more than half of the voters have match >= i, by brute force.
index_t oracle_committed(const std::vector<index_t>& m) {
  index_t best = 0;
  for (index_t i = 0; i <= 64; ++i) {
    std::size_t n = 0;
    for (auto x : m) n += x >= i ? 1 : 0;
    if (2 * n > m.size()) best = i;
  }
  return best;
}
std::uint64_t seed_from_env() {
  const char* s = std::getenv("TROUPE_SEED");
  return s != nullptr ? std::strtoull(s, nullptr, 10) : 42;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(quorum)

BOOST_AUTO_TEST_CASE(majority_is_more_than_half) {
  for (std::size_t n = 1; n <= 9; ++n) {
    BOOST_TEST(2 * majority(n) > n);
    BOOST_TEST(2 * (majority(n) - 1) <= n);
  }
}

BOOST_AUTO_TEST_CASE(committed_index_matches_a_brute_force_oracle) {
  const std::uint64_t seed = seed_from_env();
  std::cout << "quorum oracle seed=" << seed << " (rerun: TROUPE_SEED=" << seed << ")\n";
  std::uint64_t x = seed;
  auto next = [&x] { x = x * 6364136223846793005ULL + 1442695040888963407ULL; return x >> 33; };
  for (int round = 0; round < 5000; ++round) {
    std::vector<index_t> m(1 + next() % 7);
    for (auto& v : m) v = next() % 60;
    BOOST_TEST_REQUIRE(quorum_committed_index(m) == oracle_committed(m));
  }
}

BOOST_AUTO_TEST_CASE(vote_tally_wins_loses_or_waits) {
  BOOST_TEST((tally_votes(1, 1, 0) == vote_result::won));
  BOOST_TEST((tally_votes(3, 1, 0) == vote_result::pending));
  BOOST_TEST((tally_votes(3, 2, 0) == vote_result::won));
  BOOST_TEST((tally_votes(3, 1, 2) == vote_result::lost));
  BOOST_TEST((tally_votes(4, 2, 1) == vote_result::pending));
  BOOST_TEST((tally_votes(4, 2, 2) == vote_result::lost));
  BOOST_TEST((tally_votes(5, 3, 2) == vote_result::won));
}

BOOST_AUTO_TEST_SUITE_END()
