// The raft actor end to end in one process: three groups' actors over three real transports on
// loopback with SQLite logs in a temporary directory. Every wait is for a condition with a deadline
// that only catches hangs.
#define BOOST_TEST_MODULE raft_actor_cluster
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <prometheus/registry.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "consensus/actor/raft_actor.hpp"
#include "consensus/actor/snapshot_recovery.hpp"
#include "runtime/transport/link/auth_proof.hpp"
#include "runtime/transport/transport.hpp"
#include "runtime/wire/client_codec.hpp"
#include "runtime/wire/raft_codec.hpp"
#include "tests/support/journal_machine.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using namespace troupe;
using raft::outcome_code;
using raft::raft_reply;

namespace {

constexpr auto deadline = 60s;

using journal_machine = raft::test_support::journal;

struct cluster_options {
  std::size_t max_pending = 10'000;
  std::uint64_t snapshot_entries = 0;  ///< driver_options::snapshot_entries (0: never compact)
  std::set<raft::node_id> deferred;    ///< nodes whose raft actor starts later (cluster::start)
};

/// Three nodes' transports and raft actors in one actor system; the logs outlive it in `dir`.
struct cluster {
  const std::string& dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  std::vector<std::shared_ptr<prometheus::Registry>> registries;
  std::map<raft::node_id, caf::actor> transports;
  std::map<raft::node_id, caf::actor> rafts;
  std::unique_ptr<caf::scoped_actor> self;

  cluster(const std::string& data_dir, const std::vector<std::uint16_t>& ports,
          cluster_options opts = {})
      : dir(data_dir) {
    cfg.load<caf::io::middleman>();
    cfg.set("scheduler.max-threads", 2);
    transport::add_message_types(cfg);
    raft::add_message_types(cfg);
    system = std::make_unique<caf::actor_system>(cfg);
    auto secret = link::secret::from_file_contents(std::string_view("raft-actor-test-cluster-secret"));
    BOOST_REQUIRE(secret.ok());
    auto shared_secret = std::make_shared<const link::secret>(*secret);
    for (raft::node_id id = 1; id <= 3; ++id) {
      transport::config tc;
      tc.self = id;
      tc.cluster_id = "raft-actor-test";
      tc.listen = {"127.0.0.1", ports[id - 1]};
      for (raft::node_id p = 1; p <= 3; ++p) {
        if (p != id) tc.peers[p] = {"127.0.0.1", ports[p - 1]};
      }
      tc.node_secret = shared_secret;
      auto t = transport::spawn_transport(*system, tc);
      BOOST_REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.err().message));
      transports[id] = t->broker;
      registries.push_back(std::make_shared<prometheus::Registry>());
      if (opts.deferred.count(id) == 0) start(id, opts);
    }
    self = std::make_unique<caf::scoped_actor>(*system);
  }

  void start(raft::node_id id, cluster_options opts) {
    auto group = spawn(id, opts);
    BOOST_REQUIRE_MESSAGE(group.ok(), (group.ok() ? "" : group.err().message));
    rafts[id] = *group;
  }

  result<caf::actor> spawn(raft::node_id id, cluster_options opts) {
    raft::raft_actor_config rc;
    rc.core.id = id;
    rc.core.group = 1;
    rc.core.voters = {1, 2, 3};
    rc.core.election_timeout_ticks = 10;
    rc.core.heartbeat_interval_ticks = 1;
    rc.core.tick_duration_ns = 20'000'000;
    rc.core.random_seed = id;
    rc.tick_interval = 20ms;
    rc.limits.max_pending = opts.max_pending;
    rc.limits.snapshot_entries = opts.snapshot_entries;
    rc.core.snapshot_chunk_bytes = 64;  // several chunks even for this small state
    rc.log_path = log_path(dir, id);
    rc.transport = transports[id];
    rc.registry = registries[id - 1].get();
    return raft::spawn_raft_actor(*system, rc, std::make_unique<journal_machine>());
  }

  static std::string log_path(const std::string& dir, raft::node_id id) {
    return dir + "/raft-" + std::to_string(id) + ".db";
  }

  ~cluster() {
    self.reset();
    for (auto& [id, a] : rafts) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& [id, t] : transports) caf::anon_send(t, transport::stop_atom::value);
    system->await_all_actors_done();
  }

  raft::group_status status(raft::node_id id) {
    std::optional<raft::group_status> out;
    (*self)->request(rafts[id], 10s, raft::status_atom::value)
        .receive([&](const raft::group_status& s) { out = s; },
                 [&](caf::error& e) { BOOST_FAIL("status: " << system->render(e)); });
    return *out;
  }

  raft_reply propose(raft::node_id id, const std::string& command) {
    raft_reply out;
    (*self)->request(rafts[id], 10s, raft::propose_atom::value, command)
        .receive([&](const raft_reply& r) { out = r; },
                 [&](caf::error& e) { BOOST_FAIL("propose: " << system->render(e)); });
    return out;
  }

  raft_reply read(raft::node_id id, raft::read_mode mode) {
    raft_reply out;
    (*self)->request(rafts[id], 10s, raft::read_atom::value, std::string("q"), mode)
        .receive([&](const raft_reply& r) { out = r; },
                 [&](caf::error& e) { BOOST_FAIL("read: " << system->render(e)); });
    return out;
  }

  /// Waits until every node names the same leader and it leads; returns it.
  raft::node_id wait_leader() {
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      std::map<raft::node_id, int> votes;
      raft::node_id leading = raft::no_node;
      for (const auto& [id, actor] : rafts) {
        auto s = status(id);
        ++votes[s.node.leader];
        if (s.node.role == raft::role::leader) leading = id;
      }
      if (leading != raft::no_node && votes[leading] == static_cast<int>(rafts.size())) return leading;
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "no leader agreed on in time");
      std::this_thread::sleep_for(20ms);  // polling interval of a wait with a deadline
    }
  }

  /// Waits until node `id` counted `n` malformed peer messages.
  void wait_malformed(raft::node_id id, double n) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      double seen = 0;
      for (auto& f : registries[id - 1]->Collect()) {
        if (f.name == "troupe_raft_malformed_messages_total") seen = f.metric.at(0).counter.value;
      }
      if (seen >= n) return;
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until,
                            "node " << id << " counted " << seen << " malformed messages");
      std::this_thread::sleep_for(20ms);  // polling interval of a wait with a deadline
    }
  }

  /// Waits until node `id` applied at least `index`.
  void wait_applied(raft::node_id id, raft::index_t index) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (status(id).node.applied < index) {
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until,
                            "node " << id << " never applied index " << index);
      std::this_thread::sleep_for(20ms);  // polling interval of a wait with a deadline
    }
  }
};

std::vector<std::uint16_t> three_ports() {
  return {test::free_port(), test::free_port(), test::free_port()};
}

/// Overwrites the payload of the entry at `index` in a raft log file, as a disk error would.
void corrupt_entry(const std::string& path, std::uint64_t index) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const std::string sql =
      "UPDATE entries SET data = X'DEADBEEF' WHERE idx = " + std::to_string(index) + ";";
  char* err = nullptr;
  BOOST_REQUIRE_MESSAGE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK,
                        (err ? err : ""));
  BOOST_REQUIRE(sqlite3_changes(db) == 1);
  sqlite3_close(db);
}

}  // namespace

BOOST_AUTO_TEST_CASE(three_actors_elect_replicate_redirect_and_recover_from_their_logs) {
  test::temp_dir dir("raft-actor-test");
  const auto ports = three_ports();
  std::string expected;
  raft::index_t last_commit = 0;
  {
    cluster c(dir.path(), ports);
    const raft::node_id leader = c.wait_leader();
    BOOST_TEST_MESSAGE("leader " << leader);
    for (int i = 0; i < 20; ++i) {
      const std::string cmd = "c" + std::to_string(i);
      auto r = c.propose(leader, cmd);
      BOOST_REQUIRE_MESSAGE(r.code == outcome_code::ok, "proposal " << i << ": " << to_string(r.code));
      BOOST_TEST(r.data == "ok " + cmd);
      expected += cmd + ";";
    }
    // A follower redirects to the leader.
    const raft::node_id follower = leader == 1 ? 2 : 1;
    auto redirected = c.propose(follower, "nope");
    BOOST_TEST((redirected.code == outcome_code::not_leader));
    BOOST_TEST(redirected.leader == leader);
    BOOST_TEST((c.read(follower, raft::read_mode::linearizable).code == outcome_code::not_leader));

    // Every node applies every command; reads see them.
    last_commit = c.status(leader).node.commit;
    for (raft::node_id id = 1; id <= 3; ++id) c.wait_applied(id, last_commit);
    auto lin = c.read(leader, raft::read_mode::linearizable);
    BOOST_TEST((lin.code == outcome_code::ok));
    BOOST_TEST(lin.data == expected);
    BOOST_TEST(c.read(leader, raft::read_mode::lease).data == expected);
    for (raft::node_id id = 1; id <= 3; ++id) {
      auto r = c.read(id, raft::read_mode::follower);
      BOOST_TEST((r.code == outcome_code::ok), "node " << id);
      BOOST_TEST(r.data == expected, "node " << id);
    }
    // Garbage from the network is counted and ignored: a client request where a Raft message
    // belongs, and a Raft message whose sender is not the node it came from.
    wire::client_request bogus;
    bogus.body = wire::ping{7};
    (*c.self)->send(c.rafts[follower], transport::delivery{leader, "raft/1", "raft/1",
                                                           transport::lane::raft_control,
                                                           wire::encode(bogus)});
    raft::raft_message forged{3, follower, 1, raft::heartbeat{1, 0, 1}};
    (*c.self)->send(c.rafts[follower], transport::delivery{leader == 3 ? 2u : leader, "raft/1", "raft/1",
                                                           transport::lane::raft_control,
                                                           wire::encode(forged)});
    BOOST_TEST((c.propose(leader, "still-fine").code == outcome_code::ok));
    expected += "still-fine;";
    c.wait_malformed(follower, 2);

    auto st = c.status(leader);
    BOOST_TEST(st.peers.size() == 2u);
    BOOST_TEST(st.storage_ok);
    BOOST_TEST(!st.recent_leader_changes.empty());
  }
  {
    // Restart every node from its SQLite file: the logs come back and the state machines are
    // rebuilt by replaying them.
    cluster c(dir.path(), ports);
    c.wait_leader();
    for (raft::node_id id = 1; id <= 3; ++id) {
      BOOST_TEST(c.status(id).node.last_index >= last_commit);
      c.wait_applied(id, last_commit);
      auto r = c.read(id, raft::read_mode::follower);
      BOOST_TEST(r.data.substr(0, expected.size()) == expected, "node " << id);
    }
  }
  // A damaged entry refuses the start, naming the file and the index.
  corrupt_entry(cluster::log_path(dir.path(), 2), 3);
  {
    caf::actor_system_config cfg;
    caf::actor_system system{cfg};
    raft::raft_actor_config rc;
    rc.core.id = 2;
    rc.core.group = 1;
    rc.core.voters = {1, 2, 3};
    rc.log_path = cluster::log_path(dir.path(), 2);
    auto refused = raft::spawn_raft_actor(system, rc, std::make_unique<journal_machine>());
    BOOST_REQUIRE(!refused.ok());
    BOOST_TEST((refused.err().code == errc::corrupt));
    BOOST_TEST(refused.err().message.find(rc.log_path) != std::string::npos, refused.err().message);
    BOOST_TEST(refused.err().message.find("index 3") != std::string::npos, refused.err().message);
  }
}

BOOST_AUTO_TEST_CASE(beyond_the_pending_bound_proposals_are_answered_busy_at_once) {
  test::temp_dir dir("raft-actor-busy");
  cluster_options opts;
  opts.max_pending = 2;
  cluster c(dir.path(), three_ports(), opts);
  const raft::node_id leader = c.wait_leader();
  // A burst: the first two are admitted; the rest arrive while those wait for their fsync and
  // the followers' acknowledgements, and are refused at once.
  constexpr int burst = 40;
  for (int i = 0; i < burst; ++i) {
    (*c.self)->send(c.rafts[leader], raft::propose_atom::value, "b" + std::to_string(i));
  }
  std::map<outcome_code, int> seen;
  for (int i = 0; i < burst; ++i) {
    (*c.self)->receive([&](const raft_reply& r) { ++seen[r.code]; },
                       caf::after(std::chrono::seconds(30)) >> [&] { BOOST_FAIL("no answer"); });
  }
  BOOST_TEST(seen[outcome_code::ok] >= 1);
  BOOST_TEST(seen[outcome_code::busy] >= 1);
  BOOST_TEST(seen[outcome_code::ok] + seen[outcome_code::busy] == burst);
  // Afterwards there is room again.
  BOOST_TEST((c.propose(leader, "after").code == outcome_code::ok));
}

BOOST_AUTO_TEST_CASE(a_node_restarts_from_its_latest_snapshot_plus_the_log_after_it) {
  // Raft §7: node 2's log loses its prefix to a snapshot (taken here by hand, as the shell will);
  // after a restart its state is the snapshot plus the replayed suffix, and it keeps up.
  test::temp_dir dir("raft-actor-snapshot-restart");
  const auto ports = three_ports();
  std::string expected;
  raft::index_t commit = 0;
  {
    cluster c(dir.path(), ports);
    const raft::node_id leader = c.wait_leader();
    for (int i = 0; i < 20; ++i) {
      const std::string cmd = "s" + std::to_string(i);
      BOOST_REQUIRE((c.propose(leader, cmd).code == outcome_code::ok));
      expected += cmd + ";";
    }
    commit = c.status(leader).node.commit;
    for (raft::node_id id = 1; id <= 3; ++id) c.wait_applied(id, commit);
  }
  const raft::index_t through = commit - 5;
  {
    auto log = raft::sqlite_log_storage::open(cluster::log_path(dir.path(), 2));
    BOOST_REQUIRE(log.ok());
    auto es = (*log)->entries(1, through + 1, UINT64_MAX);
    BOOST_REQUIRE(es.ok());
    journal_machine sm;
    for (const auto& e : *es) {
      if (e.type == raft::entry_type::normal) (void)sm.apply(e.index, e.data);
    }
    raft::snapshot_metadata meta;
    meta.last_index = through;
    meta.last_term = *(*log)->term(through);
    meta.membership.voters = {1, 2, 3};
    auto snaps = raft::sqlite_snapshot_store::open(raft::snapshot_path_for(cluster::log_path(dir.path(), 2)));
    BOOST_REQUIRE(snaps.ok());
    BOOST_REQUIRE((*snaps)->save(meta, sm.snapshot()).ok());
    BOOST_REQUIRE((*log)->apply_snapshot(meta).ok());
    BOOST_REQUIRE((*log)->sync().ok());
  }
  cluster c(dir.path(), ports);
  const raft::node_id leader = c.wait_leader();
  c.wait_applied(2, commit);
  BOOST_TEST(c.status(2).node.first_index == through + 1);
  BOOST_TEST(c.read(2, raft::read_mode::follower).data.substr(0, expected.size()) == expected);
  BOOST_REQUIRE((c.propose(leader, "after").code == outcome_code::ok));
  const auto now = c.status(leader).node.commit;
  c.wait_applied(2, now);
  BOOST_TEST(c.read(2, raft::read_mode::follower).data == c.read(leader, raft::read_mode::lease).data);
}

BOOST_AUTO_TEST_CASE(a_member_that_missed_compacted_entries_catches_up_through_a_snapshot) {
  // Raft §7: nodes 1 and 2 commit and compact (every 10 applied entries) while node 3 is down;
  // node 3 then starts on an empty directory: the leader's log no longer holds what it needs, so it
  // streams its snapshot in chunks (bulk lane), node 3 makes them durable, restores its state
  // machine, and applies the entries after the snapshot.
  test::temp_dir dir("raft-actor-snapshot-install");
  cluster_options opts;
  opts.snapshot_entries = 10;
  opts.deferred = {3};
  const auto ports = three_ports();
  std::string expected;
  {
  cluster c(dir.path(), ports, opts);
  const raft::node_id leader = c.wait_leader();
  for (int i = 0; i < 45; ++i) {
    const std::string cmd = "k" + std::to_string(i);
    BOOST_REQUIRE((c.propose(leader, cmd).code == outcome_code::ok));
    expected += cmd + ";";
  }
  const auto before = c.status(leader).node;
  BOOST_TEST(before.snapshot_index >= 30u);
  BOOST_TEST(before.first_index == before.snapshot_index + 1);
  c.start(3, opts);
  c.wait_applied(3, before.commit);
  const auto caught_up = c.status(3).node;
  BOOST_TEST(caught_up.snapshot_index >= before.snapshot_index);
  BOOST_TEST(caught_up.first_index == caught_up.snapshot_index + 1);
  BOOST_TEST(c.read(3, raft::read_mode::follower).data == expected);
  // The metrics follow at the next tick.
  auto restored = [&] {
    double n = 0;
    for (auto& f : c.registries[2]->Collect()) {
      if (f.name != "troupe_raft_snapshot_installs_total") continue;
      for (auto& m : f.metric) {
        for (auto& l : m.label) {
          if (l.name == "direction" && l.value == "received") n += m.counter.value;
        }
      }
    }
    return n;
  };
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (restored() < 1) {
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "no received install counted");
    std::this_thread::sleep_for(20ms);  // polling interval of a wait with a deadline
  }
  BOOST_TEST(restored() == 1.0);
  // Replication continues by AppendEntries.
  BOOST_REQUIRE((c.propose(leader, "after").code == outcome_code::ok));
  expected += "after;";
  c.wait_applied(3, c.status(leader).node.commit);
  BOOST_TEST(c.read(3, raft::read_mode::follower).data == expected);
  }
  // Node 3 restarts from its received snapshot plus the log after it.
  opts.deferred.clear();
  cluster c(dir.path(), ports, opts);
  c.wait_leader();
  BOOST_TEST(c.status(3).node.first_index > 1u);
  c.wait_applied(3, c.status(c.wait_leader()).node.commit);
  BOOST_TEST(c.read(3, raft::read_mode::follower).data == expected);
}
