// Issue 4, Raft §7 on real processes: three `troupe node`s take about 56 MiB of writes and compact
// their logs; a fourth node starts empty with --join, is added as a learner, and catches up through
// the leader's snapshot of more than 50 MB, streamed in throttled chunks on the bulk lane while
// heartbeats keep flowing on the control lane: no election anywhere during the transfer (terms,
// leader and election counters unchanged) and client writes keep being acknowledged.
#define BOOST_TEST_MODULE snapshot_process
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <unistd.h>

#include <regex>
#include <sstream>
#include <thread>

#include "consensus/storage/sqlite_snapshot_store.hpp"
#include "tests/cluster/kv/kv_cluster.hpp"

namespace troupe::test::kv {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t value_bytes = 64u << 10;
constexpr int writers = 4;
constexpr int puts_per_writer = 224;  // 4 * 224 * 64 KiB = 56 MiB of values

/// Sum of the samples of `name` whose labels match `labels` (a regex over the label text).
double metric_of(const std::optional<std::string>& scrape, const std::string& name_and_labels) {
  return scrape ? metric_value(*scrape, name_and_labels).value_or(-1) : -1;
}

BOOST_AUTO_TEST_CASE(a_new_member_far_behind_catches_up_through_a_50_mb_snapshot_without_an_election) {
  kv_cluster c;
  // Compaction only by size, once 52 MiB of commands were applied: the snapshot then holds every
  // value written so far. 24 MiB/s makes the transfer last over two seconds.
  const std::vector<std::string> snapshot_args{"--snapshot-entries=0", "--snapshot-bytes=52MiB",
                                               "--snapshot-rate=24MiB"};
  for (int i = 0; i < 3; ++i) c.start(i, snapshot_args);
  c.wait_for_leader();
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds_since = [](auto t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); };
  {
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (int t = 0; t < writers; ++t) {
      threads.emplace_back([&, t] {
        client::kv_client k(c.client_options(), c.client_factory());
        for (int n = 0; n < puts_per_writer; ++n) {
          const std::string value(value_bytes, static_cast<char>('a' + (t * 7 + n) % 26));
          if (k.put("big-" + std::to_string(t) + "-" + std::to_string(n), value).outcome != client::kv_outcome::done) {
            ++failed;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    BOOST_REQUIRE_EQUAL(failed.load(), 0);
  }
  BOOST_TEST_MESSAGE("56 MiB written in " << seconds_since(t0) << " s");
  const int leader = c.wait_for_leader();
  auto wait_compacted = [&](int i) {
    const auto until = std::chrono::steady_clock::now() + hang_deadline;
    // The log starts after the snapshot once the compaction's batch is synced.
    while (metric_of(c.scrape(i), "troupe_raft_snapshot_index") <= 0) {
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "node " << i + 1 << " never compacted");
      ::usleep(20'000);  // polling interval of a wait with a deadline
    }
  };
  wait_compacted(leader);
  BOOST_TEST(metric_of(c.scrape(leader), "troupe_raft_snapshots_total\\{group=\"1\",result=\"saved\"\\}") == 1);

  // The state before the new member arrives: leader, terms and election counters of all three.
  struct seen {
    double term, elections, leader_id;
  };
  auto look = [&](int i) {
    auto s = c.scrape(i);
    return seen{metric_of(s, "troupe_raft_term"), metric_of(s, "troupe_raft_elections_total"),
                metric_of(s, "troupe_raft_leader_id")};
  };
  seen before[3] = {look(0), look(1), look(2)};

  const auto t1 = std::chrono::steady_clock::now();
  joiner j4{4};
  // On a failure: node 4's and the leader's output and snapshot metrics.
  auto diagnosis = [&] {
    std::string metrics;
    std::istringstream in(c.scrape(leader).value_or("") + scrape_port(j4.metrics_port).value_or(""));
    for (std::string l; std::getline(in, l);) {
      if ((l.find("snapshot") != std::string::npos || l.find("index") != std::string::npos) && l[0] != '#') {
        metrics += l + "\n";
      }
    }
    return "; node 4 says:\n" + j4.proc->transcript() + "\nleader " + std::to_string(leader + 1) + " says:\n" +
           c.transcript(leader) + "\nmetrics (leader, node 4):\n" + metrics;
  };
  start_joiner(c, j4, snapshot_args);
  writer_load load(c, 2);  // client traffic during the transfer
  {
    auto [code, out] = cluster_cli(c, {"add", "4", j4.addr(), "--learner"}, c.endpoints());
    BOOST_REQUIRE_MESSAGE(code == 0, out);
  }
  // Watch the transfer on the leader: its size, and a moment when it is partly acknowledged.
  double size_seen = 0;
  bool partial_seen = false;
  std::string progress_line;
  const auto until = std::chrono::steady_clock::now() + hang_deadline;
  for (;;) {
    auto s = c.scrape(leader);
    const double size = metric_of(s, "troupe_raft_peer_snapshot_size_bytes\\{group=\"1\",peer=\"4\"\\}");
    const double acked = metric_of(s, "troupe_raft_peer_snapshot_acked_bytes\\{group=\"1\",peer=\"4\"\\}");
    size_seen = std::max(size_seen, size);
    if (acked > 0 && acked < size && !partial_seen) {
      partial_seen = true;
      child_process status({c.troupe_binary(), "cluster", "status",
                            "--metrics=127.0.0.1:" + std::to_string(c.metrics_port(leader))});
      (void)status.wait_exit(hang_deadline);
      progress_line = status.transcript();
    }
    if (metric_of(scrape_port(j4.metrics_port), "troupe_raft_snapshot_installs_total\\{direction=\"received\",group=\"1\"\\}") >= 1) break;
    if (std::chrono::steady_clock::now() >= until) BOOST_FAIL("node 4 never installed a snapshot" << diagnosis());
    ::usleep(20'000);  // polling interval of a wait with a deadline
  }
  BOOST_TEST_MESSAGE("node 4 started, added and restored from the snapshot in " << seconds_since(t1) << " s");
  BOOST_TEST_MESSAGE("troupe cluster status during the transfer:\n" << progress_line);
  BOOST_TEST(size_seen >= 50e6);
  BOOST_TEST(partial_seen);
  {
    const double target = c.applied_index(leader);
    const auto until_applied = std::chrono::steady_clock::now() + hang_deadline;
    while (metric_of(scrape_port(j4.metrics_port), "troupe_raft_applied_index") < target) {
      if (std::chrono::steady_clock::now() >= until_applied) BOOST_FAIL("node 4 did not catch up" << diagnosis());
      ::usleep(20'000);  // polling interval of a wait with a deadline
    }
  }
  const std::size_t acked_during = load.acked();
  BOOST_REQUIRE(load.wait_acked(acked_during + 20, hang_deadline));
  load.stop();
  BOOST_TEST(load.failures().empty());

  // No election anywhere: the same leader, terms and election counters as before.
  for (int i = 0; i < 3; ++i) {
    const seen after = look(i);
    BOOST_TEST(after.term == before[i].term, "node " << i + 1);
    BOOST_TEST(after.elections == before[i].elections, "node " << i + 1);
    BOOST_TEST(after.leader_id == before[i].leader_id, "node " << i + 1);
  }
  BOOST_TEST(metric_of(scrape_port(j4.metrics_port), "troupe_raft_term") == before[leader].term);
  BOOST_TEST(metric_of(scrape_port(j4.metrics_port), "troupe_raft_elections_total") == 0);

  // Node 4 holds the leader's snapshot durably: more than 50 MB.
  j4.proc->signal(SIGTERM);
  BOOST_REQUIRE(j4.proc->wait_exit(hang_deadline));
  auto store = raft::sqlite_snapshot_store::open(c.file("data4") + "/raft-1-snapshots.db");
  BOOST_REQUIRE(store.ok());
  BOOST_REQUIRE((*store)->latest().has_value());
  BOOST_TEST((*store)->latest()->size >= 50'000'000u);
}

}  // namespace
}  // namespace troupe::test::kv
