// Seeded random simulation of the reliable application lane: traffic both ways over a connection
// that is cut at random points (frames in flight lost), resumed through real handshakes, switched
// to a second connection whose handshake ran earlier (stale resume points, as when both nodes dial
// at once), and, in the second test, a peer that restarts. Rerun one seed with
// TROUPE_LINK_SEED=<seed>.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "tests/unit/link/link_pair.hpp"

namespace troupe::link::test {
namespace {

/// The seeds to run: TROUPE_LINK_SEED=<s> reruns one; TROUPE_LINK_SEED_SWEEP=<n> runs 1..n (CI
/// sweep); otherwise `count` fixed seeds.
std::vector<std::uint64_t> seeds(std::uint64_t count) {
  if (const char* env = std::getenv("TROUPE_LINK_SEED")) return {std::strtoull(env, nullptr, 10)};
  std::vector<std::uint64_t> v;
  if (const char* env = std::getenv("TROUPE_LINK_SEED_SWEEP")) {
    const std::uint64_t n = std::strtoull(env, nullptr, 10);
    for (std::uint64_t i = 1; i <= n; ++i) v.push_back(i);
    return v;
  }
  for (std::uint64_t i = 1; i <= count; ++i) v.push_back(i * 7919);
  return v;
}

peer_link_config sim_config() {
  peer_link_config c;
  c.self_incarnation = 1;                                        // replaced by link_pair
  c.lanes.limits[index_of(lane::application)] = {64, 1u << 20};  // small: busy happens
  c.ack_every_deliveries = 8;
  c.ping_interval = std::chrono::hours(1);  // no liveness noise: time barely moves here
  c.idle_timeout = std::chrono::hours(2);
  return c;
}

/// One direction's sender: the next message to offer and how often it was refused.
struct traffic {
  std::int64_t next = 0;
  std::int64_t total = 0;
  int busy = 0;
  std::vector<std::int64_t> accepted;  ///< values accepted by send, in order

  void offer(sim_side& from, const char* dst) {
    if (next >= total) return;
    auto r = from.link->send(
        lane::application,
        outbound_message{dst, "sim", payload_of(next), static_cast<std::uint64_t>(next), 0});
    if (r.ok()) {
      accepted.push_back(next++);
    } else {
      BOOST_REQUIRE_MESSAGE(r.err().code == errc::busy, r.err().message);
      ++busy;  // the caller keeps the message and offers it again later
    }
  }
};

/// One random step: send, write, receive, tick, cut or reconnect.
void random_step(link_pair& p, std::mt19937_64& rng, traffic& ab, traffic& ba) {
  std::uniform_int_distribution<int> pct(0, 99);
  std::uniform_int_distribution<std::size_t> small(0, 6);
  const int action = pct(rng);
  p.now += std::chrono::microseconds(100);
  if (!p.connected()) {
    if (action < 30) {
      p.prepared.reset();  // a handshake from before the cut is for a connection that died
      BOOST_REQUIRE(p.connect());
    } else if (action < 65)
      ab.offer(p.a, "b");
    else
      ba.offer(p.b, "a");
    return;
  }
  if (action < 25)
    ab.offer(p.a, "b");
  else if (action < 45)
    ba.offer(p.b, "a");
  else if (action < 60)
    p.pump(p.a, small(rng));
  else if (action < 72)
    p.pump(p.b, small(rng));
  else if (action < 84)
    p.deliver(p.a_to_b, p.b, small(rng));
  else if (action < 94)
    p.deliver(p.b_to_a, p.a, small(rng));
  else if (action < 96)
    p.tick();
  else if (action < 97) {
    // Both nodes dialed at once: the second connection's handshake finishes now, and the link
    // switches to it a while later, with resume points that have gone stale meanwhile.
    if (!p.prepared)
      BOOST_REQUIRE(p.prepare());
    else
      p.switch_to_prepared(small(rng), small(rng));
  } else {
    std::uniform_int_distribution<std::size_t> keep_ab(0, p.a_to_b.size());
    std::uniform_int_distribution<std::size_t> keep_ba(0, p.b_to_a.size());
    p.cut(keep_ab(rng), keep_ba(rng));
  }
}

std::vector<std::int64_t> delivered_values(const sim_side& s) {
  std::vector<std::int64_t> v;
  for (const auto& d : s.delivered) v.push_back(value_of(d.payload));
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resume_simulation_tests)

BOOST_AUTO_TEST_CASE(cut_and_resumed_connections_deliver_everything_in_order_exactly_once) {
  std::uint64_t retransmitted_all_seeds = 0;
  int busy_all_seeds = 0;
  for (std::uint64_t seed : seeds(12)) {
    std::cout << "resume simulation seed " << seed << " (rerun: TROUPE_LINK_SEED=" << seed << ")\n";
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937_64 rng(seed);
      link_pair p(sim_config());
      traffic ab;
      ab.total = 1500;
      traffic ba;
      ba.total = 1000;
      int cuts_guard = 0;
      while ((ab.next < ab.total || ba.next < ba.total) && ++cuts_guard < 2'000'000)
        random_step(p, rng, ab, ba);
      if (!p.connected()) {
        p.cut(0, 0);
        p.prepared.reset();
        BOOST_REQUIRE(p.connect());
      }
      p.settle();
      BOOST_TEST(p.a.closes.empty(), "a closed: " << p.a.last_close_detail);
      BOOST_TEST(p.b.closes.empty(), "b closed: " << p.b.last_close_detail);
      BOOST_TEST(p.a.lost.empty());
      BOOST_TEST(p.b.lost.empty());
      BOOST_TEST(delivered_values(p.b) == ab.accepted, boost::test_tools::per_element());
      BOOST_TEST(delivered_values(p.a) == ba.accepted, boost::test_tools::per_element());
      BOOST_TEST(p.a.link->stats().unacked_messages == 0u);
      BOOST_TEST(p.b.link->stats().unacked_messages == 0u);
      retransmitted_all_seeds += p.a.link->stats().retransmitted + p.b.link->stats().retransmitted;
      busy_all_seeds += ab.busy + ba.busy;
    }
  }
  // The default seeds must exercise what the test claims to (one rerun seed alone may not).
  if (std::getenv("TROUPE_LINK_SEED") == nullptr) {
    BOOST_TEST(retransmitted_all_seeds > 0u);
    BOOST_TEST(busy_all_seeds > 0);
  }
}

BOOST_AUTO_TEST_CASE(a_restarting_peer_gets_every_message_once_or_it_is_reported_lost) {
  for (std::uint64_t seed : seeds(8)) {
    std::cout << "restart simulation seed " << seed << " (rerun: TROUPE_LINK_SEED=" << seed
              << ")\n";
    BOOST_TEST_CONTEXT("seed " << seed) {
      std::mt19937_64 rng(seed);
      link_pair p(sim_config());
      traffic ab;
      ab.total = 1500;
      traffic ba;  // b sends nothing: its restarts are about a's buffer
      std::uint64_t next_incarnation = 201;
      // What b's old incarnations delivered, and what a's buffer held unacked at each restart.
      std::multiset<std::int64_t> delivered_by_dead;
      std::set<std::uint64_t> unacked_at_restart;
      std::uniform_int_distribution<int> pct(0, 999);
      int restarts = 0;
      while (ab.next < ab.total) {
        if (pct(rng) < 3) {
          for (const auto& d : p.b.delivered) delivered_by_dead.insert(value_of(d.payload));
          p.b.delivered.clear();
          const std::size_t lost_before = p.a.lost.size();
          p.cut(0, 0);
          p.prepared.reset();
          p.make(p.b, next_incarnation++);
          ++restarts;
          // Everything a still buffers must come back as lost when it meets the new b, unless a
          // never met the old b (then its queued messages simply go to the new one).
          const bool had_met = p.a.link->peer_incarnation() != 0;
          const auto buffered = p.a.link->stats().unacked_messages;
          BOOST_REQUIRE(p.connect());
          BOOST_TEST(p.a.lost.size() - lost_before == (had_met ? buffered : 0u));
          for (std::size_t i = lost_before; i < p.a.lost.size(); ++i)
            unacked_at_restart.insert(p.a.lost[i].message_id);
          continue;
        }
        random_step(p, rng, ab, ba);
      }
      if (!p.connected()) {
        p.cut(0, 0);
        p.prepared.reset();
        BOOST_REQUIRE(p.connect());
      }
      p.settle();
      BOOST_TEST(restarts > 0);
      BOOST_TEST(p.a.closes.empty(), "a closed: " << p.a.last_close_detail);
      BOOST_TEST(p.b.closes.empty(), "b closed: " << p.b.last_close_detail);
      // The live incarnation delivered in order, once each.
      auto live = delivered_values(p.b);
      BOOST_TEST(std::is_sorted(live.begin(), live.end()));
      BOOST_TEST((std::adjacent_find(live.begin(), live.end()) == live.end()));
      // Every accepted message has exactly one fate: delivered (once) by the live incarnation,
      // delivered and acknowledged by a dead one, or reported lost (a dead one may have delivered
      // it without acknowledging: "maybe lost"). Nothing vanished, nothing was reported twice.
      std::set<std::int64_t> live_set(live.begin(), live.end());
      std::set<std::uint64_t> lost_ids;
      for (const auto& l : p.a.lost) BOOST_TEST(lost_ids.insert(l.message_id).second);
      for (auto v : ab.accepted) {
        const bool in_live = live_set.contains(v);
        const bool lost = lost_ids.contains(static_cast<std::uint64_t>(v));
        const auto dead = delivered_by_dead.count(v);
        BOOST_TEST(dead <= 1u, "message " << v << " delivered " << dead << " times by dead ones");
        const bool acked_by_dead = dead == 1 && !lost;
        BOOST_TEST((int{in_live} + int{lost} + int{acked_by_dead} == 1),
                   "message " << v << " live=" << in_live << " lost=" << lost << " dead=" << dead);
      }
      BOOST_TEST(lost_ids == unacked_at_restart);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace troupe::link::test
