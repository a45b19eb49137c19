// The deterministic simulation tier for Raft. Seeds: TROUPE_SEEDS=a..b (a range) or TROUPE_SEED=n
// (one seed); every failure prints its seed. Injected bugs: TROUPE_RAFT_BUG=<name> runs the range
// with that bug planted and expects it to be caught.
#define BOOST_TEST_MODULE raft_sim
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "tests/sim/raft/linearizability.hpp"
#include "tests/sim/raft/raft_sim.hpp"
#include "tests/sim/seeds.hpp"

using namespace troupe::raft;
using namespace troupe::raft::testing;
using troupe::testing::seeds_from_env;

namespace {

kv_op put(std::string key, std::string value, std::uint64_t invoke, std::uint64_t response) {
  kv_op op;
  op.op = kv_op::kind::put;
  op.key = std::move(key);
  op.value = std::move(value);
  op.invoke = invoke;
  op.response = response;
  op.known = response != std::numeric_limits<std::uint64_t>::max();
  op.ok = true;
  return op;
}

kv_op get(std::string key, std::optional<std::string> seen, std::uint64_t invoke, std::uint64_t response) {
  kv_op op;
  op.op = kv_op::kind::get;
  op.key = std::move(key);
  op.invoke = invoke;
  op.response = response;
  op.known = true;
  op.ok = seen.has_value();
  op.output = seen.value_or("");
  return op;
}

constexpr std::uint64_t unknown = std::numeric_limits<std::uint64_t>::max();

bool apply_bug(const char* name, config::injected_bugs& bugs) {
  const std::string n = name;
  if (n == "commit_old_term_by_counting") {
    bugs.commit_old_term_by_counting = true;
  } else if (n == "reply_before_vote_durable") {
    bugs.reply_before_vote_durable = true;
  } else if (n == "skip_no_op") {
    bugs.skip_no_op = true;
  } else if (n == "read_index_without_quorum") {
    bugs.read_index_without_quorum = true;
  } else if (n == "lease_after_expiry") {
    bugs.lease_after_expiry = true;
  } else if (n == "joint_quorum_new_only") {
    bugs.joint_quorum_new_only = true;
  } else if (n == "snapshot_omits_membership") {
    bugs.snapshot_omits_membership = true;
  } else if (n == "accept_stale_snapshot") {
    bugs.accept_stale_snapshot = true;
  } else {
    return false;
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(linearizability_checker)

BOOST_AUTO_TEST_CASE(a_read_after_a_completed_write_must_see_it) {
  std::vector<kv_op> h{put("a", "1", 1, 2), get("a", std::nullopt, 3, 4)};
  BOOST_TEST(!check_linearizable(h).linearizable);
  h[1] = get("a", "1", 3, 4);
  BOOST_TEST(check_linearizable(h).linearizable);
}

BOOST_AUTO_TEST_CASE(concurrent_operations_may_take_effect_in_either_order) {
  std::vector<kv_op> h{put("a", "1", 1, 10), put("a", "2", 2, 9), get("a", "1", 11, 12)};
  BOOST_TEST(check_linearizable(h).linearizable);
  h.push_back(get("a", "2", 13, 14));  // went back from 1 to 2 with nothing concurrent
  BOOST_TEST(!check_linearizable(h).linearizable);
}

BOOST_AUTO_TEST_CASE(a_write_with_unknown_outcome_may_or_may_not_have_happened) {
  std::vector<kv_op> h{put("a", "1", 1, 2), put("a", "2", 3, unknown), get("a", "1", 4, 5),
                       get("a", "2", 6, 7)};
  BOOST_TEST(check_linearizable(h).linearizable);  // it took effect between the reads
  h.push_back(get("a", "1", 8, 9));
  BOOST_TEST(!check_linearizable(h).linearizable);  // but not undone afterwards
}

BOOST_AUTO_TEST_CASE(a_compare_and_set_must_agree_with_the_value_it_compared) {
  kv_op cas;
  cas.op = kv_op::kind::cas;
  cas.key = "a";
  cas.expected = "1";
  cas.value = "3";
  cas.invoke = 3;
  cas.response = 4;
  cas.known = true;
  cas.ok = true;
  std::vector<kv_op> h{put("a", "2", 1, 2), cas};
  BOOST_TEST(!check_linearizable(h).linearizable);
  h[0] = put("a", "1", 1, 2);
  h.push_back(get("a", "3", 5, 6));
  BOOST_TEST(check_linearizable(h).linearizable);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {
/// Runs `first..last` with `bugs` planted; returns the first failing seed, or 0.
std::uint64_t first_failing_seed(std::uint64_t first, std::uint64_t last, const config::injected_bugs& bugs) {
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    sim_options o;
    o.seed = seed;
    o.nodes = seed % 2 == 1 ? 3 : 5;
    o.bugs = bugs;
    if (!run_simulation(o).ok) return seed;
  }
  return 0;
}
}  // namespace

namespace {
void add_snapshot_counters(node_counters& into, const node_counters& c) {
  into.compactions += c.compactions;
  into.snapshot_sends_started += c.snapshot_sends_started;
  into.snapshot_chunks_sent += c.snapshot_chunks_sent;
  into.snapshot_resumes += c.snapshot_resumes;
  into.snapshot_waits_for_apply += c.snapshot_waits_for_apply;
  into.snapshots_throttled += c.snapshots_throttled;
  into.snapshots_installed += c.snapshots_installed;
  into.snapshots_kept_suffix += c.snapshots_kept_suffix;
  into.snapshots_restored += c.snapshots_restored;
  into.stale_snapshots_ignored += c.stale_snapshots_ignored;
}
std::string snapshot_coverage(const node_counters& t) {
  return "snapshots: compactions=" + std::to_string(t.compactions) +
         " sends_started=" + std::to_string(t.snapshot_sends_started) +
         " chunks_sent=" + std::to_string(t.snapshot_chunks_sent) + " resumes=" + std::to_string(t.snapshot_resumes) +
         " waits_for_apply=" + std::to_string(t.snapshot_waits_for_apply) +
         " throttled=" + std::to_string(t.snapshots_throttled) + " installed=" + std::to_string(t.snapshots_installed) +
         " kept_suffix=" + std::to_string(t.snapshots_kept_suffix) + " restored=" + std::to_string(t.snapshots_restored) +
         " stale_ignored=" + std::to_string(t.stale_snapshots_ignored);
}
/// Snapshot paths every full range must reach (compaction while a follower lags, resumed and
/// throttled transfers, a restore slower than the transfer, Figure 13's suffix and stale rules).
void check_snapshot_coverage(const node_counters& t) {
  BOOST_TEST(t.compactions > 0u);
  BOOST_TEST(t.snapshot_sends_started > 0u);
  BOOST_TEST(t.snapshots_installed > 0u);
  BOOST_TEST(t.snapshots_restored > 0u);
  BOOST_TEST(t.snapshot_resumes > 0u);
  BOOST_TEST(t.snapshot_waits_for_apply > 0u);
  BOOST_TEST(t.snapshots_throttled > 0u);
  BOOST_TEST(t.snapshots_kept_suffix > 0u);
  BOOST_TEST(t.stale_snapshots_ignored > 0u);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(simulation)

BOOST_AUTO_TEST_CASE(each_injected_bug_is_caught_within_the_seed_range) {
  // The simulation must be able to fail: each known bug, planted alone, is caught by some seed.
  const auto range = seeds_from_env({1, 1000});
  for (const char* name : {"commit_old_term_by_counting", "reply_before_vote_durable", "skip_no_op",
                           "read_index_without_quorum", "lease_after_expiry"}) {
    config::injected_bugs bugs;
    BOOST_REQUIRE(apply_bug(name, bugs));
    const auto seed = first_failing_seed(range.first, range.last, bugs);
    std::cout << "injected bug " << name << ": "
              << (seed != 0 ? "caught by seed " + std::to_string(seed) : std::string("NOT caught")) << "\n";
    BOOST_TEST(seed != 0u, "injected bug " << name << " not caught in seeds " << range.first << ".."
                                           << range.last);
  }
}

BOOST_AUTO_TEST_CASE(seeded_clusters_stay_safe_and_linearizable) {
  const auto range = seeds_from_env({1, 1000});
  sim_options base;
  const char* bug = std::getenv("TROUPE_RAFT_BUG");
  if (bug != nullptr) BOOST_REQUIRE_MESSAGE(apply_bug(bug, base.bugs), "unknown bug " << bug);
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t seeds = 0, failures = 0, acknowledged = 0, unknown_ops = 0, ticks = 0, crashes = 0,
                pauses = 0, partitions = 0, transfers = 0, inconclusive = 0, probes = 0;
  node_counters total;
  for (std::uint64_t seed = range.first; seed <= range.last; ++seed) {
    sim_options o = base;
    o.seed = seed;
    o.nodes = seed % 2 == 1 ? 3 : 5;
    const auto out = run_simulation(o);
    ++seeds;
    acknowledged += out.operations_acknowledged;
    unknown_ops += out.operations_unknown;
    ticks += out.ticks;
    crashes += out.crashes;
    pauses += out.pauses;
    partitions += out.partitions;
    transfers += out.transfers;
    probes += out.stale_leader_probes;
    inconclusive += out.linearizability_inconclusive ? 1 : 0;
    total.old_term_commit_deferred += out.counters.old_term_commit_deferred;
    total.conflicting_suffix_truncated += out.counters.conflicting_suffix_truncated;
    total.pre_votes_rejected += out.counters.pre_votes_rejected;
    total.lease_expired_reads += out.counters.lease_expired_reads;
    total.lease_reads += out.counters.lease_reads;
    total.reads_waited_for_no_op += out.counters.reads_waited_for_no_op;
    total.reads_during_transfer += out.counters.reads_during_transfer;
    total.vote_requests_ignored_in_lease += out.counters.vote_requests_ignored_in_lease;
    total.check_quorum_step_downs += out.counters.check_quorum_step_downs;
    total.transfers_aborted += out.counters.transfers_aborted;
    add_snapshot_counters(total, out.counters);
    if (!out.ok) {
      ++failures;
      std::cout << "FAIL seed=" << seed << " nodes=" << o.nodes << ": " << out.failure
                << " (rerun: TROUPE_SEED=" << seed << (bug ? std::string(" TROUPE_RAFT_BUG=") + bug : "")
                << ")\n";
      if (bug != nullptr) break;  // caught: that is all we wanted
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "raft sim: seeds " << range.first << ".." << range.first + seeds - 1 << " (" << seeds
            << "), failures " << failures << ", ops acknowledged " << acknowledged << ", unknown "
            << unknown_ops << ", ticks " << ticks << ", crashes " << crashes << ", pauses " << pauses
            << ", partitions " << partitions << ", transfers " << transfers
            << ", stale-leader probes " << probes
            << ", linearizability inconclusive " << inconclusive << ", " << seconds << " s\n"
            << "coverage: figure8_commit_deferred=" << total.old_term_commit_deferred
            << " conflicting_suffix_truncated=" << total.conflicting_suffix_truncated
            << " pre_vote_rejected=" << total.pre_votes_rejected
            << " vote_ignored_in_lease=" << total.vote_requests_ignored_in_lease
            << " lease_reads=" << total.lease_reads << " lease_expired_reads=" << total.lease_expired_reads
            << " reads_waited_for_no_op=" << total.reads_waited_for_no_op
            << " reads_during_transfer=" << total.reads_during_transfer
            << " check_quorum_step_downs=" << total.check_quorum_step_downs
            << " transfers_aborted=" << total.transfers_aborted << "\n"
            << snapshot_coverage(total) << "\n";
  if (bug != nullptr) {
    BOOST_TEST(failures > 0u, "injected bug " << bug << " was not caught in the seed range");
    return;
  }
  BOOST_TEST(failures == 0u);
  if (seeds >= 100) {
    // Rare paths must be reached somewhere in a full range (FoundationDB's BUGGIFY discipline).
    BOOST_TEST(total.old_term_commit_deferred > 0u);
    BOOST_TEST(total.conflicting_suffix_truncated > 0u);
    BOOST_TEST(total.pre_votes_rejected > 0u);
    BOOST_TEST(total.lease_expired_reads > 0u);
    BOOST_TEST(total.reads_waited_for_no_op > 0u);
    BOOST_TEST(total.reads_during_transfer > 0u);
    check_snapshot_coverage(total);
  }
}

namespace {
/// The membership mix: 5 slots; bootstrap voters 3 (odd seeds), 1 (seeds divisible by 4) or 5.
sim_options membership_options(std::uint64_t seed) {
  sim_options o;
  o.seed = seed;
  o.nodes = 5;
  o.membership = true;
  o.initial_voters = seed % 2 == 1 ? 3 : (seed % 4 == 0 ? 1 : 5);
  return o;
}
}  // namespace

BOOST_AUTO_TEST_CASE(seeded_membership_changes_stay_safe_and_linearizable) {
  // Seeds: TROUPE_MEMBERSHIP_SEEDS=a..b or TROUPE_MEMBERSHIP_SEED=n (apart from the main range, so
  // each can be rerun alone); TROUPE_RAFT_BUG=<name> plants a bug here too.
  const auto range = seeds_from_env({1, 300}, "TROUPE_MEMBERSHIP_SEED", "TROUPE_MEMBERSHIP_SEEDS");
  config::injected_bugs planted;
  const char* bug = std::getenv("TROUPE_RAFT_BUG");
  if (bug != nullptr) BOOST_REQUIRE_MESSAGE(apply_bug(bug, planted), "unknown bug " << bug);
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t seeds = 0, failures = 0, acknowledged = 0, unknown_ops = 0, changes = 0, removals = 0,
                promotions = 0, shrinks = 0, grows = 0, mid_change = 0;
  node_counters total;
  for (std::uint64_t seed = range.first; seed <= range.last; ++seed) {
    auto o = membership_options(seed);
    o.bugs = planted;
    const auto out = run_simulation(o);
    ++seeds;
    acknowledged += out.operations_acknowledged;
    unknown_ops += out.operations_unknown;
    changes += out.conf_changes;
    removals += out.leader_removals;
    promotions += out.learner_promotions;
    shrinks += out.shrinks_to_one;
    grows += out.grow_backs;
    mid_change += out.crashes_mid_change;
    total.joint_configs_left += out.counters.joint_configs_left;
    total.configs_reverted += out.counters.configs_reverted;
    total.removed_leader_step_downs += out.counters.removed_leader_step_downs;
    total.conf_changes_refused_busy += out.counters.conf_changes_refused_busy;
    total.old_term_commit_deferred += out.counters.old_term_commit_deferred;
    add_snapshot_counters(total, out.counters);
    if (!out.ok) {
      ++failures;
      std::cout << "FAIL membership seed=" << seed << " voters=" << o.initial_voters << ": " << out.failure
                << " (rerun: TROUPE_MEMBERSHIP_SEED=" << seed
                << (bug ? std::string(" TROUPE_RAFT_BUG=") + bug : "") << ")\n";
      if (bug != nullptr) break;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "raft membership sim: seeds " << range.first << ".." << range.first + seeds - 1 << " (" << seeds
            << "), failures " << failures << ", ops acknowledged " << acknowledged << ", unknown " << unknown_ops
            << ", conf changes " << changes << ", " << seconds << " s\n"
            << "coverage: leader_removals=" << removals << " removed_leader_step_downs="
            << total.removed_leader_step_downs << " learner_promotions=" << promotions
            << " shrinks_to_one=" << shrinks << " grow_backs=" << grows << " crashes_mid_change=" << mid_change
            << " joint_configs_left=" << total.joint_configs_left << " configs_reverted=" << total.configs_reverted
            << " conf_changes_refused_busy=" << total.conf_changes_refused_busy
            << " figure8_commit_deferred=" << total.old_term_commit_deferred << "\n"
            << snapshot_coverage(total) << "\n";
  if (bug != nullptr) {
    BOOST_TEST(failures > 0u, "injected bug " << bug << " was not caught in the membership seed range");
    return;
  }
  BOOST_TEST(failures == 0u);
  if (seeds >= 100) {
    BOOST_TEST(removals > 0u);
    BOOST_TEST(total.removed_leader_step_downs > 0u);
    BOOST_TEST(promotions > 0u);
    BOOST_TEST(shrinks > 0u);
    BOOST_TEST(grows > 0u);
    BOOST_TEST(mid_change > 0u);
    BOOST_TEST(total.joint_configs_left > 0u);
    BOOST_TEST(total.configs_reverted > 0u);
    BOOST_TEST(total.conf_changes_refused_busy > 0u);
    check_snapshot_coverage(total);
  }
}

BOOST_AUTO_TEST_CASE(a_joint_quorum_that_ignores_c_old_is_caught_within_the_membership_range) {
  // The membership invariants must be able to fail: counting only C_new during C_old,new (against
  // thesis §4.3) is planted and must be caught by some seed of the range.
  config::injected_bugs bugs;
  bugs.joint_quorum_new_only = true;
  std::uint64_t caught = 0;
  for (std::uint64_t seed = 1; seed <= 300 && caught == 0; ++seed) {
    auto o = membership_options(seed);
    o.bugs = bugs;
    if (!run_simulation(o).ok) caught = seed;
  }
  std::cout << "injected bug joint_quorum_new_only: "
            << (caught != 0 ? "caught by membership seed " + std::to_string(caught) : std::string("NOT caught"))
            << "\n";
  BOOST_TEST(caught != 0u);
}

BOOST_AUTO_TEST_CASE(snapshot_bugs_are_caught) {
  // A follower that installs a snapshot at or below its commit index (against Figure 13) rolls its
  // commit back; a snapshot without its configuration leaves a node on a stale one (thesis §5.1).
  struct planted {
    const char* name;
    bool membership_range;
  };
  for (const planted p : {planted{"accept_stale_snapshot", false}, planted{"snapshot_omits_membership", true}}) {
    config::injected_bugs bugs;
    BOOST_REQUIRE(apply_bug(p.name, bugs));
    std::uint64_t caught = 0;
    for (std::uint64_t seed = 1; seed <= 300 && caught == 0; ++seed) {
      sim_options o = p.membership_range ? membership_options(seed) : sim_options{};
      if (!p.membership_range) {
        o.seed = seed;
        o.nodes = seed % 2 == 1 ? 3 : 5;
      }
      o.bugs = bugs;
      if (!run_simulation(o).ok) caught = seed;
    }
    std::cout << "injected bug " << p.name << ": "
              << (caught != 0 ? "caught by seed " + std::to_string(caught) : std::string("NOT caught")) << "\n";
    BOOST_TEST(caught != 0u, "injected bug " << p.name << " not caught");
  }
}

BOOST_AUTO_TEST_SUITE_END()
