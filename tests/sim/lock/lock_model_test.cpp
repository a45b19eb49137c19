// The lock table against a plain model (a list of leases scanned by brute force) under random
// commands: acquires with and without waiting, keep-alives, releases, ticks of random length,
// restarts (leader changes), and snapshot/restore at random points, on two replicas fed the same
// commands. Checked after every command:
// - the table and the model give the same answers (outcomes, lease ids, tokens, positions, grants);
// - mutual exclusion: at most one holder per lock (check_invariants);
// - fencing: every grant's token is above every earlier token;
// - FIFO: per lock, successive holders have increasing lease ids (the line is served in order);
// - no early expiry: a lease ends by expiry only once lock time reached its last renewal plus its
//   lifetime (TTL + drift margin), counted from the renewal (acquire, keep-alive, grant, restart);
// - replicas stay byte-identical (snapshot), also after one of them is rebuilt from a snapshot.
// TROUPE_SEED=n or TROUPE_SEEDS=a..b reruns seeds; each failure names its seed.

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#define BOOST_TEST_MODULE lock_model
#include <boost/test/unit_test.hpp>

#include "examples/lock/lock_table.hpp"
#include "tests/sim/seeds.hpp"

namespace {

using namespace troupe::lock;

/// The model: every live lease in creation order; no indexes, no queues.
struct model {
  struct lease {
    lease_id id;
    std::string name;
    std::uint64_t ttl;
    std::uint64_t expiry;
    std::uint64_t token;  // 0: waiting
    bool pending;         // renewed since the last tick
  };
  lock_options options;
  std::uint64_t now = 0;
  std::uint64_t next_id = 1;
  std::uint64_t last_token = 0;
  std::vector<lease> leases;

  std::uint64_t life(std::uint64_t ttl) const { return ttl + (ttl * options.drift_ppm + 999'999) / 1'000'000; }
  lease* find(lease_id id) {
    for (auto& l : leases) {
      if (l.id == id) return &l;
    }
    return nullptr;
  }
  lease* holder(const std::string& name) {
    for (auto& l : leases) {
      if (l.name == name && l.token != 0) return &l;
    }
    return nullptr;
  }
  std::size_t position(const lease& w) const {
    std::size_t p = 0;
    for (const auto& l : leases) {
      if (l.name == w.name && l.token == 0) ++p;
      if (l.id == w.id) return p;
    }
    return 0;
  }
  std::size_t waiters(const std::string& name) const {
    return static_cast<std::size_t>(
        std::count_if(leases.begin(), leases.end(), [&](const lease& l) { return l.name == name && l.token == 0; }));
  }
  /// Returns {outcome, lease id, token, position} or nullopt for an error.
  std::optional<std::vector<std::uint64_t>> acquire(const std::string& name, std::uint64_t ttl, bool wait) {
    if (ttl < options.min_ttl_ms || ttl > options.max_ttl_ms) return std::nullopt;
    lease* h = holder(name);
    if (h != nullptr && !wait) return std::vector<std::uint64_t>{2, 0, 0, 0};
    if (h != nullptr && waiters(name) >= options.max_waiters_per_lock) return std::nullopt;
    if (leases.size() >= options.max_leases) return std::nullopt;
    lease l{next_id++, name, ttl, now + life(ttl), h == nullptr ? ++last_token : 0, true};
    leases.push_back(l);
    return std::vector<std::uint64_t>{h == nullptr ? 0u : 1u, l.id, l.token, h == nullptr ? 0 : position(l)};
  }
  /// Removes `id`; if it held, promotes the oldest waiter. Returns the grant, if any.
  std::vector<grant> end(lease_id id) {
    const auto it = std::find_if(leases.begin(), leases.end(), [&](const lease& l) { return l.id == id; });
    const lease gone = *it;
    leases.erase(it);
    if (gone.token == 0) return {};
    for (auto& l : leases) {
      if (l.name == gone.name) {  // creation order: the first one left is the oldest waiter
        l.token = ++last_token;
        l.expiry = now + life(l.ttl);
        l.pending = true;
        return {grant{l.name, l.id, l.token}};
      }
    }
    return {};
  }
  std::vector<grant> tick(std::uint64_t elapsed, bool restart) {
    std::vector<grant> out;
    if (restart) {
      for (auto& l : leases) {
        l.expiry = std::max(l.expiry, now + life(l.ttl));
        l.pending = false;
      }
      return out;
    }
    now += elapsed;
    for (auto& l : leases) {
      if (l.pending) l.expiry = now + life(l.ttl);
      l.pending = false;
    }
    std::vector<lease> due;
    for (const auto& l : leases) {
      if (l.expiry <= now) due.push_back(l);
    }
    std::sort(due.begin(), due.end(), [](const lease& a, const lease& b) {
      return a.expiry != b.expiry ? a.expiry < b.expiry : a.id < b.id;
    });
    for (const auto& l : due) {
      if (l.token == 0) end(l.id);
    }
    for (const auto& l : due) {
      if (l.token != 0) {
        for (auto& g : end(l.id)) out.push_back(g);
      }
    }
    return out;
  }
};

struct run_checks {
  std::uint64_t seed;
  std::uint64_t highest_token = 0;
  std::map<std::string, lease_id> last_holder;      // FIFO
  std::map<lease_id, std::uint64_t> renewed_at;     // no early expiry: the tick after a renewal
  std::set<lease_id> pending;                       // renewed, waiting for the next tick's time
  std::map<lease_id, std::uint64_t> lifetime;

  void granted(const grant& g) {
    BOOST_REQUIRE_MESSAGE(g.token > highest_token, "seed " << seed << ": token " << g.token << " not above " << highest_token);
    highest_token = g.token;
    auto& prev = last_holder[g.name];
    BOOST_REQUIRE_MESSAGE(g.lease > prev, "seed " << seed << ": lock " << g.name << " went to lease " << g.lease
                                                  << " after lease " << prev << " (not first come first served)");
    prev = g.lease;
  }
  void ended_by_expiry(const lease_info& l, std::uint64_t now) {
    BOOST_REQUIRE_MESSAGE(now >= renewed_at.at(l.id) + lifetime.at(l.id),
                          "seed " << seed << ": lease " << l.id << " expired early at " << now);
  }
};

void run_seed(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng); };
  lock_options options;
  options.max_leases = 1 + pick(40);
  options.max_waiters_per_lock = 1 + pick(6);
  options.drift_ppm = pick(3) * 10'000;
  lock_table a(options);
  lock_table b(options);
  model m;
  m.options = options;
  run_checks c{seed};
  const std::vector<std::string> names = {"a", "b", "c"};
  auto any_lease = [&]() -> lease_id { return 1 + pick(m.next_id + 1); };  // live, ended or never made

  for (int step = 0; step < 2000; ++step) {
    const auto what = pick(100);
    if (what < 30) {
      const auto& name = names[pick(names.size())];
      const std::uint64_t ttl = std::vector<std::uint64_t>{50, 100, 300, 1000, 5000}[pick(5)];
      const bool wait = pick(3) != 0;
      auto ra = a.acquire(name, ttl, wait);
      auto rb = b.acquire(name, ttl, wait);
      auto rm = m.acquire(name, ttl, wait);
      BOOST_REQUIRE_MESSAGE(ra.ok() == rm.has_value(), "seed " << seed << " step " << step << ": acquire ok differs");
      BOOST_REQUIRE(rb.ok() == ra.ok());
      if (ra.ok()) {
        BOOST_REQUIRE((*ra == *rb));
        const std::vector<std::uint64_t> got{static_cast<std::uint64_t>(ra->outcome), ra->lease.id, ra->lease.token,
                                             ra->lease.position};
        BOOST_REQUIRE_MESSAGE(got == *rm, "seed " << seed << " step " << step << ": acquire answers differ");
        if (ra->outcome != acquire_outcome::held) {
          c.pending.insert(ra->lease.id);
          c.lifetime[ra->lease.id] = m.life(ttl);
        }
        if (ra->outcome == acquire_outcome::granted) c.granted(grant{name, ra->lease.id, ra->lease.token});
      }
    } else if (what < 55) {
      const lease_id id = any_lease();
      auto ra = a.keep_alive(id);
      auto rb = b.keep_alive(id);
      auto* ml = m.find(id);
      BOOST_REQUIRE_MESSAGE(ra.ok() == (ml != nullptr), "seed " << seed << " step " << step << ": keep-alive differs");
      BOOST_REQUIRE(rb.ok() == ra.ok());
      if (ml != nullptr) {
        ml->expiry = m.now + m.life(ml->ttl);
        ml->pending = true;
        c.pending.insert(id);
        BOOST_REQUIRE_EQUAL(ra->expiry_ms, ml->expiry);
        BOOST_REQUIRE_EQUAL(ra->token, ml->token);
        BOOST_REQUIRE_EQUAL(ra->position, ml->token == 0 ? m.position(*ml) : 0);
      }
    } else if (what < 70) {
      const lease_id id = any_lease();
      auto ra = a.release(id);
      auto rb = b.release(id);
      BOOST_REQUIRE_MESSAGE(ra.ok() == (m.find(id) != nullptr), "seed " << seed << " step " << step << ": release differs");
      BOOST_REQUIRE(rb.ok() == ra.ok());
      if (ra.ok()) {
        BOOST_REQUIRE((*ra == *rb));
        const auto grants = m.end(id);
        BOOST_REQUIRE_MESSAGE(ra->grants == grants, "seed " << seed << " step " << step << ": release grants differ");
        for (const auto& g : grants) {
          c.pending.insert(g.lease);
          c.granted(g);
        }
      }
    } else if (what < 97) {
      const bool restart = pick(20) == 0;
      const std::uint64_t elapsed = pick(400);
      const auto ta = a.tick(elapsed, restart);
      BOOST_REQUIRE((ta == b.tick(elapsed, restart)));
      const auto grants = m.tick(elapsed, restart);
      BOOST_REQUIRE_MESSAGE(ta.grants == grants, "seed " << seed << " step " << step << ": tick grants differ");
      if (restart) {
        for (const auto& l : m.leases) c.renewed_at[l.id] = m.now;
      } else {
        for (const auto id : c.pending) c.renewed_at[id] = m.now;
      }
      c.pending.clear();
      for (const auto& e : ta.ended) c.ended_by_expiry(e, m.now);
      for (const auto& g : grants) {
        c.pending.insert(g.lease);
        c.granted(g);
      }
    } else {
      // One replica is rebuilt from the other's snapshot (a follower installing a snapshot).
      lock_table fresh(options);
      BOOST_REQUIRE(fresh.restore(a.snapshot()).ok());
      b = std::move(fresh);
    }
    BOOST_REQUIRE_MESSAGE(a.check_invariants().empty(), "seed " << seed << " step " << step << ": " << a.check_invariants());
    BOOST_REQUIRE_MESSAGE(a.snapshot() == b.snapshot(), "seed " << seed << " step " << step << ": replicas differ");
    BOOST_REQUIRE_EQUAL(a.lease_count(), m.leases.size());
    BOOST_REQUIRE_EQUAL(a.now_ms(), m.now);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_lock_table_matches_its_model_and_keeps_its_promises) {
  const auto seeds = troupe::testing::seeds_from_env({1, 200});
  BOOST_TEST_MESSAGE("seeds " << seeds.first << ".." << seeds.last << " (TROUPE_SEED=n or TROUPE_SEEDS=a..b)");
  for (std::uint64_t seed = seeds.first; seed <= seeds.last; ++seed) run_seed(seed);
}
