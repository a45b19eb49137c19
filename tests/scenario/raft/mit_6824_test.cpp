// The MIT 6.824 Raft lab tests (2A-2C, without snapshots) as named scenarios over real cores.
#define BOOST_TEST_MODULE raft_scenario
#include "tests/scenario/raft/scenario_support.hpp"

using namespace troupe::raft;
using namespace troupe::raft::testing;

BOOST_AUTO_TEST_SUITE(mit_6824)

BOOST_AUTO_TEST_CASE(initial_election) {
  cluster c(3, scenario_config(), 1);
  auto l = c.elect();
  BOOST_REQUIRE(l.has_value());
  const term_t term1 = c.at(*l).status().term;
  BOOST_TEST(term1 >= 1u);
  // With no failures the leader and the term stay put.
  run(c, 100);
  BOOST_TEST((c.leader() == l));
  for (node_id id = 1; id <= 3; ++id) BOOST_TEST(c.at(id).status().term == term1);
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(re_election) {
  cluster c(3, scenario_config(), 2);
  auto l1 = c.elect();
  BOOST_REQUIRE(l1);
  // The leader disconnects: a new one is elected among the others.
  c.isolate(*l1);
  run(c, 60);
  auto l2 = c.elect();
  BOOST_REQUIRE(l2);
  BOOST_TEST(*l2 != *l1);
  // The old leader rejoins: it must not disturb the new one.
  c.heal();
  run(c, 60);
  BOOST_TEST(live_leaders(c) == 1u);
  // No quorum: no leader should be elected.
  const node_id l3 = *c.leader();
  const node_id other = l3 % 3 + 1;
  c.isolate(l3);
  c.isolate(other);
  run(c, 100);
  std::size_t leading = 0;
  for (node_id id = 1; id <= 3; ++id) leading += c.at(id).status().role == role::leader ? 1 : 0;
  BOOST_TEST(leading == 0u);  // the cut-off leader stepped down (CheckQuorum)
  // Quorum returns: a leader again.
  c.heal();
  c.isolate(l3);
  BOOST_TEST(c.elect().has_value());
  c.heal();
  run(c, 60);
  BOOST_TEST(live_leaders(c) == 1u);
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(many_elections) {
  const auto seed = scenario_seed("many_elections", 3);
  cluster c(7, scenario_config(), seed);
  BOOST_REQUIRE(c.elect());
  for (int iter = 0; iter < 10; ++iter) {
    std::set<node_id> cut;
    while (cut.size() < 3) cut.insert(1 + c.random().below(7));
    for (auto id : cut) c.isolate(id);
    run(c, 30);  // a cut-off leader steps down (CheckQuorum) and its followers notice
    // 4 of 7 remain connected: they must (re)elect a leader.
    auto l = c.elect(2000);
    BOOST_REQUIRE(l);
    BOOST_TEST(cut.count(*l) == 0u);
    c.heal();
  }
  run(c, 60);
  BOOST_TEST(live_leaders(c) == 1u);
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(basic_agree) {
  cluster c(3, scenario_config(), 4);
  BOOST_REQUIRE(c.elect());
  index_t last = 0;
  for (int i = 1; i <= 3; ++i) {
    const std::string cmd = "cmd" + std::to_string(i);
    BOOST_TEST(count_applied(c, last + 1, cmd) == 0u);  // nothing committed before Start()
    auto idx = one(c, cmd, 3);
    BOOST_REQUIRE(idx);
    BOOST_TEST(*idx > last);
    last = *idx;
  }
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(fail_agree) {
  cluster c(3, scenario_config(), 5);
  BOOST_REQUIRE(c.elect());
  BOOST_REQUIRE(one(c, "101", 3));
  const node_id l = *c.leader();
  const node_id f = l % 3 + 1;
  c.isolate(f);
  // The leader and the remaining follower still agree.
  BOOST_REQUIRE(one(c, "102", 2));
  BOOST_REQUIRE(one(c, "103", 2));
  run(c, 20);
  BOOST_REQUIRE(one(c, "104", 2));
  // The follower reconnects and catches up.
  c.heal();
  BOOST_REQUIRE(one(c, "106", 3));
  BOOST_TEST(c.applied(f).size() >= 5u);
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(fail_no_agree) {
  cluster c(5, scenario_config(), 6);
  BOOST_REQUIRE(c.elect());
  BOOST_REQUIRE(one(c, "10", 5));
  const node_id l = *c.leader();
  for (node_id k = 1; k <= 3; ++k) c.isolate((l + k - 1) % 5 + 1);
  auto idx = c.propose(l, "20");
  BOOST_REQUIRE(idx.ok());
  run(c, 30);
  BOOST_TEST(count_applied(c, *idx, "20") == 0u);  // no majority: no commit
  c.heal();
  BOOST_REQUIRE(c.elect());
  BOOST_REQUIRE(one(c, "1000", 5));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(concurrent_starts) {
  cluster c(3, scenario_config(), 7);
  const node_id l = *c.elect();
  run(c, 4);
  const auto sent_before = c.sent_by_type();
  std::vector<index_t> idx;
  for (int i = 0; i < 5; ++i) {
    auto r = c.at(l).propose("c" + std::to_string(i), c.now());
    BOOST_REQUIRE(r.ok());
    idx.push_back(*r);
  }
  c.deliver_all();
  run(c, 2);  // the last follower learns the commit index with the next heartbeat
  for (int i = 0; i < 5; ++i) {
    BOOST_TEST(idx[i] == idx[0] + i);  // distinct, consecutive
    BOOST_TEST(count_applied(c, idx[i], "c" + std::to_string(i)) == 3u);
  }
  // Batching: proposals made before one ready go out in one AppendEntries per follower.
  auto appends = c.sent_by_type().at("append_entries") - sent_before.at("append_entries");
  BOOST_TEST(appends <= 4u);
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(rejoin) {
  cluster c(3, scenario_config(), 8);
  BOOST_REQUIRE(c.elect());
  BOOST_REQUIRE(one(c, "101", 3));
  const node_id l1 = *c.leader();
  c.isolate(l1);
  // The cut-off leader accepts entries it cannot commit.
  for (auto cmd : {"102", "103", "104"}) BOOST_TEST(c.at(l1).propose(cmd, c.now()).ok());
  run(c, 2);
  BOOST_REQUIRE(one(c, "103", 2));
  const node_id l2 = *c.leader();
  BOOST_REQUIRE(l2 != l1);
  // New leader cut off, old one back.
  c.heal();
  c.isolate(l2);
  BOOST_REQUIRE(one(c, "104", 2));
  c.heal();
  BOOST_REQUIRE(one(c, "105", 3));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(backup) {
  // A leader quickly backs up over a follower's long incorrect log (fast backtracking).
  cluster c(5, scenario_config(), 9);
  BOOST_REQUIRE(c.elect());
  BOOST_REQUIRE(one(c, "first", 5));
  const node_id l1 = *c.leader();
  const node_id f1 = l1 % 5 + 1;
  c.partition({l1, f1});
  for (int i = 0; i < 50; ++i) BOOST_TEST(c.at(l1).propose("lost" + std::to_string(i), c.now()).ok());
  run(c, 3);
  std::set<node_id> rest;
  for (node_id id = 1; id <= 5; ++id) {
    if (id != l1 && id != f1) rest.insert(id);
  }
  for (int i = 0; i < 50; ++i) BOOST_REQUIRE(one(c, "a" + std::to_string(i), 3));
  // Now cut the new leader with one follower away from the third.
  const node_id l2 = *c.leader();
  node_id other = 0;
  for (auto id : rest) {
    if (id != l2) other = id;
  }
  c.heal();
  c.partition({l2, other == 0 ? l2 : other});
  std::set<node_id> back{l1, f1};
  for (auto id : rest) {
    if (id != l2 && id != other) back.insert(id);
  }
  c.heal();
  c.partition(back);
  for (int i = 0; i < 50; ++i) BOOST_TEST(c.at(l2).propose("lost2" + std::to_string(i), c.now()).ok());
  run(c, 3);
  const auto rejects_before = c.sent_by_type().at("append_entries_response");
  for (int i = 0; i < 50; ++i) BOOST_REQUIRE(one(c, "b" + std::to_string(i), 3));
  c.heal();
  BOOST_REQUIRE(one(c, "last", 5));
  BOOST_TEST(c.sent_by_type().at("append_entries_response") - rejects_before < 2000u);
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(count) {
  // RPC counts stay bounded: an election, a batch of agreements, an idle period.
  cluster c(3, scenario_config(), 10);
  BOOST_REQUIRE(c.elect());
  const auto after_election = c.messages_sent();
  BOOST_TEST(after_election < 60u);
  BOOST_REQUIRE(one(c, "x", 3));
  const auto before = c.messages_sent();
  for (int i = 0; i < 10; ++i) BOOST_REQUIRE(one(c, "y" + std::to_string(i), 3));
  // each agreement: an append and an answer per follower, plus heartbeats while waiting
  BOOST_TEST(c.messages_sent() - before < 10u * 3u * 4u);
  const auto idle_before = c.messages_sent();
  run(c, 20);
  // idle: a heartbeat and an answer per follower per heartbeat interval (2 ticks)
  BOOST_TEST(c.messages_sent() - idle_before <= 10u * 2u * 2u + 4u);
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(persist1) {
  cluster c(3, scenario_config(), 11);
  BOOST_REQUIRE(c.elect());
  BOOST_REQUIRE(one(c, "11", 3));
  for (node_id id = 1; id <= 3; ++id) c.crash(id);
  for (node_id id = 1; id <= 3; ++id) c.restart(id);
  BOOST_REQUIRE(one(c, "12", 3));
  node_id l = *c.leader();
  c.crash(l);
  c.restart(l);
  BOOST_REQUIRE(one(c, "13", 3));
  l = *c.leader();
  c.crash(l);
  BOOST_REQUIRE(one(c, "14", 2));
  c.restart(l);
  auto idx = one(c, "15", 3);
  BOOST_REQUIRE(idx);
  // the restarted node re-applied everything from its durable log
  BOOST_TEST(count_applied(c, *idx, "15") == 3u);
  for (node_id id = 1; id <= 3; ++id) BOOST_TEST(c.applied(id).size() == 5u);
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(persist2) {
  cluster c(5, scenario_config(), 12);
  BOOST_REQUIRE(c.elect());
  int index = 1;
  for (int iter = 0; iter < 5; ++iter) {
    BOOST_REQUIRE(one(c, std::to_string(10 + index++), 5));
    const node_id l1 = *c.leader();
    auto nth = [l1](int k) { return static_cast<node_id>((l1 - 1 + k) % 5 + 1); };
    c.crash(nth(1));
    c.crash(nth(2));
    BOOST_REQUIRE(one(c, std::to_string(10 + index++), 3));
    c.crash(nth(0));
    c.crash(nth(3));
    c.crash(nth(4));
    c.restart(nth(1));
    c.restart(nth(2));
    run(c, 20);
    c.restart(nth(3));
    BOOST_REQUIRE(one(c, std::to_string(10 + index++), 3));
    c.restart(nth(4));
    c.restart(nth(0));
  }
  BOOST_REQUIRE(one(c, "1000", 5));
  require_no_violations(c);
}

BOOST_AUTO_TEST_CASE(persist3) {
  // A partitioned leader and one follower crash; the follower's log has the newest entry.
  cluster c(3, scenario_config(), 13);
  BOOST_REQUIRE(c.elect());
  BOOST_REQUIRE(one(c, "101", 3));
  const node_id l = *c.leader();
  auto nth = [l](int k) { return static_cast<node_id>((l - 1 + k) % 3 + 1); };
  c.isolate(nth(2));
  BOOST_REQUIRE(one(c, "102", 2));
  c.crash(nth(0));
  c.crash(nth(1));
  c.heal();
  c.restart(nth(0));
  BOOST_REQUIRE(one(c, "103", 2));
  c.restart(nth(1));
  BOOST_REQUIRE(one(c, "104", 3));
  require_no_violations(c);
}

namespace {
/// MIT's Figure 8 tests: leaders come and go while proposing; entries of old terms must never be
/// committed by counting replicas. `unreliable` adds drops, duplicates, reordering and partitions.
void figure8(std::uint64_t seed, bool unreliable) {
  cluster c(5, scenario_config(), seed);
  if (unreliable) c.faults() = {10, 5, true};
  auto& r = c.random();
  std::size_t up = 5;
  for (int iter = 0; iter < 300; ++iter) {
    for (node_id id = 1; id <= 5; ++id) {
      if (c.is_up(id) && c.at(id).status().role == role::leader) {
        (void)c.propose(id, "f" + std::to_string(iter));
      }
    }
    const std::size_t ticks = r.chance(10) ? 1 + r.below(30) : 1 + r.below(3);
    for (std::size_t t = 0; t < ticks; ++t) {
      c.tick();
      for (int k = 0; k < 20 && c.deliver_one(); ++k) {
      }
    }
    if (auto l = c.leader(); l && r.chance(50)) {
      if (unreliable) {
        c.isolate(*l);
      } else {
        c.crash(*l);
        --up;
      }
    }
    if (up < 3 || (unreliable && r.chance(30))) {
      const node_id id = 1 + r.below(5);
      if (!c.is_up(id)) {
        c.restart(id);
        ++up;
      }
      if (unreliable) c.heal();
    }
  }
  c.faults() = {};
  c.heal();
  for (node_id id = 1; id <= 5; ++id) {
    if (!c.is_up(id)) c.restart(id);
  }
  BOOST_REQUIRE(one(c, "final", 5, 2000));
  require_no_violations(c);
}
}  // namespace

BOOST_AUTO_TEST_CASE(figure_8) { figure8(scenario_seed("figure_8", 14), false); }

BOOST_AUTO_TEST_CASE(figure_8_unreliable) { figure8(scenario_seed("figure_8_unreliable", 15), true); }

BOOST_AUTO_TEST_CASE(unreliable_agree) {
  cluster c(5, scenario_config(), scenario_seed("unreliable_agree", 16));
  c.faults() = {10, 5, true};
  for (int i = 0; i < 50; ++i) {
    if (auto l = c.leader()) (void)c.propose(*l, "u" + std::to_string(i));
    run(c, 1);
  }
  c.faults() = {};
  BOOST_REQUIRE(one(c, "100", 5, 2000));
  require_no_violations(c);
}

namespace {
void churn(std::uint64_t seed, bool unreliable) {
  cluster c(5, scenario_config(), seed);
  if (unreliable) c.faults() = {10, 5, true};
  auto& r = c.random();
  std::vector<std::pair<index_t, std::string>> accepted;
  for (int iter = 0; iter < 200; ++iter) {
    for (node_id id = 1; id <= 5; ++id) {
      if (c.is_up(id) && r.chance(30)) {
        const std::string cmd = "ch" + std::to_string(iter) + "." + std::to_string(id);
        if (auto idx = c.propose(id, cmd)) accepted.emplace_back(*idx, cmd);
      }
    }
    const node_id victim = 1 + r.below(5);
    const auto action = r.below(100);
    if (action < 20 && c.is_up(victim)) {
      c.crash(victim);
    } else if (action < 50 && !c.is_up(victim)) {
      c.restart(victim);
    } else if (action < 60) {
      c.isolate(victim);
    } else if (action < 75) {
      c.heal();
    }
    run(c, 1 + r.below(5));
  }
  c.faults() = {};
  c.heal();
  for (node_id id = 1; id <= 5; ++id) {
    if (!c.is_up(id)) c.restart(id);
  }
  auto last = one(c, "end", 5, 3000);
  BOOST_REQUIRE(last);
  // Every committed command is applied identically everywhere (checked by the invariants); at least
  // some of the accepted proposals made it.
  std::size_t committed = 0;
  for (const auto& [idx, cmd] : accepted) committed += count_applied(c, idx, cmd) == 5 ? 1 : 0;
  BOOST_TEST(committed > 0u);
  require_no_violations(c);
}
}  // namespace

BOOST_AUTO_TEST_CASE(reliable_churn) { churn(scenario_seed("reliable_churn", 17), false); }

BOOST_AUTO_TEST_CASE(unreliable_churn) { churn(scenario_seed("unreliable_churn", 18), true); }

BOOST_AUTO_TEST_SUITE_END()
