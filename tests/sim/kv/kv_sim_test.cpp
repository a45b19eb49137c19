// The key-value service in deterministic simulation: exactly-once application under duplicated,
// delayed and retried client requests, and convergence of the replicas. Seeds: TROUPE_SEEDS=a..b
// (a range) or TROUPE_SEED=n (one seed); every failure prints its seed and how to rerun it.
#define BOOST_TEST_MODULE kv_sim
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "tests/sim/kv/kv_sim.hpp"
#include "tests/sim/seeds.hpp"

using namespace troupe::kv::testing;
using troupe::testing::seeds_from_env;

namespace {

/// The profile of a seed: 3 or 5 nodes; every third seed a session table smaller than the number of
/// clients, so that sessions are evicted and clients see sessionExpired.
kv_sim_options options_for(std::uint64_t seed) {
  kv_sim_options o;
  o.seed = seed;
  o.nodes = seed % 2 == 1 ? 3 : 5;
  if (seed % 3 == 0) o.max_sessions = 2;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(duplicated_delayed_and_retried_requests_are_applied_at_most_once) {
  const auto range = seeds_from_env({1, 400});
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t seeds = 0, failures = 0;
  kv_sim_outcome total;
  for (std::uint64_t seed = range.first; seed <= range.last; ++seed) {
    const auto o = options_for(seed);
    const auto out = run_kv_simulation(o);
    ++seeds;
    total.add_counts(out);
    total.reads += out.reads;
    total.stale += out.stale;
    total.expired += out.expired;
    total.new_sessions += out.new_sessions;
    total.evictions += out.evictions;
    total.transfers += out.transfers;
    total.transfers_succeeded += out.transfers_succeeded;
    total.watch_polls += out.watch_polls;
    if (!out.ok) {
      ++failures;
      std::cout << "FAIL seed=" << seed << " nodes=" << o.nodes << " max_sessions=" << o.max_sessions << ": "
                << out.failure << " (rerun: TROUPE_SEED=" << seed << ")\n";
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "kv sim: seeds " << range.first << ".." << range.last << " (" << seeds << "), failures " << failures
            << ", ops acknowledged " << total.acknowledged << ", unknown " << total.unknown << ", reads "
            << total.reads << ", ticks " << total.ticks << ", crashes " << total.crashes << ", " << seconds
            << " s\n"
            << "requests: copies " << total.copies_sent << " retries " << total.retries
            << " | replica applies: fresh " << total.applied << " duplicate " << total.duplicates << " stale "
            << total.stale << " expired " << total.expired << " | evictions " << total.evictions
            << " new sessions " << total.new_sessions << " | transfers " << total.transfers << " succeeded "
            << total.transfers_succeeded << " | watch polls " << total.watch_polls << "\n";
  BOOST_TEST(failures == 0u);
  if (seeds >= 50) {
    // The paths this test exists for must be reached in a full range.
    BOOST_TEST(total.duplicates > 0u);
    BOOST_TEST(total.stale > 0u);
    BOOST_TEST(total.expired > 0u);
    BOOST_TEST(total.evictions > 0u);
    BOOST_TEST(total.new_sessions > 0u);
    BOOST_TEST(total.retries > 0u);
    BOOST_TEST(total.unknown > 0u);
    BOOST_TEST(total.transfers_succeeded > 0u);
  }
}
