// --force-new-cluster (consensus/actor/force_new_cluster.hpp): the survivor's log gets one
// configuration entry naming it the only voter, in a new term, and everything it holds becomes
// committed; a core created on that log finds the one-node configuration and elects itself.
#define BOOST_TEST_MODULE raft_force_new_cluster
#include <boost/test/unit_test.hpp>

#include "consensus/actor/force_new_cluster.hpp"
#include "consensus/actor/snapshot_io.hpp"
#include "consensus/actor/snapshot_recovery.hpp"
#include "consensus/core/membership.hpp"
#include "consensus/core/node.hpp"
#include "tests/support/journal_machine.hpp"
#include "tests/support/process.hpp"
#include "tests/support/solo_core.hpp"

using namespace troupe;
using namespace troupe::raft;

namespace {

std::unique_ptr<sqlite_log_storage> open_log(const std::string& path) {
  auto s = sqlite_log_storage::open(path);
  BOOST_REQUIRE(s.ok());
  return std::move(*s);
}

/// A survivor of a 3-node cluster: entries 1..10 (a 3-voter configuration at 1), terms 2 then 3,
/// commit 7 (8..10 never known committed), current term 4 with a vote for node 3.
void write_survivor_log(const std::string& path) {
  auto log = open_log(path);
  membership three;
  three.voters = {1, 2, 3};
  std::vector<log_entry> es;
  es.push_back({2, 1, entry_type::config, encode_membership(three)});
  for (index_t i = 2; i <= 10; ++i) es.push_back({i <= 5 ? 2u : 3u, i, entry_type::normal, "c" + std::to_string(i)});
  BOOST_REQUIRE(log->append(es).ok());
  BOOST_REQUIRE(log->set_hard_state({4, 3, 7}).ok());
  BOOST_REQUIRE(log->sync().ok());
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_survivor_becomes_the_only_voter_in_a_new_term_with_everything_committed) {
  test::temp_dir dir("force-new-cluster");
  const auto path = dir.file("raft-1.db");
  write_survivor_log(path);
  {
    auto log = open_log(path);
    auto r = force_new_cluster(*log, 1);
    BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.err().message));
    BOOST_TEST(r->changed);
    BOOST_TEST(r->config_index == 11u);
    BOOST_TEST(r->previous_commit == 7u);
    BOOST_TEST(r->newly_committed == 3u);
    BOOST_TEST(r->previous_members == "voters 1 2 3");
  }
  auto log = open_log(path);  // durable
  BOOST_TEST(log->last_index() == 11u);
  auto hs = *log->initial_hard_state();
  BOOST_TEST(hs.term == 5u);
  BOOST_TEST(hs.voted_for == no_node);
  BOOST_TEST(hs.commit == 11u);
  auto e = log->entries(11, 12, ~std::uint64_t{0});
  BOOST_REQUIRE(e.ok());
  BOOST_TEST((e->front().type == entry_type::config));
  BOOST_TEST(e->front().term == 5u);
  BOOST_TEST((decode_membership(e->front().data)->voters == std::vector<node_id>{1}));
  // Running it again changes nothing.
  auto again = force_new_cluster(*log, 1);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(!again->changed);
  BOOST_TEST(log->last_index() == 11u);
}

BOOST_AUTO_TEST_CASE(a_core_on_the_forced_log_is_a_one_node_cluster_that_elects_itself_and_commits) {
  test::temp_dir dir("force-new-cluster");
  const auto path = dir.file("raft-2.db");
  write_survivor_log(path);
  auto log = open_log(path);
  BOOST_REQUIRE(force_new_cluster(*log, 2).ok());
  config cfg = test_support::solo_config(2);
  cfg.voters = {1, 2, 3};  // the old --peers: the log's configuration wins (thesis §4.1)
  auto core = node::create(cfg, *log);
  BOOST_TEST_REQUIRE(core.ok(), (core.ok() ? "" : core.err().message));
  BOOST_TEST(((*core)->current_membership().voters == std::vector<node_id>{2}));
  BOOST_REQUIRE(test_support::run_until_leader(**core, *log).ok());
  BOOST_TEST(((*core)->status().role == role::leader));
  BOOST_TEST((*core)->status().term > 5u);
}

BOOST_AUTO_TEST_CASE(an_empty_log_gets_a_valid_term_and_node_zero_is_refused) {
  test::temp_dir dir("force-new-cluster");
  auto log = open_log(dir.file("raft-1.db"));
  BOOST_TEST((force_new_cluster(*log, no_node).err().code == errc::invalid_argument));
  auto r = force_new_cluster(*log, 1);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->changed);
  BOOST_TEST(*log->term(1) == 1u);
  BOOST_TEST(r->previous_members.find("none recorded") != std::string::npos);
}

// A follower killed after a received snapshot was finalized and before its log learned of it: the
// snapshot file holds index 50, the log still ends at 10. Forcing on the log alone put the new
// configuration at 11, and the start then installed the snapshot and dropped the whole log with it
// (Figure 13 step 7): the node kept the old cluster's configuration from the snapshot and waited
// for votes that never come. force_new_cluster_files installs the snapshot first.
BOOST_AUTO_TEST_CASE(a_snapshot_the_log_missed_is_installed_before_the_forced_configuration) {
  test::temp_dir dir("force-new-cluster");
  const auto path = dir.file("raft-1.db");
  const auto snap_path = snapshot_path_for(path);
  write_survivor_log(path);
  membership three;
  three.voters = {1, 2, 3};
  {
    auto snaps = sqlite_snapshot_store::open(snap_path);
    BOOST_REQUIRE(snaps.ok());
    BOOST_REQUIRE((*snaps)->save({50, 4, three}, "state at 50").ok());
  }
  auto r = force_new_cluster_files(path, snap_path, 1, "127.0.0.1:7101");
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->changed);
  BOOST_TEST(r->config_index == 51u);

  // What spawn_raft_actor does next.
  auto log = open_log(path);
  test_support::journal sm;
  auto recovered = recover_from_snapshot(snap_path, *log, sm);
  BOOST_TEST_REQUIRE(recovered.ok(), (recovered.ok() ? "" : recovered.err().message));
  auto installed = install_latest_in_log(*log, *recovered->snapshots);
  BOOST_REQUIRE(installed.ok());
  BOOST_TEST(!*installed);  // already done
  auto core = node::create(test_support::solo_config(1, recovered->applied), *log);
  BOOST_TEST_REQUIRE(core.ok(), (core.ok() ? "" : core.err().message));
  const membership& m = (*core)->current_membership();
  BOOST_TEST((m.voters == std::vector<node_id>{1}));
  BOOST_REQUIRE(address_of(m, 1) != nullptr);  // followers added later can redirect clients here
  BOOST_TEST(*address_of(m, 1) == "127.0.0.1:7101");
  BOOST_TEST(log->initial_hard_state()->commit == 51u);
}
