// The lock service over bytes (examples/lock/lock_service.hpp, lock_codec.hpp): payloads round trip,
// commands and queries land on the right side, bad bytes are errors, never throws.
#include <boost/test/unit_test.hpp>

#include "examples/lock/lock_service.hpp"

namespace {

using namespace troupe::lock;

lock_answer command(lock_service& s, const lock_request& r, std::uint64_t index) {
  auto bytes = s.apply(troupe::replicated::apply_context{index, 7, index}, encode_request(r));
  BOOST_REQUIRE_MESSAGE(bytes.ok(), (bytes.ok() ? "" : bytes.err().message));
  auto a = decode_answer(*bytes);
  BOOST_REQUIRE(a.ok());
  BOOST_TEST((a->op == r.op));
  return *a;
}

lock_answer query(const lock_service& s, const lock_request& r) {
  auto bytes = s.query(encode_request(r));
  BOOST_REQUIRE_MESSAGE(bytes.ok(), (bytes.ok() ? "" : bytes.err().message));
  auto a = decode_answer(*bytes);
  BOOST_REQUIRE(a.ok());
  return *a;
}

struct counting_observer final : lock_observer {
  lock_stats last;
  std::size_t held = 0;
  std::size_t leases = 0;
  int calls = 0;
  void changed(const lock_table& t) override {
    last = t.stats();
    held = t.held_count();
    leases = t.lease_count();
    ++calls;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(lock_service_bytes)

BOOST_AUTO_TEST_CASE(acquire_keep_alive_status_and_release_through_bytes) {
  auto observer = std::make_shared<counting_observer>();
  lock_service s({}, observer);
  auto a = command(s, {lock_op::acquire, "db", 1000, false, 0, 0, false}, 1);
  BOOST_TEST((a.acquired.outcome == acquire_outcome::granted));
  BOOST_TEST(a.acquired.lease.token == 1u);
  auto b = command(s, {lock_op::acquire, "db", 1000, true, 0, 0, false}, 2);
  BOOST_TEST((b.acquired.outcome == acquire_outcome::queued));
  BOOST_TEST(b.acquired.holder == a.acquired.lease.id);
  BOOST_TEST(observer->leases == 2u);  // the holder and the waiter: what the lock clock ticks for

  auto st = query(s, {lock_op::status, "db", 0, false, 0, 0, false});
  BOOST_REQUIRE(st.status.holder.has_value());
  BOOST_TEST(st.status.holder->id == a.acquired.lease.id);
  BOOST_REQUIRE_EQUAL(st.status.waiters.size(), 1u);
  BOOST_TEST(st.status.waiters[0].id == b.acquired.lease.id);

  (void)command(s, {lock_op::tick, "", 0, false, 0, 0, false}, 3);  // stamps the two renewals
  auto t = command(s, {lock_op::tick, "", 0, false, 0, 2000, false}, 3);
  BOOST_TEST(t.tick.ended == 2u);  // both leases ran out
  BOOST_TEST(t.tick.now_ms == 2000u);
  auto k = command(s, {lock_op::keep_alive, "", 0, false, a.acquired.lease.id, 0, false}, 4);
  BOOST_TEST(!k.found);
  auto l = query(s, {lock_op::lease, "", 0, false, a.acquired.lease.id, 0, false});
  BOOST_TEST(!l.found);

  auto c = command(s, {lock_op::acquire, "db", 1000, false, 0, 0, false}, 5);
  BOOST_TEST(c.acquired.lease.token == 2u);
  k = command(s, {lock_op::keep_alive, "", 0, false, c.acquired.lease.id, 0, false}, 6);
  BOOST_TEST(k.found);
  BOOST_TEST(k.lease.token == 2u);
  auto wrong = command(s, {lock_op::release, "other", 0, false, c.acquired.lease.id, 0, false}, 7);
  BOOST_TEST(!wrong.found);  // the name must match the lease's lock
  BOOST_TEST(wrong.refusal.find("is on lock 'db'") != std::string::npos);
  auto r = command(s, {lock_op::release, "db", 0, false, c.acquired.lease.id, 0, false}, 7);
  BOOST_TEST(r.found);
  BOOST_TEST(!query(s, {lock_op::status, "db", 0, false, 0, 0, false}).status.holder.has_value());

  BOOST_TEST(observer->calls == 9);
  BOOST_TEST(observer->last.grants == 2u);
  BOOST_TEST(observer->last.expirations == 2u);
  BOOST_TEST(observer->last.releases == 1u);
  BOOST_TEST(observer->held == 0u);
  BOOST_TEST(observer->leases == 0u);  // nothing left to expire: the lock clock may stop ticking
}

BOOST_AUTO_TEST_CASE(a_full_table_is_a_refusal_and_a_bad_request_an_error) {
  lock_options o;
  o.max_leases = 1;
  lock_service s(o);
  (void)command(s, {lock_op::acquire, "a", 1000, false, 0, 0, false}, 1);
  auto full = command(s, {lock_op::acquire, "b", 1000, false, 0, 0, false}, 2);
  BOOST_TEST(!full.found);
  BOOST_TEST(!full.refusal.empty());
  auto bad_ttl = s.apply({3, 7, 3}, encode_request({lock_op::acquire, "b", 1, false, 0, 0, false}));
  BOOST_TEST(!bad_ttl.ok());
  auto query_as_command = s.apply({4, 7, 4}, encode_request({lock_op::status, "a", 0, false, 0, 0, false}));
  BOOST_TEST(!query_as_command.ok());
  BOOST_TEST(!s.query(encode_request({lock_op::acquire, "a", 1000, false, 0, 0, false})).ok());
}

BOOST_AUTO_TEST_CASE(bytes_that_do_not_decode_are_errors_never_throws) {
  lock_service s;
  const std::string good = encode_request({lock_op::acquire, "db", 1000, true, 0, 0, false});
  for (std::size_t n = 0; n < good.size(); ++n) {
    BOOST_TEST(!s.apply({n + 1, 7, n + 1}, good.substr(0, n)).ok());
  }
  BOOST_TEST(!s.apply({100, 7, 100}, good + "x").ok());
  std::string bad_op = good;
  bad_op[0] = 9;
  BOOST_TEST(!decode_request(bad_op).ok());
  std::string bad_bool = good;
  bad_bool[bad_bool.size() - 8] = 2;
  BOOST_TEST(!decode_request(bad_bool).ok());
  BOOST_TEST(s.table().lease_count() == 0u);

  // Answers too: every prefix of a status answer with a waiter is refused.
  lock_service t;
  (void)command(t, {lock_op::acquire, "db", 1000, false, 0, 0, false}, 1);
  (void)command(t, {lock_op::acquire, "db", 1000, true, 0, 0, false}, 2);
  const auto answer = t.query(encode_request({lock_op::status, "db", 0, false, 0, 0, false}));
  BOOST_REQUIRE(answer.ok());
  for (std::size_t n = 0; n < answer->size(); ++n) BOOST_TEST(!decode_answer(answer->substr(0, n)).ok());
}

BOOST_AUTO_TEST_CASE(snapshot_and_restore_through_the_service) {
  lock_service s;
  (void)command(s, {lock_op::acquire, "db", 1000, false, 0, 0, false}, 1);
  (void)command(s, {lock_op::acquire, "db", 1000, true, 0, 0, false}, 2);
  auto observer = std::make_shared<counting_observer>();
  lock_service copy({}, observer);
  BOOST_REQUIRE(copy.restore(s.snapshot()).ok());
  // A restored replica's observer describes the restored state at once (a node that starts from a
  // snapshot and becomes leader must tick for the leases it holds).
  BOOST_TEST(observer->calls == 1);
  BOOST_TEST(observer->leases == 2u);
  BOOST_TEST(observer->held == 1u);
  BOOST_TEST(copy.snapshot() == s.snapshot());
  BOOST_TEST((query(copy, {lock_op::status, "db", 0, false, 0, 0, false}) ==
              query(s, {lock_op::status, "db", 0, false, 0, 0, false})));
  BOOST_TEST(!copy.restore("garbage").ok());
  BOOST_TEST(observer->calls == 1);  // a refused image changed nothing
  BOOST_TEST(observer->leases == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

