// Membership changes (Raft thesis chapter 4), each test named after the sentence it checks, plus the
// DESIGN.md section 5 scenarios that need them: removing the leader, crash in the middle of a change,
// change while partitioned, disruptive removed servers.
#include <boost/test/unit_test.hpp>

#include "tests/scenario/raft/scenario_support.hpp"

using namespace troupe::raft;
using namespace troupe::raft::testing;

namespace {
using k = conf_change::kind;

membership simple(std::vector<node_id> voters, std::vector<node_id> learners = {}) {
  return membership{std::move(voters), std::move(learners), {}};
}

/// Runs until every live node named in `ids` holds `m` as a committed configuration.
bool settle_on(cluster& c, const membership& m, std::vector<node_id> ids, std::size_t max_ticks = 400) {
  for (std::size_t t = 0; t < max_ticks; ++t) {
    bool all = true;
    for (node_id id : ids) {
      if (!c.is_up(id)) continue;
      const auto s = c.at(id).status();
      all = all && s.membership == m && !s.conf_change_pending;
    }
    if (all) return true;
    run(c, 1);
  }
  return false;
}

/// The committed data entries every node in `ids` applied agree with the leader's.
void require_agreement(cluster& c, std::vector<node_id> ids, const std::string& data) {
  for (node_id id : ids) {
    bool found = false;
    for (const auto& e : c.applied(id)) found = found || e.data == data;
    BOOST_TEST(found, "node " << id << " did not apply " << data);
  }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(membership_changes)

BOOST_AUTO_TEST_CASE(a_server_always_uses_the_latest_configuration_in_its_log_regardless_of_whether_it_is_committed) {
  // thesis §4.1
  cluster c(4, scenario_config(), 11, 3);
  const auto l = c.elect();
  BOOST_REQUIRE(l);
  BOOST_REQUIRE(one(c, "a", 3));
  for (node_id id = 1; id <= 3; ++id) {
    if (id != *l) c.isolate(id);
  }
  auto idx = c.propose_conf_change(*l, {{k::add_voter, 4}});
  BOOST_REQUIRE(idx.ok());
  const auto s = c.at(*l).status();
  BOOST_TEST(s.membership_index == *idx);
  BOOST_TEST(s.commit < *idx);  // not committed, yet in effect
  BOOST_TEST((s.membership.voters == std::vector<node_id>{1, 2, 3, 4}));
  BOOST_TEST(is_joint(s.membership));
  // thesis §4.1: one change at a time
  auto again = c.propose_conf_change(*l, {{k::add_voter, 5}});
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST((again.err().code == troupe::errc::busy));
  c.heal();
  BOOST_TEST(settle_on(c, simple({1, 2, 3, 4}), {1, 2, 3, 4}));
  BOOST_REQUIRE(one(c, "b", 4));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(agreement_in_the_joint_configuration_requires_separate_majorities_from_both_configurations) {
  // thesis §4.3: replace {1,2,3} by {1,4,5}; while 4 and 5 are cut off, C_old alone commits nothing.
  cluster c(5, scenario_config(), 12, 3);
  auto l = c.elect();
  BOOST_REQUIRE(l && l == c.leader());
  BOOST_REQUIRE(one(c, "a", 3));
  const node_id keep = *l;
  std::vector<node_id> old_others;
  for (node_id id = 1; id <= 3; ++id) {
    if (id != keep) old_others.push_back(id);
  }
  c.isolate(4);
  c.isolate(5);
  auto idx = c.propose_conf_change(
      keep, {{k::add_voter, 4}, {k::add_voter, 5}, {k::remove, old_others[0]}, {k::remove, old_others[1]}});
  BOOST_REQUIRE(idx.ok());
  run(c, 5);
  BOOST_TEST(c.at(keep).status().commit < *idx, "C_old,new committed by C_old alone");
  BOOST_TEST(c.at(old_others[0]).log().last_index() >= *idx);  // C_old has it
  c.heal();
  const membership target = simple({4, 5, keep});
  std::vector<node_id> target_sorted{4, 5, keep};
  std::sort(target_sorted.begin(), target_sorted.end());
  BOOST_TEST(settle_on(c, membership{target_sorted, {}, {}}, target_sorted));
  BOOST_TEST(c.counters_total().joint_configs_left >= 1u);
  // The removed servers hold the configuration that leaves them out, so they never campaign again.
  const auto elections_before = c.counters_total().elections_started;
  run(c, 200);
  BOOST_TEST(c.counters_total().elections_started == elections_before);
  BOOST_REQUIRE(one(c, "b", 3));
  require_agreement(c, target_sorted, "b");
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(an_election_in_the_joint_configuration_needs_both_majorities) {
  // thesis §4.3: "any server from either configuration may serve as leader", but needs both majorities.
  cluster c(5, scenario_config(), 13, 3);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  BOOST_REQUIRE(one(c, "a", 3));
  // Enter C_old,new = {1,2,3} -> {3,4,5} and freeze it there: 3's log has it, leave is blocked.
  auto idx = c.propose_conf_change(*l, {{k::add_voter, 4}, {k::add_voter, 5}, {k::remove, 1}, {k::remove, 2}});
  BOOST_REQUIRE(idx.ok());
  // Let the joint entry spread but stop the leader before it can leave: silence it once it commits
  // (it appends C_new at that moment), then crash it.
  c.filter = [&](const raft_message& m) {
    return !(m.from == *l && c.is_up(*l) && c.at(*l).status().commit >= *idx);
  };
  for (int t = 0; t < 200 && c.at(*l).status().commit < *idx; ++t) run(c, 1);
  BOOST_REQUIRE(c.at(*l).status().commit >= *idx);
  c.crash(*l);
  c.filter = nullptr;
  BOOST_TEST(is_joint(c.at(4).current_membership()));
  // 4 and 5 alone (a majority of C_new) cannot elect anyone without a majority of C_old.
  for (node_id id = 1; id <= 5; ++id) {
    if (id != 4 && id != 5) c.isolate(id);
  }
  run(c, 100);
  BOOST_TEST(live_leaders(c) == 0u);
  c.heal();
  c.restart(*l);
  auto l2 = c.elect();
  BOOST_REQUIRE(l2);
  BOOST_TEST(settle_on(c, simple({3, 4, 5}), {3, 4, 5}));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(a_leader_that_is_not_in_c_new_steps_down_once_c_new_is_committed) {
  // thesis §4.2.2 (DESIGN.md 5: removing the leader)
  cluster c(3, scenario_config(), 14);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  BOOST_REQUIRE(one(c, "a", 3));
  auto idx = c.propose_conf_change(*l, {{k::remove, *l}});
  BOOST_REQUIRE(idx.ok());
  // It manages the cluster through C_old,new and C_new without counting itself in C_new ...
  bool led_while_joint = false;
  for (int t = 0; t < 200 && c.at(*l).status().role == role::leader; ++t) {
    led_while_joint = led_while_joint || is_joint(c.at(*l).current_membership());
    run(c, 1);
  }
  BOOST_TEST(led_while_joint);
  // ... and steps down once C_new commits, handing over with TimeoutNow (no election timeout lost).
  BOOST_TEST(c.at(*l).status().role == role::follower);
  BOOST_TEST(c.counters_total().removed_leader_step_downs == 1u);
  BOOST_TEST(c.sent_by_type().count("timeout_now") == 1u);
  std::vector<node_id> rest;
  for (node_id id = 1; id <= 3; ++id) {
    if (id != *l) rest.push_back(id);
  }
  BOOST_TEST(settle_on(c, simple(rest), rest));
  auto l2 = c.leader();
  BOOST_REQUIRE(l2);
  BOOST_TEST(*l2 != *l);
  BOOST_REQUIRE(one(c, "b", 2));
  // The removed server stays quiet: no campaign, whatever time passes.
  const auto term = c.at(*l2).status().term;
  run(c, 300);
  BOOST_TEST(c.at(*l).status().role == role::follower);
  BOOST_TEST((c.leader() == l2));
  BOOST_TEST(c.at(*l2).status().term == term);
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(removed_servers_that_never_learned_of_their_removal_do_not_disrupt_the_cluster) {
  // thesis §4.2.3: servers disregard RequestVote RPCs when they believe a current leader exists
  // (here: PreVote and CheckQuorum stickiness). Node R is cut off, removed, and comes back.
  for (bool pre_vote : {true, false}) {
    BOOST_TEST_CONTEXT("pre_vote=" << pre_vote) {
      config cfg = scenario_config();
      cfg.pre_vote = pre_vote;
      cluster c(3, cfg, 15);
      auto l = c.elect();
      BOOST_REQUIRE(l);
      BOOST_REQUIRE(one(c, "a", 3));
      const node_id r = *l == 3 ? 2 : 3;
      c.isolate(r);
      BOOST_REQUIRE(c.propose_conf_change(*l, {{k::remove, r}}).ok());
      std::vector<node_id> rest;
      for (node_id id = 1; id <= 3; ++id) {
        if (id != r) rest.push_back(id);
      }
      BOOST_REQUIRE(settle_on(c, simple(rest), rest));
      run(c, 100);  // R times out over and over (its term grows without PreVote)
      BOOST_TEST(c.at(r).status().role != role::leader);
      const term_t term = c.at(*l).status().term;
      c.heal();
      run(c, 300);
      BOOST_TEST((c.leader() == l));
      BOOST_TEST(c.at(*l).status().term == term, "the removed server forced a new term");
      BOOST_TEST(c.counters_total().vote_requests_ignored_in_lease + c.counters_total().pre_votes_rejected > 0u);
      BOOST_REQUIRE(one(c, "b", 2));
      require_no_violations(c);
    }
  }
}

BOOST_AUTO_TEST_CASE(learners_receive_the_log_but_neither_vote_nor_count_toward_commitment) {
  // thesis §4.2.1: new servers join as non-voting members until they are caught up, then are promoted.
  cluster c(4, scenario_config(), 16, 3);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  for (int i = 0; i < 5; ++i) BOOST_REQUIRE(one(c, "x" + std::to_string(i), 3));
  BOOST_REQUIRE(c.propose_conf_change(*l, {{k::add_learner, 4}}).ok());
  BOOST_TEST(settle_on(c, simple({1, 2, 3}, {4}), {1, 2, 3, 4}));
  BOOST_REQUIRE(one(c, "y", 4));  // it received everything
  BOOST_TEST(c.applied(4).size() == 6u);
  BOOST_TEST(c.at(4).status().learner);
  // Commitment does not wait for it.
  c.crash(4);
  BOOST_REQUIRE(one(c, "z", 3));
  c.restart(4);
  // It never campaigns, even when the leader dies; a voter takes over.
  c.crash(*l);
  for (int t = 0; t < 300 && !c.leader(); ++t) run(c, 1);
  auto l2 = c.leader();
  BOOST_REQUIRE(l2);
  BOOST_TEST(*l2 != 4u);
  c.restart(*l);
  // Promotion goes through C_old,new.
  l2 = c.elect();
  BOOST_REQUIRE(l2);
  BOOST_REQUIRE(c.propose_conf_change(*l2, {{k::add_voter, 4}}).ok());
  BOOST_TEST(settle_on(c, simple({1, 2, 3, 4}), {1, 2, 3, 4}));
  BOOST_TEST(!c.at(4).status().learner);
  // A transfer to a learner was refused before; to the promoted voter it now works.
  BOOST_REQUIRE(one(c, "w", 4));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(a_leader_never_hands_leadership_to_a_learner) {
  cluster c(4, scenario_config(), 17, 3);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  BOOST_REQUIRE(one(c, "a", 3));
  BOOST_REQUIRE(c.propose_conf_change(*l, {{k::add_learner, 4}}).ok());
  BOOST_REQUIRE(settle_on(c, simple({1, 2, 3}, {4}), {1, 2, 3, 4}));
  auto st = c.at(*l).transfer_leadership(4, c.now());
  BOOST_TEST((!st.ok() && st.err().code == troupe::errc::invalid_argument));
  auto h = c.at(*l).hand_over(c.now());
  BOOST_REQUIRE(h.ok());
  BOOST_TEST(*h != 4u);
}

BOOST_AUTO_TEST_CASE(a_configuration_entry_lost_with_its_leader_is_undone_and_the_old_configuration_returns) {
  // DESIGN.md 5: crash in the middle of a membership change, before the change reached anyone.
  cluster c(4, scenario_config(), 18, 3);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  BOOST_REQUIRE(one(c, "a", 3));
  c.isolate(*l);
  BOOST_REQUIRE(c.propose_conf_change(*l, {{k::add_voter, 4}}).ok());
  BOOST_TEST(c.at(*l).current_membership().voters.size() == 4u);
  // The others elect a new leader and write past it; the old leader comes back and is overwritten.
  for (int t = 0; t < 300; ++t) {
    run(c, 1);
    auto nl = c.leader();
    if (nl && *nl != *l) break;
  }
  auto l2 = c.leader();
  BOOST_REQUIRE(l2 && *l2 != *l);
  BOOST_REQUIRE(one(c, "b", 2));
  c.heal();
  BOOST_TEST(settle_on(c, simple({1, 2, 3}), {1, 2, 3}));
  BOOST_TEST(c.counters_total().configs_reverted >= 1u);
  BOOST_REQUIRE(one(c, "c", 3));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(a_leader_crash_after_the_joint_configuration_committed_leaves_the_next_leader_to_finish) {
  // DESIGN.md 5: crash in the middle of a membership change, after C_old,new committed.
  cluster c(5, scenario_config(), 19, 3);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  BOOST_REQUIRE(one(c, "a", 3));
  auto idx = c.propose_conf_change(*l, {{k::add_voter, 4}, {k::add_voter, 5}});
  BOOST_REQUIRE(idx.ok());
  // Crash the leader the moment the joint entry commits, before C_new spreads.
  c.filter = [&](const raft_message& m) {
    return !(m.from == *l && c.is_up(*l) && c.at(*l).status().commit >= *idx);
  };
  for (int t = 0; t < 200 && c.at(*l).status().commit < *idx; ++t) run(c, 1);
  BOOST_REQUIRE(c.at(*l).status().commit >= *idx);
  c.crash(*l);
  c.filter = nullptr;
  BOOST_TEST(settle_on(c, simple({1, 2, 3, 4, 5}), {1, 2, 3, 4, 5}, 600));
  c.restart(*l);
  BOOST_TEST(settle_on(c, simple({1, 2, 3, 4, 5}), {1, 2, 3, 4, 5}));
  BOOST_REQUIRE(one(c, "b", 5));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(a_change_made_while_a_minority_is_partitioned_reaches_it_after_the_partition_heals) {
  // DESIGN.md 5: change while partitioned
  cluster c(5, scenario_config(), 20);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  BOOST_REQUIRE(one(c, "a", 5));
  std::set<node_id> minority;
  for (node_id id = 1; minority.size() < 2; ++id) {
    if (id != *l) minority.insert(id);
  }
  c.partition(minority);
  const node_id gone = *minority.begin();
  BOOST_REQUIRE(c.propose_conf_change(*l, {{k::remove, gone}}).ok());
  std::vector<node_id> rest;
  for (node_id id = 1; id <= 5; ++id) {
    if (id != gone) rest.push_back(id);
  }
  std::vector<node_id> majority_side;
  for (node_id id : rest) {
    if (minority.count(id) == 0) majority_side.push_back(id);
  }
  BOOST_TEST(settle_on(c, simple(rest), majority_side));
  c.heal();
  BOOST_TEST(settle_on(c, simple(rest), rest));
  BOOST_REQUIRE(one(c, "b", 4));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(a_cluster_shrinks_to_one_node_that_commits_alone_and_grows_back) {
  cluster c(3, scenario_config(), 21);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  BOOST_REQUIRE(one(c, "a", 3));
  std::vector<conf_change> shrink;
  for (node_id id = 1; id <= 3; ++id) {
    if (id != *l) shrink.push_back({k::remove, id});
  }
  BOOST_REQUIRE(c.propose_conf_change(*l, shrink).ok());
  BOOST_REQUIRE(settle_on(c, simple({*l}), {*l}));
  for (node_id id = 1; id <= 3; ++id) {
    if (id != *l) c.crash(id);
  }
  BOOST_REQUIRE(one(c, "alone", 1));  // a one-voter configuration commits by itself
  for (node_id id = 1; id <= 3; ++id) {
    if (id != *l) c.restart(id);
  }
  std::vector<conf_change> grow;
  for (node_id id = 1; id <= 3; ++id) {
    if (id != *l) grow.push_back({k::add_voter, id});
  }
  BOOST_REQUIRE(c.propose_conf_change(*l, grow).ok());
  BOOST_TEST(settle_on(c, simple({1, 2, 3}), {1, 2, 3}));
  BOOST_REQUIRE(one(c, "b", 3));
  require_agreement(c, {1, 2, 3}, "alone");
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(every_node_recovers_its_configuration_from_its_log_after_a_full_restart) {
  cluster c(5, scenario_config(), 22, 3);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  BOOST_REQUIRE(c.propose_conf_change(*l, {{k::add_voter, 4}, {k::add_learner, 5}}).ok());
  const membership m = simple({1, 2, 3, 4}, {5});
  BOOST_REQUIRE(settle_on(c, m, {1, 2, 3, 4, 5}));
  for (node_id id = 1; id <= 5; ++id) c.crash(id);
  for (node_id id = 1; id <= 5; ++id) c.restart(id);
  for (node_id id = 1; id <= 5; ++id) BOOST_TEST((c.at(id).current_membership() == m));
  BOOST_REQUIRE(c.elect());
  BOOST_REQUIRE(one(c, "after", 5));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(a_voter_left_out_of_an_uncommitted_c_new_still_campaigns_so_the_cluster_does_not_stall) {
  // Found by the membership simulation (seed 138). Leader L of {L, F} removes itself and appends
  // C_new = {F}; F loses it in a crash before its fsync; then L crashes too. F (back in C_old,new)
  // needs L's vote, but L's log is longer; L, by its latest (uncommitted) configuration, is no voter.
  // L must still campaign: it is a voter of the configuration before its uncommitted latest one.
  cluster c(2, scenario_config(), 24);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  const node_id f = *l == 1 ? 2 : 1;
  BOOST_REQUIRE(one(c, "a", 2));
  bool armed = false;
  c.filter = [&](const raft_message& m) {
    const auto* app = std::get_if<append_entries>(&m.body);
    if (app == nullptr || m.from != *l || armed) return true;
    for (const auto& e : app->entries) {
      if (e.type != entry_type::config) continue;
      if (auto conf = decode_membership(e.data); conf && !is_joint(*conf)) {
        c.crash_before_next_sync(f);  // C_new reaches F but never its disk
        armed = true;
      }
    }
    return true;
  };
  BOOST_REQUIRE(c.propose_conf_change(*l, {{k::remove, *l}}).ok());
  for (int t = 0; t < 100 && c.is_up(f); ++t) run(c, 1);
  BOOST_REQUIRE(!c.is_up(f));
  c.filter = nullptr;
  c.crash(*l);
  c.restart(*l);
  c.restart(f);
  BOOST_TEST((c.at(*l).current_membership() == simple({f})));
  BOOST_TEST(is_joint(c.at(f).current_membership()));
  BOOST_TEST(settle_on(c, simple({f}), {*l, f}, 600));
  BOOST_TEST((c.leader() == f));
  BOOST_TEST(c.counters_total().removed_leader_step_downs >= 1u);
  BOOST_REQUIRE(one(c, "b", 1));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(an_append_carrying_a_malformed_configuration_entry_is_refused_whole) {
  cluster c(3, scenario_config(), 23);
  auto l = c.elect();
  BOOST_REQUIRE(l);
  const node_id f = *l == 1 ? 2 : 1;
  const auto before = c.at(f).log().last_index();
  const auto s = c.at(f).status();
  append_entries app{1, before, c.at(f).log().last_term(), {{s.term, before + 1, entry_type::config, "junk"}}, 0};
  auto st = c.at(f).step({*l, f, s.term, app}, c.now());
  BOOST_TEST((!st.ok() && st.err().code == troupe::errc::malformed));
  BOOST_TEST(c.at(f).log().last_index() == before);
}

BOOST_AUTO_TEST_SUITE_END()
