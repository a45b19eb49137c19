// Grow a running 3-node cluster under client load to 5 with the CLI (two learners added with
// --join nodes, then promoted), shrink it back to 3 (removing the leader and one other original
// member), lose no acknowledged write (every acknowledged key read back linearizably at the end),
// and check that the removed nodes, still running, do not disturb the rest (term stable while more
// writes go through).
#define BOOST_TEST_MODULE membership_process
#include <boost/test/unit_test.hpp>

#include <regex>
#include <sstream>

#include "tests/cluster/kv/kv_cluster.hpp"

namespace troupe::test::kv {
namespace {

using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(a_cluster_under_load_grows_to_five_and_shrinks_to_three_without_losing_a_write) {
  kv_cluster c;
  c.start_all();
  c.wait_for_leader();
  writer_load load(c, 4);
  BOOST_REQUIRE(load.wait_acked(200, hang_deadline));

  // Grow: two --join nodes wait without a configuration, are added as learners, catch up, and
  // are promoted.
  joiner j4{4}, j5{5};
  start_joiner(c, j4);
  start_joiner(c, j5);
  auto scrape_id = [&](std::uint64_t id) -> std::optional<std::string> {
    if (id <= 3) return c.scrape(static_cast<int>(id - 1));
    return scrape_port(id == 4 ? j4.metrics_port : j5.metrics_port);
  };
  auto addr_of = [&](std::uint64_t id) { return id <= 3 ? c.addr(static_cast<int>(id - 1)) : (id == 4 ? j4 : j5).addr(); };
  auto leader_among = [&](const std::vector<std::uint64_t>& ids) {
    const auto until = std::chrono::steady_clock::now() + hang_deadline;
    for (;;) {
      for (auto id : ids) {
        auto text = scrape_id(id);
        if (text && metric_value(*text, "troupe_raft_is_leader").value_or(0) == 1) return id;
      }
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "no leader in time");
      ::usleep(20'000);  // polling interval of a wait with a deadline
    }
  };
  for (auto* j : {&j4, &j5}) {
    auto [code, out] = cluster_cli(c, {"add", std::to_string(j->id), j->addr(), "--learner"}, c.endpoints());
    BOOST_REQUIRE_MESSAGE(code == 0, out);
  }
  // A second add of the same node is refused: exit 1 with the reason.
  {
    auto [code, out] = cluster_cli(c, {"add", "4", j4.addr(), "--learner"}, c.endpoints());
    BOOST_TEST(code == 1, out);
    BOOST_TEST(out.find("learner") != std::string::npos, out);
  }
  const double target = c.applied_index(c.wait_for_leader());
  wait_applied(j4.metrics_port, target);
  wait_applied(j5.metrics_port, target);
  {
    // Both learners become voters in one joint configuration (troupe cluster change).
    auto [code, out] = cluster_cli(c, {"change", "promote=4", "promote=5"}, c.endpoints());
    BOOST_REQUIRE_MESSAGE(code == 0, out);
  }
  BOOST_REQUIRE(load.wait_acked(load.acked() + 200, hang_deadline));
  {
    auto text = scrape_id(leader_among({1, 2, 3, 4, 5}));
    BOOST_REQUIRE(text);
    BOOST_TEST(metric_value(*text, "troupe_raft_members\\{group=\"1\",role=\"voter\"\\}").value_or(0) == 5);
  }

  // Shrink: remove the leader (it hands over once C_new commits) and one other original member at once.
  const std::uint64_t leader = leader_among({1, 2, 3, 4, 5});
  const std::uint64_t other = leader == 1 ? 2 : 1;
  std::vector<std::uint64_t> remaining;
  for (std::uint64_t id = 1; id <= 5; ++id) {
    if (id != leader && id != other) remaining.push_back(id);
  }
  const std::string all = c.endpoints() + "," + j4.addr() + "," + j5.addr();
  BOOST_TEST_MESSAGE("removing the leader " << leader << " and node " << other);
  // On a failure: every node's raft lines, for the post-mortem (stopping a node drains its output).
  auto raft_lines = [&] {
    std::string text;
    for (int i = 0; i < 3; ++i) {
      if (c.running(i)) c.stop(i, SIGTERM);
      text += "--- node " + std::to_string(i + 1) + "\n" + c.transcript(i);
    }
    for (auto* j : {&j4, &j5}) {
      j->proc->signal(SIGTERM);
      (void)j->proc->wait_exit(hang_deadline);
      text += "--- node " + std::to_string(j->id) + "\n" + j->proc->transcript();
    }
    std::string out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
      if (l.find("raft") != std::string::npos || l.find("---") == 0) out += l + "\n";
    }
    return out;
  };
  {
    // Two voters leave in one joint configuration, the leader among them (thesis 4.2.2: it hands
    // over once C_new is committed).
    auto [code, out] = cluster_cli(c, {"change", "remove=" + std::to_string(leader), "remove=" + std::to_string(other)}, all);
    if (code != 0) BOOST_FAIL("troupe cluster change remove=" << leader << " remove=" << other << ": exit " << code << ": " << out << raft_lines());
  }

  // More writes go through the 3 remaining voters while the removed ones still run; their term
  // does not move (the removed nodes cannot disturb them).
  const std::uint64_t new_leader = leader_among(remaining);
  auto term_of = [&](std::uint64_t id) {
    auto text = scrape_id(id);
    return text ? metric_value(*text, "troupe_raft_term").value_or(-1) : -1;
  };
  const double term = term_of(new_leader);
  BOOST_REQUIRE(load.wait_acked(load.acked() + 300, hang_deadline));
  load.stop();
  for (auto id : remaining) BOOST_TEST(term_of(id) == term, "node " << id);
  BOOST_TEST(leader_among(remaining) == new_leader);
  {
    auto text = scrape_id(new_leader);
    BOOST_REQUIRE(text);
    BOOST_TEST(metric_value(*text, "troupe_raft_members\\{group=\"1\",role=\"voter\"\\}").value_or(0) == 3);
  }
  // The removed nodes say so, once they know (a removed follower knows when it lost its leader:
  // nobody replicates to it any more); their output is complete once they stopped.
  for (auto removed : {leader, other}) {
    const auto until = std::chrono::steady_clock::now() + hang_deadline;
    for (;;) {
      auto text = scrape_id(removed);
      if (text && metric_value(*text, "troupe_raft_has_leader").value_or(1) == 0) break;
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "node " << removed << " still follows a leader");
      ::usleep(20'000);  // polling interval of a wait with a deadline
    }
    std::string transcript;
    if (removed <= 3) {
      c.stop(static_cast<int>(removed - 1), SIGTERM);
      transcript = c.transcript(static_cast<int>(removed - 1));
    } else {
      auto& j = removed == 4 ? j4 : j5;
      j.proc->signal(SIGTERM);
      BOOST_REQUIRE(j.proc->wait_exit(hang_deadline));
      transcript = j.proc->transcript();
    }
    BOOST_TEST(transcript.find("this node was removed from the configuration") != std::string::npos, transcript);
  }

  // No acknowledged write lost: every one read back, linearizably, from the new configuration.
  auto opts = c.client_options();
  opts.endpoints.clear();
  for (auto id : remaining) opts.endpoints.push_back(addr_of(id));
  client::kv_client reader(opts, c.client_factory());
  const auto acked = load.acknowledged();
  BOOST_TEST_MESSAGE(acked.size() << " acknowledged writes, " << load.unknowns().size() << " unknown");
  std::size_t lost = 0;
  for (const auto& [key, value] : acked) {
    auto r = reader.get(key);
    if (r.outcome != client::kv_outcome::done || !r.value || *r.value != value) {
      ++lost;
      if (lost < 5) BOOST_ERROR("acknowledged " << key << " reads back " << client::to_string(r.outcome));
    }
  }
  BOOST_TEST(lost == 0u);
  BOOST_TEST(load.failures().empty());
}

}  // namespace
}  // namespace troupe::test::kv
