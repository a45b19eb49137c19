// The replicated service API in deterministic simulation (docs/consistency.md): exactly-once
// commands under duplicated, delayed and retried requests, and every read consistency level under
// partitions and crashes, each checked for what the docs promise. Seeds: TROUPE_SEEDS=a..b or
// TROUPE_SEED=n; every failure prints its seed and how to rerun it.
#define BOOST_TEST_MODULE replicated_sim
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <iostream>

#include "tests/sim/replicated/replicated_sim.hpp"
#include "tests/sim/seeds.hpp"

using namespace troupe::replicated::testing;
using troupe::testing::seeds_from_env;

BOOST_AUTO_TEST_CASE(commands_apply_exactly_once_and_each_read_level_keeps_its_documented_promise) {
  const auto range = seeds_from_env({1, 200});
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t seeds = 0, failures = 0;
  replicated_sim_outcome total;
  for (std::uint64_t seed = range.first; seed <= range.last; ++seed) {
    replicated_sim_options o;
    o.seed = seed;
    o.nodes = seed % 2 == 1 ? 3 : 5;
    const auto out = run_replicated_simulation(o);
    ++seeds;
    total.add_counts(out);
    total.stale_copies += out.stale_copies;
    for (int i = 0; i < 5; ++i) total.reads_by_level[i] += out.reads_by_level[i];
    total.session_waits += out.session_waits;
    total.stale_behind += out.stale_behind;
    total.history_ops += out.history_ops;
    if (!out.ok) {
      ++failures;
      std::cout << "FAIL seed=" << seed << " nodes=" << o.nodes << ": " << out.failure
                << " (rerun: TROUPE_SEED=" << seed << ")\n";
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "replicated sim: seeds " << range.first << ".." << range.last << " (" << seeds << "), failures "
            << failures << ", ops acknowledged " << total.acknowledged << ", unknown " << total.unknown << ", ticks "
            << total.ticks << ", crashes " << total.crashes << ", partitions " << total.partitions << ", " << seconds
            << " s\n"
            << "commands: copies " << total.copies_sent << " retries " << total.retries << " | replica applies: fresh "
            << total.applied << " duplicate " << total.duplicates << " stale " << total.stale_copies << "\n"
            << "reads: linearizable " << total.reads_by_level[0] << " lease " << total.reads_by_level[1]
            << " follower " << total.reads_by_level[2] << " session " << total.reads_by_level[3] << " (waited "
            << total.session_waits << ") stale " << total.reads_by_level[4] << " (behind the commit index "
            << total.stale_behind << ") | linearizability history " << total.history_ops << " ops\n";
  BOOST_TEST(failures == 0u);
  if (seeds >= 50) {
    // What this test exists for must happen in a full range.
    BOOST_TEST(total.duplicates > 0u);
    BOOST_TEST(total.retries > 0u);
    BOOST_TEST(total.copies_sent > 0u);
    BOOST_TEST(total.partitions > 0u);
    for (int i = 0; i < 5; ++i) BOOST_TEST(total.reads_by_level[i] > 0u, "level " << i);
    BOOST_TEST(total.session_waits > 0u);
    BOOST_TEST(total.stale_behind > 0u);
  }
}

BOOST_AUTO_TEST_CASE(each_injected_bug_is_caught_within_the_seed_range) {
  // The checks above can fail: each bug, switched on alone, must make some seed fail.
  const auto range = seeds_from_env({1, 60}, "TROUPE_BUG_SEED", "TROUPE_BUG_SEEDS");
  const std::pair<injected_bug, const char*> bugs[] = {
      {injected_bug::retry_with_new_sequence, "retry_with_new_sequence"},
      {injected_bug::session_ignores_bound, "session_ignores_bound"},
      {injected_bug::linearizable_served_local, "linearizable_served_local"},
  };
  for (const auto& [bug, name] : bugs) {
    std::uint64_t caught = 0, first = 0;
    std::string why;
    for (std::uint64_t seed = range.first; seed <= range.last; ++seed) {
      replicated_sim_options o;
      o.seed = seed;
      o.nodes = seed % 2 == 1 ? 3 : 5;
      o.bug = bug;
      const auto out = run_replicated_simulation(o);
      if (!out.ok && caught++ == 0) {
        first = seed;
        why = out.failure;
      }
    }
    std::cout << "injected bug " << name << ": caught by " << caught << " of " << (range.last - range.first + 1)
              << " seeds" << (caught ? " (first: seed " + std::to_string(first) + ": " + why + ")" : std::string()) << "\n";
    BOOST_TEST(caught > 0u, name << " was never caught");
  }
}
