// `troupe kv watch` against real `troupe node`s (issue 6, "Watch on real processes"): while
// closed-loop writers keep writing and the leader is killed with SIGKILL, the watcher prints every
// revision exactly once and in order, and every acknowledged write among them; `troupe kv list`
// then lists the same keys.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "tests/cluster/kv/kv_cluster.hpp"

using namespace std::chrono_literals;
using troupe::test::kv::kv_cluster;
using troupe::test::kv::writer_load;

BOOST_AUTO_TEST_CASE(a_watcher_sees_every_revision_once_in_order_across_a_leader_kill) {
  kv_cluster c;
  c.start_all();
  const int old_leader = c.wait_for_leader();
  // From revision 1: the writers' keys all start with "w", and nothing else writes, so the
  // watcher must print revisions 1, 2, 3... with no hole.
  auto watcher = c.spawn_kv({"watch", "w", "--from=1", "--timeout=20s", "--endpoints=" + c.endpoints()});

  writer_load load(c, 3);
  BOOST_REQUIRE_MESSAGE(load.wait_acked(150, 60s), "no progress before the kill");
  c.stop(old_leader, SIGKILL);
  const int new_leader = c.wait_for_leader(old_leader);
  BOOST_TEST(new_leader != old_leader);
  BOOST_REQUIRE_MESSAGE(load.wait_acked(load.acked() + 150, 60s), "no progress after the kill");
  load.stop();
  BOOST_TEST(load.failures().empty());
  const auto acked = load.acknowledged();

  // Read the watcher's lines until every acknowledged write showed up (the deadline only catches
  // hangs). Lines that are not events are its messages on stderr (e.g. "still trying").
  static const std::regex event(R"((\d+) (PUT|DELETE) (\S+)(?: (.*))?)");
  std::vector<std::uint64_t> revisions;
  std::map<std::string, std::string> seen;
  std::multiset<std::string> keys;
  std::size_t missing = acked.size();
  const auto until = std::chrono::steady_clock::now() + troupe::test::kv::hang_deadline;
  while (missing > 0 && std::chrono::steady_clock::now() < until) {
    auto line = watcher->read_line(std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now()));
    if (!line) break;
    std::smatch m;
    if (!std::regex_match(*line, m, event)) {
      BOOST_TEST_MESSAGE("watcher: " << *line);
      continue;
    }
    BOOST_TEST(m[2].str() == "PUT", *line);  // the writers never delete
    revisions.push_back(std::stoull(m[1].str()));
    keys.insert(m[3].str());
    seen[m[3].str()] = m[4].str();
    auto a = acked.find(m[3].str());
    if (a != acked.end() && keys.count(a->first) == 1) --missing;
  }
  BOOST_TEST(missing == 0u, "acknowledged writes the watcher did not print: " << missing);

  // SIGTERM ends the watch with exit 0.
  watcher->signal(SIGTERM);
  auto st = watcher->wait_exit(troupe::test::kv::hang_deadline);
  BOOST_REQUIRE(st);
  BOOST_TEST((WIFEXITED(*st) && WEXITSTATUS(*st) == 0), "watcher status " << *st << "\n" << watcher->transcript());

  // Every revision once, in order, from 1 with no gap.
  BOOST_REQUIRE(!revisions.empty());
  for (std::size_t i = 0; i < revisions.size(); ++i) {
    BOOST_TEST(revisions[i] == i + 1, "event " << i << " has revision " << revisions[i]);
  }
  // Each write is a key of its own: a key twice would be a write applied (or printed) twice.
  for (const auto& k : keys) BOOST_TEST(keys.count(k) == 1u, k);
  for (const auto& [key, value] : acked) {
    auto s = seen.find(key);
    BOOST_TEST((s != seen.end() && s->second == value), key);
  }
  // `troupe kv list` pages through the same keys (pages of the server's maximum; --limit caps it).
  auto listed = c.kv({"list", "w", "--limit=5", "--endpoints=" + c.endpoints()});
  BOOST_TEST(listed.exit_code == 0, listed.err);
  BOOST_TEST(std::count(listed.out.begin(), listed.out.end(), '\n') == 5);
  auto all = c.kv({"list", "w", "--keys-only", "--endpoints=" + c.endpoints()});
  BOOST_TEST(all.exit_code == 0, all.err);
  // At least every acknowledged key (a write whose outcome stayed unknown may be there too).
  BOOST_TEST(static_cast<std::size_t>(std::count(all.out.begin(), all.out.end(), '\n')) >= acked.size());

  // `troupe kv txn` with a script on stdin: the first run finds the key absent and writes, the
  // second finds it present and runs the failure branch (exit 1).
  const std::string script = "compare version cfg/lock = 0\nsuccess put cfg/lock held by me\nfailure get cfg/lock\n";
  auto first = c.kv({"txn", "--endpoints=" + c.endpoints()}, script);
  BOOST_TEST(first.exit_code == 0, first.err);
  BOOST_TEST(first.out.rfind("succeeded revision=", 0) == 0u, first.out);
  BOOST_TEST(first.out.find("\nOK\n") != std::string::npos, first.out);
  auto second = c.kv({"txn", "--endpoints=" + c.endpoints()}, script);
  BOOST_TEST(second.exit_code == 1, second.err);
  BOOST_TEST(second.out.find("cfg/lock\theld by me\tcreate=") != std::string::npos, second.out);

  BOOST_TEST_MESSAGE("watcher printed " << revisions.size() << " revisions; " << acked.size()
                                        << " acknowledged writes; " << load.unknowns().size()
                                        << " unknown outcomes");
}
