// The node's lock clock in simulation (examples/lock/lock_clock_core.hpp, README.md "Time"): three
// real Raft cores (tests/scenario/raft's cluster), a service host with the lock service and its
// atomic_lock_observer on every node, and on every node the clock's rules run every 200 ms of
// simulated time exactly as the clock actor runs them (interval -> ask whether it leads -> propose
// -> answer or fail). Checks, per seed:
// - an idle cluster proposes no tick: over 50 clock intervals of the leader's clock, no clock
//   proposes and no node's commit index moves (the log does not grow);
// - an acquire makes the leader tick again, the lease expires (never before its TTL of simulated
//   time passed since the acquire was proposed), and the cluster is idle again afterwards;
// - a new leader with leases outstanding (the old one crashed) ticks, and they expire;
// - a whole cluster restarted from its logs (replay) or from snapshots (restore) ticks for the
//   leases it holds: the observer is current after the replay and after a restore.
// Every wait is a condition on the simulation with a bound that only catches a hang.
// TROUPE_SEED=n or TROUPE_SEEDS=a..b reruns seeds; each failure names its seed.
#define BOOST_TEST_MODULE lock_clock_sim
#include <boost/test/unit_test.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/replicated/service_host.hpp"
#include "examples/lock/lock_clock_core.hpp"
#include "examples/lock/lock_metrics.hpp"
#include "tests/scenario/raft/raft_cluster.hpp"
#include "tests/sim/client_steps.hpp"
#include "tests/sim/seeds.hpp"

namespace {

using namespace troupe;
using namespace troupe::lock;
using raft::index_t;
using raft::node_id;

constexpr std::uint64_t tick_ms = 10;           // sim_raft_config: 10 ms a tick
constexpr std::uint64_t interval_ticks = 20;    // the clock actor's 200 ms
constexpr std::uint64_t tick_timeout_ticks = 200;  // the clock actor's 2 s
constexpr std::uint64_t hang_ticks = 20'000;    // 200 s of simulated time: only a hang gets here

/// One node's share: the service host, the lock service's observer, the clock's core, and the tick
/// it has in flight (where its proposal landed).
struct lock_replica {
  std::shared_ptr<atomic_lock_observer> observer = std::make_shared<atomic_lock_observer>();
  std::unique_ptr<replicated::service_host> host = std::make_unique<replicated::service_host>();
  const lock_service* service = nullptr;
  std::unique_ptr<lock_clock_core> clock;
  index_t tick_index = 0;
  std::string tick_bytes;
  std::uint64_t tick_deadline = 0;
};

class lock_clock_sim {
 public:
  explicit lock_clock_sim(std::uint64_t seed)
      : seed_(seed), cluster_(3, troupe::testing::sim_raft_config(9, 64 * 1024), seed) {
    replicas_.resize(4);
    cluster_.on_start = [this](node_id id) { fresh(id); };
    cluster_.on_apply = [this](node_id id, const raft::log_entry& e) { on_apply(id, e); };
    cluster_.take_snapshot = [this](node_id id) { return replicas_[id].host->snapshot(); };
    cluster_.on_restore = [this](node_id id, index_t index, const std::string& image) {
      BOOST_REQUIRE_MESSAGE(replicas_[id].host->restore(index, image).ok(), "node " << id << " refused its snapshot");
    };
    for (node_id id = 1; id <= 3; ++id) {
      if (!replicas_[id].clock) fresh(id);
    }
  }

  raft::testing::cluster& cluster() { return cluster_; }
  lock_replica& at(node_id id) { return replicas_[id]; }
  std::uint64_t now_ms() const { return static_cast<std::uint64_t>(cluster_.now() / 1'000'000); }

  /// One 10 ms step: every node ticks, messages are delivered, every node's clock runs when its
  /// interval comes round (nodes are out of phase, as real nodes are).
  void step() {
    ++tick_;
    cluster_.tick();
    cluster_.deliver_all();
    for (node_id id = 1; id <= 3; ++id) {
      if ((tick_ + id * 7) % interval_ticks == 0) run_clock(id);
    }
    cluster_.deliver_all();
    BOOST_REQUIRE_MESSAGE(cluster_.violations().empty(), "raft invariant: " << cluster_.violations().front());
  }

  /// Steps until `done` holds; fails naming `what` after hang_ticks.
  void until(const std::function<bool()>& done, const std::string& what) {
    for (std::uint64_t n = 0; !done(); ++n) {
      BOOST_REQUIRE_MESSAGE(n < hang_ticks, "seed " << seed_ << ": " << what << " never happened");
      step();
    }
  }

  node_id elect() {
    std::optional<node_id> l;
    until(
        [&] {
          l = cluster_.leader();
          return l && cluster_.at(*l).status().commit == cluster_.at(*l).log().last_index() &&
                 all_applied(cluster_.at(*l).status().commit);
        },
        "a leader with its no-op committed and applied on every live node");
    return *l;
  }

  /// Proposes an acquire on the leader and steps until every live node applied it; returns the
  /// simulated time it was proposed at.
  std::uint64_t acquire(node_id leader, std::uint64_t client, const std::string& name, std::uint64_t ttl_ms,
                        bool wait) {
    wire::client_request r;
    r.client_id = client;
    r.sequence = 1;
    r.group_id = 9;
    r.body = wire::app_request{"lock", wire::app_call::command, encode_request({lock_op::acquire, name, ttl_ms, wait, 0, 0, false}),
                               wire::read_consistency::linearizable, 0};
    const std::uint64_t sent = now_ms();
    auto index = cluster_.propose(leader, troupe::testing::bytes_of(wire::encode(r)));
    BOOST_REQUIRE_MESSAGE(index.ok(), "seed " << seed_ << ": the acquire was refused");
    until([&] { return all_applied(*index); }, "the acquire applied everywhere");
    return sent;
  }

  /// Every live node knows `index` committed and applied it.
  bool all_applied(index_t index) {
    for (node_id id = 1; id <= 3; ++id) {
      if (cluster_.is_up(id) && (cluster_.at(id).status().commit < index || cluster_.at(id).status().applied < index)) {
        return false;
      }
    }
    return true;
  }

  std::uint64_t proposed_total() const {
    std::uint64_t n = 0;
    for (node_id id = 1; id <= 3; ++id) n += replicas_[id].clock->stats().proposed;
    return n;
  }

  /// Waits for `intervals` idle intervals of `leader`'s clock, checking that meanwhile no clock
  /// proposed anything and no node's commit index moved (an idle log does not grow).
  void expect_idle(node_id leader, std::uint64_t intervals) {
    std::vector<index_t> commit(4, 0);
    for (node_id id = 1; id <= 3; ++id) commit[id] = cluster_.is_up(id) ? cluster_.at(id).status().commit : 0;
    const std::uint64_t proposed = proposed_total();
    const std::uint64_t idle = replicas_[leader].clock->stats().idle_intervals;
    until([&] { return replicas_[leader].clock->stats().idle_intervals >= idle + intervals; },
          std::to_string(intervals) + " idle intervals of the leader's clock");
    BOOST_TEST((cluster_.leader() == std::optional<node_id>(leader)), "seed " << seed_ << ": the leader changed");
    BOOST_TEST(proposed_total() == proposed, "seed " << seed_ << ": a clock proposed a tick with no lease live");
    for (node_id id = 1; id <= 3; ++id) {
      if (!cluster_.is_up(id)) continue;
      BOOST_TEST(cluster_.at(id).status().commit == commit[id],
                 "seed " << seed_ << ": node " << id << "'s commit index moved from " << commit[id] << " to "
                         << cluster_.at(id).status().commit << " while idle");
    }
  }

  /// Steps until no live node holds a lease; returns the simulated time the leader's table lost its
  /// last one.
  std::uint64_t until_no_lease(const std::string& what) {
    until(
        [&] {
          for (node_id id = 1; id <= 3; ++id) {
            if (cluster_.is_up(id) && replicas_[id].observer->read().leases > 0) return false;
          }
          return true;
        },
        what);
    return now_ms();
  }

 private:
  void fresh(node_id id) {
    // A (re)started node: a new process, with an empty state machine, a new observer and clock.
    auto& r = replicas_[id];
    r = lock_replica{};
    auto svc = std::make_unique<lock_service>(lock_options{}, r.observer);
    r.service = svc.get();
    r.host->add("lock", std::move(svc));
    r.clock = std::make_unique<lock_clock_core>(9, seed_ * 31 + id);
  }

  void run_clock(node_id id) {
    if (!cluster_.is_up(id)) return;
    auto& r = replicas_[id];
    if (r.clock->in_flight() && tick_ >= r.tick_deadline) {
      r.clock->failed();  // as the actor's request timeout
      r.tick_index = 0;
    }
    if (r.clock->interval(r.observer->read().leases) != lock_clock_core::step::ask_leader) return;
    auto request = r.clock->leader_known(cluster_.at(id).status().role == raft::role::leader, now_ms());
    if (!request) return;
    auto index = cluster_.propose(id, *request);
    if (!index) {
      r.clock->failed();
      return;
    }
    r.tick_index = *index;
    r.tick_bytes = std::move(*request);
    r.tick_deadline = tick_ + tick_timeout_ticks;
  }

  void on_apply(node_id id, const raft::log_entry& e) {
    auto& r = replicas_[id];
    const std::string reply = r.host->apply(e.index, e.data);
    if (r.tick_index != e.index || !r.clock->in_flight()) return;
    r.tick_index = 0;
    if (e.data != r.tick_bytes) {
      r.clock->failed();  // another leader's entry took the place of our tick
      return;
    }
    auto t = r.clock->answered(reply);
    BOOST_TEST(t.ok(), "seed " << seed_ << ": a tick was refused: " << (t.ok() ? "" : t.err().message));
  }

  std::uint64_t seed_;
  raft::testing::cluster cluster_;
  std::vector<lock_replica> replicas_;
  std::uint64_t tick_ = 0;
};

void for_each_seed(const std::function<void(std::uint64_t)>& body) {
  const auto range = troupe::testing::seeds_from_env({1, 8});
  for (auto seed = range.first; seed <= range.last; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed << " (rerun: TROUPE_SEED=" << seed << ")") { body(seed); }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_idle_cluster_proposes_no_tick_and_its_log_stays_still) {
  for_each_seed([](std::uint64_t seed) {
    lock_clock_sim sim(seed);
    const node_id leader = sim.elect();
    sim.expect_idle(leader, 50);
    BOOST_TEST(sim.at(leader).service->table().now_ms() == 0u);  // lock time stood still
  });
}

BOOST_AUTO_TEST_CASE(an_acquire_restarts_the_ticks_the_lease_expires_and_the_cluster_idles_again) {
  for_each_seed([](std::uint64_t seed) {
    lock_clock_sim sim(seed);
    const node_id leader = sim.elect();
    sim.expect_idle(leader, 5);
    const auto proposed_before = sim.at(leader).clock->stats().proposed;
    const std::uint64_t sent = sim.acquire(leader, 500, "disk", 1000, false);
    const std::uint64_t ended = sim.until_no_lease("the lease's expiry");
    BOOST_TEST(sim.at(leader).clock->stats().proposed > proposed_before);
    BOOST_TEST(sim.at(leader).service->table().stats().expirations == 1u);
    // Lock time never runs ahead of real time: the lease lasted at least its TTL.
    BOOST_TEST(ended - sent >= 1000u, "the lease ended " << ended - sent << " ms after the acquire was proposed");
    sim.expect_idle(leader, 20);
  });
}

BOOST_AUTO_TEST_CASE(a_new_leader_with_leases_outstanding_keeps_ticking_until_they_expire) {
  for_each_seed([](std::uint64_t seed) {
    lock_clock_sim sim(seed);
    const node_id old_leader = sim.elect();
    (void)sim.acquire(old_leader, 500, "disk", 3000, false);
    // A waiter with a longer TTL: it gets the lock when the holder expires, then expires too.
    (void)sim.acquire(old_leader, 501, "disk", 6000, true);
    sim.cluster().crash(old_leader);
    const node_id leader = sim.elect();
    BOOST_REQUIRE(leader != old_leader);
    BOOST_TEST(sim.at(leader).observer->read().leases == 2u);
    (void)sim.until_no_lease("the expiry of the holder and then of the waiter");
    BOOST_TEST(sim.at(leader).clock->stats().proposed > 0u);
    BOOST_TEST(sim.at(leader).service->table().stats().expirations == 2u);
    BOOST_TEST(sim.at(leader).service->table().stats().grants == 2u);
    sim.expect_idle(leader, 10);
  });
}

namespace {

/// Every node crashes and restarts: from its log (replay), or from a snapshot taken after the
/// acquires (restore), so the restarted leader knows of the leases only through that path.
void restart_everything(bool from_snapshots) {
  for_each_seed([from_snapshots](std::uint64_t seed) {
    lock_clock_sim sim(seed);
    const node_id first = sim.elect();
    (void)sim.acquire(first, 500, "disk", 2000, false);
    (void)sim.acquire(first, 501, "tape", 2000, false);
    if (from_snapshots) {
      for (node_id id = 1; id <= 3; ++id) BOOST_REQUIRE(sim.cluster().compact(id).ok());
    }
    for (node_id id = 1; id <= 3; ++id) sim.cluster().crash(id);
    for (node_id id = 1; id <= 3; ++id) sim.cluster().restart(id);
    const node_id leader = sim.elect();
    // The leader's observer describes what it restored or replayed (no lease can have expired yet).
    BOOST_TEST(sim.at(leader).observer->read().leases == 2u);
    (void)sim.until_no_lease("the expiry of both leases after the restart");
    BOOST_TEST(sim.at(leader).clock->stats().proposed > 0u);
    BOOST_TEST(sim.at(leader).service->table().stats().expirations == 2u);
    sim.expect_idle(leader, 10);
  });
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_cluster_restarted_from_its_logs_ticks_for_the_leases_it_replayed) { restart_everything(false); }

BOOST_AUTO_TEST_CASE(a_cluster_restarted_from_snapshots_ticks_for_the_leases_it_restored) { restart_everything(true); }
