// Disaster recovery with real processes: after a majority is lost for good, the survivor restarted
// with --force-new-cluster is a one-node cluster on its own data: it elects itself, serves every key
// acknowledged before the loss, and takes writes; restarted again without the flag it stays so.
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include "tests/cluster/kv/kv_cluster.hpp"

using namespace troupe::test;
using namespace troupe::test::kv;

BOOST_AUTO_TEST_CASE(a_survivor_forced_into_a_new_cluster_serves_every_acknowledged_key_and_takes_writes) {
  kv_cluster c;
  c.start_all();
  c.wait_for_leader();
  const auto ep = "--endpoints=" + c.endpoints();
  std::map<std::string, std::string> written;
  for (int i = 0; i < 30; ++i) {
    const std::string key = "dr" + std::to_string(i), value = "v" + std::to_string(i);
    auto put = c.kv({"put", key, value, ep});
    BOOST_REQUIRE_MESSAGE(put.exit_code == 0, put.err);
    written[key] = value;
  }
  // Every node holds every acknowledged write before the disaster (else the test would be about luck).
  const double applied = c.applied_index(c.wait_for_leader());
  for (int i = 0; i < 3; ++i) {
    const auto until = std::chrono::steady_clock::now() + hang_deadline;
    while (c.applied_index(i) < applied) {
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "node " << i + 1 << " never caught up");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval of a wait with a deadline
    }
  }
  // The majority is gone for good; the survivor alone cannot elect a leader.
  for (int i = 0; i < 3; ++i) c.stop(i, SIGKILL);
  const int survivor = 2;
  c.start(survivor, {"--force-new-cluster"});
  BOOST_TEST(c.transcript(survivor).find("--force-new-cluster: node 3 is now the only voter") != std::string::npos,
             c.transcript(survivor));
  BOOST_TEST(c.wait_for_leader() == survivor);
  const auto alone = "--endpoints=" + c.addr(survivor);
  for (const auto& [key, value] : written) {
    auto g = c.kv({"get", key, alone});
    BOOST_TEST(g.exit_code == 0, key << ": " << g.err);
    BOOST_TEST(g.out == value + "\n", key);
  }
  BOOST_TEST(c.kv({"put", "after", "disaster", alone}).exit_code == 0);
  // Without the flag on the next start it is still a one-node cluster (the configuration is in its log).
  c.stop(survivor, SIGTERM);
  c.start(survivor);
  BOOST_TEST(c.wait_for_leader() == survivor);
  BOOST_TEST(c.kv({"get", "after", alone}).out == "disaster\n");
  BOOST_TEST(c.kv({"get", "dr7", alone}).out == "v7\n");
}
