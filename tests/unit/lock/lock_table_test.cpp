// The lock table (examples/lock/lock_table.hpp): grants, FIFO waiters, fencing tokens, expiry by
// lock time, keep-alive, release, the restart rule, and the limits.
#include <boost/test/unit_test.hpp>

#include "examples/lock/fenced_resource.hpp"
#include "examples/lock/lock_table.hpp"

namespace {

using namespace troupe::lock;

acquire_result must_acquire(lock_table& t, const char* name, std::uint64_t ttl, bool wait) {
  auto r = t.acquire(name, ttl, wait);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_REQUIRE_EQUAL(t.check_invariants(), "");
  return *r;
}

transition must_release(lock_table& t, lease_id id) {
  auto r = t.release(id);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_REQUIRE_EQUAL(t.check_invariants(), "");
  return *r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lock_table_behaviour)

BOOST_AUTO_TEST_CASE(a_free_lock_is_granted_with_the_first_token_and_a_full_lifetime) {
  lock_table t;
  const auto a = must_acquire(t, "db", 1000, false);
  BOOST_TEST(a.outcome == acquire_outcome::granted);
  BOOST_TEST(a.lease.id == 1u);
  BOOST_TEST(a.lease.token == 1u);
  BOOST_TEST(a.lease.state == lease_state::holding);
  // 1% drift margin (lock_options::drift_ppm): 1000 ms of TTL last 1010 ms of lock time.
  BOOST_TEST(t.lifetime_ms(1000) == 1010u);
  BOOST_TEST(t.lifetime_ms(1) == 2u);
  BOOST_TEST(a.lease.expiry_ms == 1010u);
  BOOST_TEST(t.held_count() == 1u);
  BOOST_TEST(t.stats().grants == 1u);
}

BOOST_AUTO_TEST_CASE(a_held_lock_refuses_an_acquire_that_does_not_wait_and_creates_no_lease) {
  lock_table t;
  const auto a = must_acquire(t, "db", 1000, false);
  const auto b = must_acquire(t, "db", 1000, false);
  BOOST_TEST(b.outcome == acquire_outcome::held);
  BOOST_TEST(b.holder == a.lease.id);
  BOOST_TEST(b.holder_token == a.lease.token);
  BOOST_TEST(b.lease.id == 0u);
  BOOST_TEST(t.lease_count() == 1u);
  BOOST_TEST(t.stats().refusals == 1u);
}

BOOST_AUTO_TEST_CASE(waiters_are_served_first_come_first_served_with_increasing_tokens) {
  lock_table t;
  const auto a = must_acquire(t, "db", 1000, true);
  const auto b = must_acquire(t, "db", 1000, true);
  const auto c = must_acquire(t, "db", 5000, true);
  const auto d = must_acquire(t, "db", 1000, true);
  BOOST_TEST(b.outcome == acquire_outcome::queued);
  BOOST_TEST(b.lease.position == 1u);
  BOOST_TEST(c.lease.position == 2u);
  BOOST_TEST(d.lease.position == 3u);
  BOOST_TEST(b.holder == a.lease.id);

  auto r = must_release(t, a.lease.id);
  BOOST_REQUIRE_EQUAL(r.grants.size(), 1u);
  BOOST_TEST(r.grants[0].lease == b.lease.id);
  BOOST_TEST(r.grants[0].token == 2u);
  BOOST_TEST(t.lease(c.lease.id)->position == 1u);
  BOOST_TEST(t.lease(d.lease.id)->position == 2u);

  r = must_release(t, b.lease.id);
  BOOST_TEST(r.grants.at(0).lease == c.lease.id);
  BOOST_TEST(r.grants.at(0).token == 3u);
  r = must_release(t, c.lease.id);
  BOOST_TEST(r.grants.at(0).lease == d.lease.id);
  BOOST_TEST(r.grants.at(0).token == 4u);
  r = must_release(t, d.lease.id);
  BOOST_TEST(r.grants.empty());
  BOOST_TEST(t.held_count() == 0u);
  BOOST_TEST(!t.status("db").holder.has_value());
}

BOOST_AUTO_TEST_CASE(a_holder_whose_lease_expires_loses_the_lock_and_the_next_waiter_gets_a_larger_token) {
  lock_table t;
  const auto a = must_acquire(t, "db", 1000, false);
  const auto b = must_acquire(t, "db", 3000, true);
  BOOST_TEST(t.tick(0, false).ended.empty());  // stamps both renewals at lock time 0
  auto r = t.tick(1009, false);
  BOOST_TEST(r.ended.empty());
  BOOST_TEST(t.status("db").holder->id == a.lease.id);
  r = t.tick(1, false);  // lock time 1010 = 1000 + 1% margin
  BOOST_REQUIRE_EQUAL(r.ended.size(), 1u);
  BOOST_TEST(r.ended[0].id == a.lease.id);
  BOOST_REQUIRE_EQUAL(r.grants.size(), 1u);
  BOOST_TEST(r.grants[0].lease == b.lease.id);
  BOOST_TEST(r.grants[0].token > a.lease.token);
  // The new holder gets a full lifetime from its grant.
  BOOST_TEST(t.lease(b.lease.id)->expiry_ms == 1010u + 3030u);
  BOOST_TEST(t.stats().expirations == 1u);
  // The old holder learns it lost the lock on its next keep-alive.
  auto k = t.keep_alive(a.lease.id);
  BOOST_REQUIRE(!k.ok());
  BOOST_TEST((k.err().code == troupe::errc::not_found));
  BOOST_TEST(!t.release(a.lease.id).ok());
  BOOST_TEST(t.check_invariants() == "");
}

BOOST_AUTO_TEST_CASE(keep_alive_renews_a_lease_to_a_full_lifetime_from_now) {
  lock_table t;
  const auto a = must_acquire(t, "db", 1000, false);
  for (int i = 0; i < 10; ++i) {
    BOOST_TEST(t.tick(900, false).ended.empty());
    auto k = t.keep_alive(a.lease.id);
    BOOST_REQUIRE(k.ok());
    BOOST_TEST(k->expiry_ms == t.now_ms() + 1010u);
    BOOST_TEST(k->token == a.lease.token);
  }
  // The last keep-alive counts from the next tick's time, not from the moment it was applied.
  BOOST_TEST(t.tick(50, false).ended.empty());
  BOOST_TEST(t.lease(a.lease.id)->expiry_ms == t.now_ms() + 1010u);
  BOOST_TEST(t.tick(1009, false).ended.empty());
  BOOST_TEST(t.tick(1, false).ended.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_waiter_that_stops_keeping_alive_leaves_the_line_and_is_skipped) {
  lock_table t;
  const auto a = must_acquire(t, "db", 10'000, false);
  const auto b = must_acquire(t, "db", 1000, true);
  const auto c = must_acquire(t, "db", 10'000, true);
  BOOST_TEST(t.tick(0, false).ended.empty());
  auto r = t.tick(1010, false);
  BOOST_REQUIRE_EQUAL(r.ended.size(), 1u);
  BOOST_TEST(r.ended[0].id == b.lease.id);
  BOOST_TEST(r.ended[0].state == lease_state::waiting);
  BOOST_TEST(r.grants.empty());
  BOOST_TEST(t.lease(c.lease.id)->position == 1u);
  r = must_release(t, a.lease.id);
  BOOST_TEST(r.grants.at(0).lease == c.lease.id);
}

BOOST_AUTO_TEST_CASE(when_holder_and_first_waiter_expire_together_the_lock_goes_to_a_live_waiter) {
  lock_table t;
  const auto a = must_acquire(t, "db", 1000, false);
  const auto b = must_acquire(t, "db", 1200, true);   // expires after the holder, in the same tick
  const auto c = must_acquire(t, "db", 5000, true);
  BOOST_TEST(t.tick(0, false).ended.empty());
  const auto r = t.tick(2000, false);
  BOOST_TEST(r.ended.size() == 2u);
  BOOST_REQUIRE_EQUAL(r.grants.size(), 1u);
  BOOST_TEST(r.grants[0].lease == c.lease.id);
  BOOST_TEST(!t.lease(a.lease.id).has_value());
  BOOST_TEST(!t.lease(b.lease.id).has_value());
  BOOST_TEST(t.check_invariants() == "");
}

BOOST_AUTO_TEST_CASE(a_restart_tick_counts_no_time_and_renews_every_lease_to_a_full_lifetime) {
  lock_table t;
  const auto a = must_acquire(t, "db", 1000, false);
  const auto b = must_acquire(t, "other", 60'000, false);
  BOOST_TEST(t.tick(0, false).ended.empty());
  BOOST_TEST(t.lease(a.lease.id)->expiry_ms == 1010u);
  BOOST_TEST(t.tick(900, false).ended.empty());
  const auto r = t.tick(5'000'000, true);  // the elapsed time of a restart is ignored
  BOOST_TEST(r.ended.empty());
  BOOST_TEST(t.now_ms() == 900u);
  BOOST_TEST(t.lease(a.lease.id)->expiry_ms == 900u + 1010u);
  BOOST_TEST(t.lease(b.lease.id)->expiry_ms == 900u + 60'600u);
  BOOST_TEST(t.tick(1009, false).ended.empty());
  BOOST_TEST(t.tick(1, false).ended.size() == 1u);
}

BOOST_AUTO_TEST_CASE(releasing_a_waiter_takes_it_out_of_the_line) {
  lock_table t;
  const auto a = must_acquire(t, "db", 1000, false);
  const auto b = must_acquire(t, "db", 1000, true);
  const auto c = must_acquire(t, "db", 1000, true);
  const auto r = must_release(t, b.lease.id);
  BOOST_TEST(r.grants.empty());
  BOOST_TEST(r.ended.at(0).state == lease_state::waiting);
  BOOST_TEST(t.status("db").waiters.size() == 1u);
  BOOST_TEST(must_release(t, a.lease.id).grants.at(0).lease == c.lease.id);
  BOOST_TEST(t.stats().releases == 2u);
}

BOOST_AUTO_TEST_CASE(tokens_come_from_one_counter_for_all_locks_and_survive_a_forgotten_lock) {
  lock_table t;
  const auto a = must_acquire(t, "x", 1000, false);
  const auto b = must_acquire(t, "y", 1000, false);
  BOOST_TEST(b.lease.token == a.lease.token + 1);
  must_release(t, a.lease.id);
  BOOST_TEST(t.held_count() == 1u);  // "x" is forgotten
  const auto c = must_acquire(t, "x", 1000, false);
  BOOST_TEST(c.lease.token == 3u);
  BOOST_TEST(t.last_token() == 3u);
}

BOOST_AUTO_TEST_CASE(status_shows_holder_token_expiry_and_waiters_in_order) {
  lock_table t;
  const auto a = must_acquire(t, "db", 2000, false);
  const auto b = must_acquire(t, "db", 1000, true);
  const auto c = must_acquire(t, "db", 1000, true);
  t.tick(500, false);  // stamps the three renewals at lock time 500
  const auto s = t.status("db");
  BOOST_TEST(s.now_ms == 500u);
  BOOST_REQUIRE(s.holder.has_value());
  BOOST_TEST(s.holder->id == a.lease.id);
  BOOST_TEST(s.holder->token == 1u);
  BOOST_TEST(s.holder->expiry_ms == 500u + 2020u);
  BOOST_REQUIRE_EQUAL(s.waiters.size(), 2u);
  BOOST_TEST(s.waiters[0].id == b.lease.id);
  BOOST_TEST(s.waiters[1].id == c.lease.id);
  BOOST_TEST(s.waiters[1].position == 2u);
  BOOST_TEST(!t.status("free").holder.has_value());
}

BOOST_AUTO_TEST_CASE(bad_requests_and_full_tables_are_refused_without_changing_anything) {
  lock_options o;
  o.max_leases = 3;
  o.max_waiters_per_lock = 1;
  o.max_name_bytes = 8;
  lock_table t(o);
  BOOST_TEST((t.acquire("", 1000, false).err().code == troupe::errc::invalid_argument));
  BOOST_TEST((t.acquire("db", 99, false).err().code == troupe::errc::invalid_argument));
  BOOST_TEST((t.acquire("db", o.max_ttl_ms + 1, false).err().code == troupe::errc::invalid_argument));
  BOOST_TEST((t.acquire("123456789", 1000, false).err().code == troupe::errc::too_large));
  const auto before = t.snapshot();
  must_acquire(t, "db", 1000, false);
  must_acquire(t, "db", 1000, true);
  BOOST_TEST((t.acquire("db", 1000, true).err().code == troupe::errc::too_large));  // line full
  must_acquire(t, "x", 1000, false);
  BOOST_TEST((t.acquire("y", 1000, false).err().code == troupe::errc::too_large));  // table full
  BOOST_TEST(t.lease_count() == 3u);
  BOOST_TEST(t.check_invariants() == "");
  BOOST_TEST(before != t.snapshot());
  BOOST_TEST((t.keep_alive(77).err().code == troupe::errc::not_found));
}

BOOST_AUTO_TEST_CASE(a_renewal_counts_from_the_next_tick_so_lock_time_lag_never_shortens_a_lease) {
  lock_table t;
  BOOST_TEST(t.tick(700, false).ended.empty());
  // Lock time is 700 but the leader's clock may be far later (the next tick is on its way).
  const auto a = must_acquire(t, "db", 1000, false);
  BOOST_TEST(a.lease.expiry_ms == 700u + 1010u);  // provisional
  // The next tick says 1000 ms passed since the previous one: the lease counts from here.
  BOOST_TEST(t.tick(1000, false).ended.empty());
  BOOST_TEST(t.lease(a.lease.id)->expiry_ms == 1700u + 1010u);
  BOOST_TEST(t.tick(1009, false).ended.empty());
  BOOST_TEST(t.tick(1, false).ended.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_fenced_resource_refuses_the_late_write_of_a_holder_whose_lease_expired) {
  lock_table t;
  fenced_resource disk;
  const auto a = must_acquire(t, "disk", 1000, false);
  BOOST_TEST(disk.write(a.lease.token, "a1"));
  BOOST_TEST(disk.write(a.lease.token, "a2"));  // the same holder again
  // A pauses past its TTL; B was waiting and gets the lock.
  const auto b = must_acquire(t, "disk", 5000, true);
  BOOST_TEST(t.tick(0, false).ended.empty());
  const auto r = t.tick(1010, false);
  BOOST_REQUIRE_EQUAL(r.grants.size(), 1u);
  BOOST_TEST(r.grants[0].lease == b.lease.id);
  BOOST_TEST(disk.write(r.grants[0].token, "b1"));
  // A wakes up, still believing it holds the lock, and writes: refused.
  BOOST_TEST(!disk.write(a.lease.token, "a3"));
  BOOST_TEST(disk.value() == "b1");
  BOOST_TEST(disk.refused() == 1u);
  BOOST_TEST(disk.highest_token() == r.grants[0].token);
}

BOOST_AUTO_TEST_SUITE_END()
