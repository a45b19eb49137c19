// Snapshots (Raft §7, Figure 13; thesis chapter 5): the MIT 6.824 2D tests and the snapshot
// scenarios of DESIGN.md section 5, each named after what it checks, on the deterministic cluster
// with a journal state machine (its state: every applied command followed by ';').
#include <map>

#include "tests/scenario/raft/scenario_support.hpp"

using namespace troupe::raft;
using namespace troupe::raft::testing;

namespace {

config snapshot_config() {
  config c = scenario_config();
  c.snapshot_chunk_bytes = 16;  // images of a few hundred bytes take many chunks
  c.max_snapshot_chunks_in_flight = 2;
  return c;
}

struct journal_cluster {
  cluster c;
  std::map<node_id, std::string> state;
  journal_cluster(std::size_t n, config cfg, std::uint64_t seed, std::size_t voters = 0)
      : c(n, std::move(cfg), seed, voters == 0 ? n : voters) {
    c.on_start = [this](node_id id) { state[id].clear(); };
    c.on_apply = [this](node_id id, const log_entry& e) { state[id] += e.data + ";"; };
    c.take_snapshot = [this](node_id id) { return state[id]; };
    c.on_restore = [this](node_id id, index_t, const std::string& image) { state[id] = image; };
  }
  /// Commits `count` commands "<prefix><i>" through the leader, each applied by `expected` nodes.
  void commit(const std::string& prefix, int count, std::size_t expected) {
    for (int i = 0; i < count; ++i) BOOST_REQUIRE(one(c, prefix + std::to_string(i), expected));
  }
  void compact_all() {
    for (node_id id = 1; id <= c.size(); ++id) {
      if (c.is_up(id)) BOOST_REQUIRE(c.compact(id).ok());
    }
  }
  node_counters totals() const { return c.counters_total(); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(mit_6824_snapshots)

BOOST_AUTO_TEST_CASE(snapshot_basic_compacted_nodes_keep_committing_and_agree) {
  journal_cluster j(3, snapshot_config(), 1);
  BOOST_REQUIRE(j.c.elect());
  for (int round = 0; round < 4; ++round) {
    j.commit("r" + std::to_string(round) + "-", 10, 3);
    j.compact_all();
  }
  for (node_id id = 1; id <= 3; ++id) {
    BOOST_TEST(j.c.at(id).status().snapshot_index > 30u);
    BOOST_TEST(j.c.storage(id).first_index() == j.c.at(id).status().snapshot_index + 1);
    BOOST_TEST(j.state[id] == j.state[1]);
  }
  require_no_violations(j.c);
}

BOOST_AUTO_TEST_CASE(snapshot_install_a_disconnected_follower_catches_up_through_a_snapshot) {
  journal_cluster j(3, snapshot_config(), 2);
  const node_id l = *j.c.elect();
  const node_id lagging = l % 3 + 1;
  j.c.isolate(lagging);
  j.commit("a", 30, 2);
  j.compact_all();  // the entries the lagging follower needs are gone (DESIGN.md 5)
  j.c.heal();
  j.commit("b", 3, 3);
  BOOST_TEST(j.c.at(lagging).counters().snapshots_installed >= 1u);
  BOOST_TEST(j.state[lagging] == j.state[*j.c.leader()]);
  require_no_violations(j.c);
}

BOOST_AUTO_TEST_CASE(snapshot_install_unreliable_network_still_converges) {
  journal_cluster j(3, snapshot_config(), 3);
  const node_id l = *j.c.elect();
  const node_id lagging = l % 3 + 1;
  j.c.isolate(lagging);
  j.commit("a", 30, 2);
  j.compact_all();
  j.c.heal();
  j.c.faults() = network_faults{10, 10, true};  // drops, duplicates, reordering
  run(j.c, 400);
  j.c.faults() = {};
  j.commit("b", 2, 3);
  BOOST_TEST(j.c.at(lagging).status().snapshot_index > 0u);
  BOOST_TEST(j.state[lagging] == j.state[*j.c.leader()]);
  require_no_violations(j.c);
}

BOOST_AUTO_TEST_CASE(snapshot_install_crash_follower_crash_mid_install_resumes_from_its_durable_bytes) {
  config cfg = snapshot_config();
  cfg.max_snapshot_chunks_in_flight = 1;
  journal_cluster j(3, cfg, 4);
  const node_id l = *j.c.elect();
  const node_id lagging = l % 3 + 1;
  j.c.isolate(lagging);
  j.commit("a", 30, 2);
  j.compact_all();
  j.c.heal();
  // Deliver until the follower holds part of the snapshot, then crash it.
  for (int i = 0; i < 2000 && !j.c.snapshots(lagging).partial(); ++i) {
    if (!j.c.deliver_one()) j.c.tick();
  }
  BOOST_REQUIRE(j.c.snapshots(lagging).partial().has_value());
  for (int i = 0; i < 3; ++i) j.c.deliver_one();
  const auto held = j.c.snapshots(lagging).partial()->bytes.size();
  BOOST_REQUIRE(held > 0u);
  j.c.crash(lagging);
  j.c.restart(lagging);
  j.commit("b", 2, 3);
  BOOST_TEST(j.c.counters_total().snapshot_resumes >= 1u);  // continued at its offset, not at 0
  BOOST_TEST(j.state[lagging] == j.state[*j.c.leader()]);
  require_no_violations(j.c);
}

BOOST_AUTO_TEST_CASE(snapshot_install_uncrash_crashes_and_an_unreliable_network_during_installs_stay_safe) {
  // MIT 6.824's SnapshotInstallUnCrash: followers crash and restart while an unreliable network
  // carries snapshots to them; every node ends with the leader's state.
  const auto seed = scenario_seed("snapshot_install_uncrash", 10);
  journal_cluster j(5, snapshot_config(), seed);
  BOOST_REQUIRE(j.c.elect());
  j.c.drop_in_flight_on_crash = false;  // a delayed message may reach the next incarnation
  rng r(seed);
  for (int round = 0; round < 8; ++round) {
    const node_id victim = 1 + r.below(5);
    if (j.c.is_up(victim) && j.c.leader() != victim) j.c.crash(victim);
    j.c.faults() = network_faults{10, 5, true};
    for (int i = 0; i < 5; ++i) {
      if (auto l = j.c.leader()) (void)j.c.propose(*l, "r" + std::to_string(round) + "-" + std::to_string(i));
      run(j.c, 5);
    }
    j.compact_all();
    run(j.c, 20);
    if (!j.c.is_up(victim)) j.c.restart(victim);
  }
  j.c.faults() = {};
  BOOST_REQUIRE(j.c.elect());
  j.commit("end", 1, 5);
  BOOST_TEST(j.c.counters_total().snapshots_installed >= 1u);
  for (node_id id = 1; id <= 5; ++id) BOOST_TEST(j.state[id] == j.state[*j.c.leader()]);
  require_no_violations(j.c);
}

BOOST_AUTO_TEST_CASE(snapshot_all_crash_every_node_restarts_from_its_snapshot) {
  journal_cluster j(3, snapshot_config(), 5);
  BOOST_REQUIRE(j.c.elect());
  j.commit("a", 20, 3);
  j.compact_all();
  j.commit("b", 5, 3);
  const std::string before = j.state[1];
  for (node_id id = 1; id <= 3; ++id) j.c.crash(id);
  for (node_id id = 1; id <= 3; ++id) j.c.restart(id);
  BOOST_REQUIRE(j.c.elect());
  j.commit("c", 1, 3);
  for (node_id id = 1; id <= 3; ++id) BOOST_TEST(j.state[id] == before + "c0;");
  require_no_violations(j.c);
}

BOOST_AUTO_TEST_CASE(snapshot_init_a_restarted_node_starts_from_its_snapshot_not_from_index_1) {
  journal_cluster j(3, snapshot_config(), 6);
  BOOST_REQUIRE(j.c.elect());
  j.commit("a", 15, 3);
  j.compact_all();
  const node_id n = *j.c.leader() % 3 + 1;
  const index_t snap = j.c.at(n).status().snapshot_index;
  const std::string image = j.state[n];
  j.c.crash(n);
  j.c.restart(n);
  // Restored at once from the snapshot; nothing before it is applied again.
  BOOST_TEST(j.c.at(n).status().applied >= snap);
  BOOST_TEST(j.state[n].substr(0, image.size()) == image);
  BOOST_TEST((j.c.applied(n).empty() || j.c.applied(n).front().index > snap));
  j.commit("b", 1, 3);
  require_no_violations(j.c);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(design_snapshot_scenarios)

BOOST_AUTO_TEST_CASE(a_restore_slower_than_an_election_timeout_causes_no_retransfer_and_no_election) {
  journal_cluster j(3, snapshot_config(), 7);
  j.c.restore_delay_ticks = 100;  // ten election timeouts
  const node_id l = *j.c.elect();
  const term_t term = j.c.at(l).status().term;
  const node_id lagging = l % 3 + 1;
  j.c.isolate(lagging);
  j.commit("a", 30, 2);
  j.compact_all();
  j.c.heal();
  for (int i = 0; i < 60 && !j.c.at(lagging).status().restoring_snapshot; ++i) run(j.c, 1);
  BOOST_REQUIRE(j.c.at(lagging).status().restoring_snapshot);
  const auto chunks = j.c.counters_total().snapshot_chunks_sent;
  run(j.c, 90);  // the restore is still running
  BOOST_TEST(j.c.at(lagging).status().restoring_snapshot);
  BOOST_TEST(j.c.counters_total().snapshot_chunks_sent <= chunks + 5);  // only empty status probes
  BOOST_TEST(j.c.counters_total().snapshot_waits_for_apply >= 1u);
  run(j.c, 30);
  BOOST_TEST(!j.c.at(lagging).status().restoring_snapshot);
  BOOST_TEST(j.c.at(l).status().term == term);  // heartbeats kept the leader in place
  j.commit("b", 1, 3);
  BOOST_TEST(j.state[lagging] == j.state[l]);
  require_no_violations(j.c);
}

BOOST_AUTO_TEST_CASE(a_throttled_transfer_keeps_heartbeats_flowing_and_the_leader_in_place) {
  config cfg = snapshot_config();
  cfg.snapshot_bytes_per_tick = 8;  // hundreds of ticks for the image
  journal_cluster j(3, cfg, 8);
  const node_id l = *j.c.elect();
  const term_t term = j.c.at(l).status().term;
  const node_id lagging = l % 3 + 1;
  j.c.isolate(lagging);
  j.commit("a", 40, 2);
  j.compact_all();
  j.c.heal();
  run(j.c, 600);
  BOOST_TEST(j.c.counters_total().snapshots_throttled > 0u);
  BOOST_TEST(j.c.at(lagging).counters().snapshots_installed >= 1u);
  BOOST_TEST(j.c.at(l).status().term == term);
  BOOST_TEST(j.c.at(lagging).status().term == term);  // never campaigned during the transfer
  require_no_violations(j.c);
}

BOOST_AUTO_TEST_CASE(membership_inside_a_snapshot_a_new_member_learns_it_is_a_voter_from_the_snapshot) {
  journal_cluster j(4, snapshot_config(), 9, 3);  // node 4 starts with no configuration
  const node_id l = *j.c.elect();
  j.commit("a", 5, 3);
  j.c.isolate(4);
  BOOST_REQUIRE(j.c.propose_conf_change(l, {{conf_change::kind::add_voter, 4}}));
  run(j.c, 50);
  j.commit("b", 10, 3);
  j.compact_all();  // the configuration entries are compacted away: only the snapshot has them
  j.c.heal();
  j.commit("c", 2, 4);
  const auto s = j.c.at(4).status();
  BOOST_TEST(s.snapshot_index > 0u);
  BOOST_TEST((s.membership.voters == std::vector<node_id>{1, 2, 3, 4}));
  require_no_violations(j.c);
}

BOOST_AUTO_TEST_CASE(figure13_a_snapshot_at_or_below_the_commit_index_is_not_installed) {
  memory_log_storage store;
  config cfg = snapshot_config();
  cfg.id = 2;
  cfg.voters = {1, 2, 3};
  auto created = node::create(cfg, store);
  BOOST_REQUIRE(created.ok());
  auto n = std::move(*created);
  std::vector<log_entry> es;
  for (index_t i = 1; i <= 5; ++i) es.push_back({1, i, entry_type::normal, "x"});
  BOOST_REQUIRE(n->step({1, 2, 1, append_entries{1, 0, 0, es, 5}}, 0).ok());
  auto rd = n->take_ready();
  BOOST_REQUIRE(store.append(rd.entries).ok());
  n->advance(rd);
  const snapshot_metadata old{3, 1, {{1, 2, 3}, {}, {}}};
  BOOST_REQUIRE(n->step({1, 2, 1, install_snapshot{1, old, 0, "img", true}}, 0).ok());
  rd = n->take_ready();
  BOOST_TEST(!rd.snapshot_to_restore.has_value());
  BOOST_TEST(rd.snapshot_chunks.empty());
  BOOST_REQUIRE(rd.messages_after_persist.size() == 1u);
  const auto& r = std::get<install_snapshot_response>(rd.messages_after_persist[0].body);
  BOOST_TEST((r.status == snapshot_reply::installed));
  BOOST_TEST(r.match_index == 5u);
  BOOST_TEST(n->status().commit == 5u);
  BOOST_TEST(n->counters().stale_snapshots_ignored == 1u);
}

BOOST_AUTO_TEST_CASE(figure13_a_snapshot_whose_last_entry_matches_keeps_the_suffix_and_a_conflicting_one_discards_the_log) {
  for (const bool matching : {true, false}) {
    memory_log_storage store;
    config cfg = snapshot_config();
    cfg.id = 2;
    cfg.voters = {1, 2, 3};
    auto created = node::create(cfg, store);
  BOOST_REQUIRE(created.ok());
  auto n = std::move(*created);
    std::vector<log_entry> es;
    for (index_t i = 1; i <= 8; ++i) es.push_back({1, i, entry_type::normal, "x"});
    BOOST_REQUIRE(n->step({1, 2, 1, append_entries{1, 0, 0, es, 2}}, 0).ok());  // commit 2
    auto rd = n->take_ready();
    BOOST_REQUIRE(store.append(rd.entries).ok());
    n->advance(rd);
    // A leader of term 2 sends a snapshot at 5: of term 1 (our entry matches) or term 2 (conflict).
    const snapshot_metadata meta{5, matching ? term_t{1} : term_t{2}, {{1, 2, 3}, {}, {}}};
    BOOST_REQUIRE(n->step({1, 2, 2, install_snapshot{1, meta, 0, "img", true}}, 0).ok());
    rd = n->take_ready();
    BOOST_REQUIRE(rd.snapshot_to_restore.has_value());
    BOOST_REQUIRE(rd.snapshot_chunks.size() == 1u);
    BOOST_REQUIRE(store.apply_snapshot(*rd.snapshot_to_restore).ok());
    BOOST_TEST(n->status().last_index == (matching ? 8u : 5u));
    BOOST_TEST(store.last_index() == (matching ? 8u : 5u));
    BOOST_TEST(n->status().commit == 5u);
    BOOST_TEST(rd.committed_entries.empty());  // nothing is applied before the restore
    n->advance(rd);
    BOOST_REQUIRE(n->snapshot_restored(5).ok());
    BOOST_TEST(n->status().applied == 5u);
    BOOST_TEST(n->counters().snapshots_kept_suffix == (matching ? 1u : 0u));
  }
}

BOOST_AUTO_TEST_SUITE_END()
