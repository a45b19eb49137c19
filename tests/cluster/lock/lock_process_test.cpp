// The lock service on real processes (issue 6, "Locks on real processes"): holder A (`troupe lock
// acquire --ttl=2s`) is stopped with SIGSTOP past its TTL and loses the lock; holder B, waiting in
// line, gets it with a larger fencing token; a resource that checks tokens (fenced_resource, the
// README's example) refuses A's late write after SIGCONT. Every wait is on a condition (a line, a
// status) with a deadline that only catches hangs.
#define BOOST_TEST_MODULE lock_process
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <functional>
#include <optional>
#include <regex>
#include <string>

#include "examples/lock/fenced_resource.hpp"
#include "tests/cluster/kv/kv_cluster.hpp"

using namespace std::chrono_literals;
using troupe::test::kv::hang_deadline;
using troupe::test::kv::kv_cluster;

namespace {

/// `troupe lock status NAME` until its output matches `pattern`; the last output otherwise.
bool wait_for_status(const kv_cluster& c, const std::string& name, const std::regex& pattern, std::string& last) {
  const auto until = std::chrono::steady_clock::now() + hang_deadline;
  while (std::chrono::steady_clock::now() < until) {
    auto r = c.cli("lock", {"status", name, "--endpoints=" + c.endpoints()});
    last = r.out + r.err;
    if (r.exit_code == 0 && std::regex_search(r.out, pattern)) return true;
  }
  return false;
}

std::uint64_t number(const std::smatch& m, int i) { return std::stoull(m[i].str()); }

/// Node `i`'s value of `name` once `ready` holds for a scrape of it; nullopt after the deadline.
std::optional<double> metric_when(const kv_cluster& c, int i, const std::string& name,
                                  const std::function<bool(const std::string&)>& ready) {
  const auto until = std::chrono::steady_clock::now() + hang_deadline;
  while (std::chrono::steady_clock::now() < until) {
    auto scrape = c.scrape(i);
    if (scrape && ready(*scrape)) return troupe::test::kv::metric_value(*scrape, name);
  }
  return std::nullopt;
}

double metric_or_0(const std::string& scrape, const std::string& name) {
  return troupe::test::kv::metric_value(scrape, name).value_or(0);
}

const std::regex granted(R"(token=(\d+) lease=(\d+))");

/// A (`troupe lock acquire disk --ttl=TTL`) holds the lock; B (the same with --wait) waits behind it.
struct holder_and_waiter {
  std::unique_ptr<troupe::test::child_process> a, b;
  std::uint64_t token_a = 0, lease_a = 0, lease_b = 0;

  holder_and_waiter(const kv_cluster& c, const std::string& ttl) {
    a = c.spawn_cli("lock", {"acquire", "disk", "--ttl=" + ttl, "--endpoints=" + c.endpoints()});
    auto ma = a->wait_for_line(granted, hang_deadline);
    BOOST_REQUIRE_MESSAGE(ma, "A never got the lock:\n" << a->transcript());
    token_a = number(*ma, 1);
    lease_a = number(*ma, 2);
    b = c.spawn_cli("lock", {"acquire", "disk", "--ttl=" + ttl, "--wait", "--endpoints=" + c.endpoints()});
    auto mw = b->wait_for_line(std::regex(R"(waiting lease=(\d+) position=1)"), hang_deadline);
    BOOST_REQUIRE_MESSAGE(mw, "B is not waiting:\n" << b->transcript());
    lease_b = number(*mw, 1);
  }
  /// `troupe lock status disk` when A holds and B waits.
  std::regex a_holds_b_waits() const {
    return std::regex("holder lease=" + std::to_string(lease_a) + " token=" + std::to_string(token_a) +
                      "[^\\n]*\\nwaiter lease=" + std::to_string(lease_b) + " position=1");
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_holder_stopped_past_its_ttl_loses_the_lock_and_its_late_write_is_fenced_off) {
  kv_cluster c;
  c.start_all();
  const int leader = c.wait_for_leader();
  troupe::lock::fenced_resource disk;

  // No lease, no tick (README.md, "Time"): over 10 intervals of the leader's lock clock with no
  // lease live, the log does not grow. The start is taken once the clock has idled twice (the
  // leader's no-op is committed and applied by then).
  const std::string idle = "troupe_lock_clock_idle_intervals_total", commit = "troupe_raft_commit_index";
  double idle_0 = 0, commit_0 = 0;
  BOOST_REQUIRE(metric_when(c, leader, idle, [&](const std::string& m) {
    idle_0 = metric_or_0(m, idle);
    commit_0 = metric_or_0(m, commit);
    return idle_0 >= 2 && commit_0 > 0 && metric_or_0(m, "troupe_raft_applied_index") == commit_0;
  }));
  const auto commit_1 = metric_when(c, leader, commit, [&](const std::string& m) { return metric_or_0(m, idle) >= idle_0 + 10; });
  BOOST_REQUIRE_MESSAGE(commit_1, "the leader's lock clock did not idle 10 intervals");
  BOOST_TEST(*commit_1 == commit_0, "the idle cluster's commit index moved from " << commit_0 << " to " << *commit_1);
  BOOST_TEST(metric_or_0(*c.scrape(leader), "troupe_lock_clock_ticks_proposed_total") == 0);

  // A acquires and writes under its token; B waits in line behind A.
  holder_and_waiter ab(c, "2s");
  auto& a = ab.a;
  auto& b = ab.b;
  const auto token_a = ab.token_a, lease_a = ab.lease_a, lease_b = ab.lease_b;
  BOOST_TEST(disk.write(token_a, "written by A"));
  std::string status;
  BOOST_REQUIRE_MESSAGE(wait_for_status(c, "disk", ab.a_holds_b_waits(), status),
                        "status never showed A holding and B waiting:\n" << status);

  // A stops (a GC pause, a swapped-out process): it cannot keep its lease alive.
  a->signal(SIGSTOP);
  auto mb = b->wait_for_line(granted, hang_deadline);
  BOOST_REQUIRE_MESSAGE(mb, "B never got the lock:\n" << b->transcript());
  const auto token_b = number(*mb, 1);
  BOOST_TEST(number(*mb, 2) == lease_b);
  BOOST_TEST(token_b > token_a);
  BOOST_REQUIRE_MESSAGE(wait_for_status(c, "disk",
                                        std::regex("holder lease=" + std::to_string(lease_b) + " token=" +
                                                   std::to_string(token_b)),
                                        status),
                        "status never showed B holding:\n" << status);
  BOOST_TEST(disk.write(token_b, "written by B"));

  // A wakes up, still believing it holds the lock, and writes: the resource refuses it.
  a->signal(SIGCONT);
  BOOST_TEST(!disk.write(token_a, "late write by A"));
  BOOST_TEST(disk.value() == "written by B");
  BOOST_TEST(disk.refused() == 1u);
  // A's own process finds out it lost the lease and exits 1.
  auto st = a->wait_exit(hang_deadline);
  BOOST_REQUIRE_MESSAGE(st, "A did not exit after SIGCONT:\n" << a->transcript());
  BOOST_TEST((WIFEXITED(*st) && WEXITSTATUS(*st) == 1), "A's status " << *st << "\n" << a->transcript());
  BOOST_TEST(a->transcript().find("lost lease=" + std::to_string(lease_a)) != std::string::npos, a->transcript());
  // Releasing A's lease now is a definite failure: it ended.
  auto late = c.cli("lock", {"release", "disk", "--lease=" + std::to_string(lease_a), "--endpoints=" + c.endpoints()});
  BOOST_TEST(late.exit_code == 1, late.out << late.err);

  // Without --wait a held lock is a definite failure.
  auto busy = c.cli("lock", {"acquire", "disk", "--ttl=2s", "--endpoints=" + c.endpoints()});
  BOOST_TEST(busy.exit_code == 1, busy.out << busy.err);
  BOOST_TEST(busy.err.find("held by lease " + std::to_string(lease_b)) != std::string::npos, busy.err);

  // SIGTERM: B releases and exits 0; the lock is free.
  b->signal(SIGTERM);
  st = b->wait_exit(hang_deadline);
  BOOST_REQUIRE(st);
  BOOST_TEST((WIFEXITED(*st) && WEXITSTATUS(*st) == 0), "B's status " << *st << "\n" << b->transcript());
  BOOST_TEST(b->transcript().find("released lease=" + std::to_string(lease_b)) != std::string::npos, b->transcript());
  BOOST_REQUIRE_MESSAGE(wait_for_status(c, "disk", std::regex("^free\\n"), status), "not free:\n" << status);

  // The metrics agree on every node: two grants, at least A's expiry, B's release, nothing held.
  for (int i = 0; i < 3; ++i) {
    const auto deadline = std::chrono::steady_clock::now() + hang_deadline;
    std::optional<std::string> scrape;
    // The counters are published by each node's lock clock every tick: wait for the release.
    while (std::chrono::steady_clock::now() < deadline) {
      scrape = c.scrape(i);
      if (scrape && troupe::test::kv::metric_value(*scrape, "troupe_lock_releases_total").value_or(0) >= 1) break;
    }
    BOOST_REQUIRE(scrape);
    BOOST_TEST(troupe::test::kv::metric_value(*scrape, "troupe_lock_grants_total").value_or(0) >= 2);
    BOOST_TEST(troupe::test::kv::metric_value(*scrape, "troupe_lock_expirations_total").value_or(0) >= 1);
    BOOST_TEST(troupe::test::kv::metric_value(*scrape, "troupe_lock_held").value_or(-1) == 0);
    BOOST_TEST(troupe::test::kv::metric_value(*scrape, "troupe_lock_leases").value_or(-1) == 0);
  }
  // While leases were live the leader ticked (A's expiry needed it).
  BOOST_TEST(metric_or_0(*c.scrape(leader), "troupe_lock_clock_ticks_proposed_total") > 0);
}

namespace {

/// The leader is killed (SIGKILL) or paused (SIGSTOP, its port still accepting: clients that try it
/// wait out their attempt timeout and must move on, not give up) while A holds with --ttl=5s and B
/// waits. A leader change never shortens a lease (README.md "Time", rule 3): A keeps the lock
/// through the election, its keep-alives answered by the new leader, which ticks for the leases it
/// inherited; when A stops too, the new leader's ticks expire its lease and B gets the lock.
void leader_lost_with_leases_outstanding(int sig) {
  kv_cluster c;
  c.start_all();
  const int old_leader = c.wait_for_leader();

  holder_and_waiter ab(c, "5s");
  auto& a = ab.a;
  auto& b = ab.b;
  const auto token_a = ab.token_a, lease_a = ab.lease_a, lease_b = ab.lease_b;

  if (sig == SIGKILL) {
    c.stop(old_leader, SIGKILL);
  } else {
    c.signal(old_leader, sig);
  }
  const int leader = c.wait_for_leader(old_leader);
  std::string status;
  BOOST_REQUIRE_MESSAGE(wait_for_status(c, "disk", ab.a_holds_b_waits(), status),
                        "A lost the lock to the election:\n" << status);
  // The new leader ticks for the leases it inherited (as a follower it never ticked).
  BOOST_REQUIRE(metric_when(c, leader, "troupe_lock_clock_ticks_proposed_total", [](const std::string& m) {
    return metric_or_0(m, "troupe_lock_clock_ticks_proposed_total") > 0;
  }));
  // A is still alive and holding: its keep-alives found the new leader.
  BOOST_TEST(a->transcript().find("lost lease") == std::string::npos, a->transcript());

  // A stops: the new leader's ticks expire its lease, and B gets the lock with a larger token.
  a->signal(SIGSTOP);
  auto mb = b->wait_for_line(granted, hang_deadline);
  BOOST_REQUIRE_MESSAGE(mb, "B never got the lock:\n" << b->transcript());
  BOOST_TEST(number(*mb, 2) == lease_b);
  BOOST_TEST(number(*mb, 1) > token_a);
  a->signal(SIGCONT);
  auto st = a->wait_exit(hang_deadline);
  BOOST_REQUIRE_MESSAGE(st, "A did not exit after SIGCONT:\n" << a->transcript());
  BOOST_TEST((WIFEXITED(*st) && WEXITSTATUS(*st) == 1), "A's status " << *st << "\n" << a->transcript());
  BOOST_TEST(a->transcript().find("lost lease=" + std::to_string(lease_a)) != std::string::npos, a->transcript());

  if (sig == SIGSTOP) c.signal(old_leader, SIGCONT);  // it rejoins as a follower
  b->signal(SIGTERM);
  st = b->wait_exit(hang_deadline);
  BOOST_REQUIRE(st);
  BOOST_TEST((WIFEXITED(*st) && WEXITSTATUS(*st) == 0), "B's status " << *st << "\n" << b->transcript());
  BOOST_REQUIRE_MESSAGE(wait_for_status(c, "disk", std::regex("^free\\n"), status), "not free:\n" << status);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_killed_leader_s_successor_keeps_the_leases_and_expires_them_when_their_holder_stops) {
  leader_lost_with_leases_outstanding(SIGKILL);
}

BOOST_AUTO_TEST_CASE(a_paused_leader_s_successor_keeps_the_leases_and_expires_them_when_their_holder_stops) {
  leader_lost_with_leases_outstanding(SIGSTOP);
}
