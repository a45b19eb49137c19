// The replicated counter on real processes (issue 6): closed-loop incrementers through the
// replicated_client handle and `troupe counter` through the CLI, the leader killed with SIGKILL
// in the middle; every counter ends exact (each acknowledged increment applied once, none twice),
// and each consistency level answers from the nodes as docs/consistency.md says.
#define BOOST_TEST_MODULE counter_process
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

#include "actors/replicated/replicated_client.hpp"
#include "examples/counter/counter_service.hpp"
#include "tests/cluster/kv/kv_cluster.hpp"

using namespace std::chrono_literals;
using troupe::client::kv_outcome;
using troupe::replicated::replicated_client;
using troupe::test::kv::kv_cluster;

namespace {

/// One thread per counter "c<t>", one increment outstanding. A counter with a single writer makes
/// exactly-once visible in every answer: the n-th acknowledged increment must answer n (plus the
/// increments whose outcome stayed unknown before it); an increment applied twice would skip one.
class incrementers {
 public:
  incrementers(const kv_cluster& c, int threads) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, &c, t] {
        replicated_client h("counter", c.client_options(), c.client_factory());
        const std::string name = "c" + std::to_string(t);
        while (!stop_) {
          auto r = h.command(troupe::counter::incr_command(name, 1));
          std::lock_guard lock(mu_);
          auto& s = state_[t];
          if (r.outcome == kv_outcome::done) {
            ++s.acked;
            const auto value = std::stoll(r.payload);
            // Between acked (no unknown applied) and acked + unknown (all of them applied).
            if (value < s.acked || value > s.acked + s.unknown) {
              problems_.push_back(name + ": increment answered " + r.payload + " after " + std::to_string(s.acked) +
                                  " acknowledged and " + std::to_string(s.unknown) + " unknown");
            }
            s.last_value = value;
          } else if (r.outcome == kv_outcome::unknown) {
            ++s.unknown;
          } else {
            problems_.push_back(name + ": " + r.message);
          }
        }
      });
    }
  }
  ~incrementers() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::int64_t total_acked() const {
    std::lock_guard lock(mu_);
    std::int64_t n = 0;
    for (auto& [t, s] : state_) n += s.acked;
    return n;
  }
  bool wait_total(std::int64_t n, std::chrono::seconds deadline) const {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (total_acked() < n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(20ms);  // polling interval of a wait with a deadline
    }
    return true;
  }
  struct counter_state {
    std::int64_t acked = 0, unknown = 0, last_value = 0;
  };
  std::map<int, counter_state> state() const {
    std::lock_guard lock(mu_);
    return state_;
  }
  std::vector<std::string> problems() const {
    std::lock_guard lock(mu_);
    return problems_;
  }

 private:
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<int, counter_state> state_;
  std::vector<std::string> problems_;
  std::vector<std::thread> threads_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(counters_end_exact_across_a_leader_kill_and_every_consistency_level_answers) {
  kv_cluster c;
  c.start_all();
  const int old_leader = c.wait_for_leader();

  // The CLI: increments print the new value; --show-index adds the log index it was applied at.
  auto first = c.cli("counter", {"incr", "visits", "--by=5", "--show-index", "--endpoints=" + c.endpoints()});
  BOOST_REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  static const std::regex shown(R"((-?\d+) index=(\d+)\n)");
  std::smatch m;
  BOOST_REQUIRE_MESSAGE(std::regex_match(first.out, m, shown), first.out);
  BOOST_TEST(m[1].str() == "5");
  const std::string index = m[2].str();

  incrementers load(c, 3);
  BOOST_REQUIRE_MESSAGE(load.wait_total(60, 60s), "no progress before the kill");
  c.stop(old_leader, SIGKILL);
  (void)c.wait_for_leader(old_leader);
  BOOST_REQUIRE_MESSAGE(load.wait_total(load.total_acked() + 60, 60s), "no progress after the kill");
  auto more = c.cli("counter", {"incr", "visits", "--by=-2", "--endpoints=" + c.endpoints()});
  BOOST_TEST(more.exit_code == 0, more.err);
  BOOST_TEST(more.out == "3\n");
  load.stop();
  for (auto& p : load.problems()) BOOST_ERROR(p);

  // Every counter holds exactly its acknowledged increments (plus those whose outcome stayed
  // unknown, if any were applied: none is expected with retries, and each is reported).
  std::int64_t unknown = 0;
  for (auto& [t, s] : load.state()) {
    auto got = c.cli("counter", {"get", "c" + std::to_string(t), "--endpoints=" + c.endpoints()});
    BOOST_REQUIRE_MESSAGE(got.exit_code == 0, got.err);
    const auto value = std::stoll(got.out);
    BOOST_TEST(value >= s.acked, "c" << t << " = " << value << " < " << s.acked << " acknowledged");
    BOOST_TEST(value <= s.acked + s.unknown, "c" << t << " = " << value << ": an increment applied twice");
    unknown += s.unknown;
  }
  BOOST_TEST_MESSAGE("acknowledged " << load.total_acked() << " increments, " << unknown << " unknown");

  // Each consistency level from each node still running. Session reads carry the index of the
  // first increment, so even a follower answers at least its value; stale reads promise nothing
  // about recency, only a value some prefix of the log gave (here: 0, 5 or 3).
  for (int i = 0; i < 3; ++i) {
    if (i == old_leader) continue;
    for (const char* level : {"linearizable", "lease", "follower", "session", "stale"}) {
      auto r = c.cli("counter", {"get", "visits", std::string("--consistency=") + level, "--min-index=" + index,
                                 "--endpoints=" + c.addr(i)});
      // linearizable and lease on a follower: it redirects to the leader, which is not in this
      // --endpoints list; the client dials the hinted address and still gets the answer.
      BOOST_TEST(r.exit_code == 0, level << " via node " << i << ": " << r.err);
      if (std::string(level) == "stale") {
        BOOST_TEST((r.out == "0\n" || r.out == "5\n" || r.out == "3\n"), level << ": " << r.out);
      } else if (std::string(level) == "session") {
        BOOST_TEST((r.out == "5\n" || r.out == "3\n"), level << ": " << r.out);
      } else {
        BOOST_TEST(r.out == "3\n", level << " on node " << i << ": " << r.out);
      }
    }
  }
  // Bad input: a clear message and exit 2.
  auto bad = c.cli("counter", {"incr", "visits", "--by=lots", "--endpoints=" + c.endpoints()});
  BOOST_TEST(bad.exit_code == 2);
  BOOST_TEST(bad.err.find("--by") != std::string::npos, bad.err);
}
