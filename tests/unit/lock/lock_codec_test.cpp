// The lock service's payloads (examples/lock/lock_codec.hpp) and the tick clock (tick_clock.hpp).
#include <boost/test/unit_test.hpp>

#include "examples/lock/lock_codec.hpp"
#include "examples/lock/tick_clock.hpp"

namespace {
using namespace troupe::lock;
}  // namespace

BOOST_AUTO_TEST_SUITE(lock_codec)

BOOST_AUTO_TEST_CASE(every_request_kind_round_trips) {
  for (const auto& r : {lock_request{lock_op::acquire, "db", 2000, true, 0, 0, false},
                        lock_request{lock_op::keep_alive, "", 0, false, 42, 0, false},
                        lock_request{lock_op::release, "db", 0, false, 43, 0, false},
                        lock_request{lock_op::tick, "", 0, false, 0, 250, true},
                        lock_request{lock_op::status, "a/b", 0, false, 0, 0, false},
                        lock_request{lock_op::lease, "", 0, false, 9, 0, false}}) {
    auto back = decode_request(encode_request(r));
    BOOST_REQUIRE(back.ok());
    BOOST_TEST((*back == r));
  }
}

BOOST_AUTO_TEST_CASE(answers_round_trip_with_their_parts) {
  lock_table t;
  const auto a = t.acquire("db", 1000, false);
  const auto b = t.acquire("db", 2000, true);
  BOOST_REQUIRE(a.ok() && b.ok());
  lock_answer acquired;
  acquired.op = lock_op::acquire;
  acquired.acquired = *b;
  lock_answer status;
  status.op = lock_op::status;
  status.status = t.status("db");
  lock_answer gone;
  gone.op = lock_op::keep_alive;
  gone.found = false;
  lock_answer tick;
  tick.op = lock_op::tick;
  tick.tick = tick_summary{2, 1, 5000};
  lock_answer refused;
  refused.op = lock_op::acquire;
  refused.found = false;
  refused.refusal = "the lease table is full";
  for (const auto& x : {acquired, status, gone, tick, refused}) {
    auto back = decode_answer(encode_answer(x));
    BOOST_REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.err().message));
    BOOST_TEST((*back == x));
  }
  BOOST_TEST(status.status.waiters.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bytes_that_do_not_decode_are_errors_never_throws) {
  const std::string good = encode_request({lock_op::acquire, "db", 1000, true, 0, 0, false});
  for (std::size_t n = 0; n < good.size(); ++n) BOOST_TEST(!decode_request(good.substr(0, n)).ok());
  BOOST_TEST(!decode_request(good + "x").ok());
  std::string bad_op = good;
  bad_op[0] = 9;
  BOOST_TEST(!decode_request(bad_op).ok());
  std::string bad_bool = good;
  bad_bool[bad_bool.size() - 8] = 2;
  BOOST_TEST(!decode_request(bad_bool).ok());

  lock_table t;
  (void)t.acquire("db", 1000, false);
  (void)t.acquire("db", 1000, true);
  lock_answer status;
  status.op = lock_op::status;
  status.status = t.status("db");
  const auto answer = encode_answer(status);
  for (std::size_t n = 0; n < answer.size(); ++n) BOOST_TEST(!decode_answer(answer.substr(0, n)).ok());
  BOOST_TEST(!decode_answer(answer + "y").ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lock_tick_clock)

BOOST_AUTO_TEST_CASE(ticks_measure_from_the_last_committed_proposal_and_restart_after_any_failure) {
  tick_clock c;
  auto t = c.next(1000);
  BOOST_TEST(t.restart);  // the first tick of a leader counts no time
  BOOST_TEST(t.elapsed_ms == 0u);
  c.committed();
  t = c.next(1200);
  BOOST_TEST(!t.restart);
  BOOST_TEST(t.elapsed_ms == 200u);
  c.committed();
  t = c.next(1450);
  BOOST_TEST(t.elapsed_ms == 250u);
  c.failed();  // not leader any more, or the outcome is unknown
  t = c.next(5000);
  BOOST_TEST(t.restart);
  BOOST_TEST(t.elapsed_ms == 0u);
  c.failed();
  t = c.next(6000);
  BOOST_TEST(t.restart);
  c.committed();
  t = c.next(6300);
  BOOST_TEST(!t.restart);
  BOOST_TEST(t.elapsed_ms == 300u);  // from the restart's proposal, not from 1450
}

BOOST_AUTO_TEST_SUITE_END()
