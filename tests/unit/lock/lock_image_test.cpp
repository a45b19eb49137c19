// The lock table's snapshot image (examples/lock/lock_image.cpp): round trips give the same state
// and the same future answers; damaged images are refused and change nothing.
#include <boost/test/unit_test.hpp>

#include <vector>

#include "consensus/core/snapshot_bytes.hpp"
#include "examples/lock/lock_table.hpp"

namespace {

using namespace troupe::lock;

/// Holders, waiters, expired and released leases, a forgotten lock, some lock time.
lock_table busy_table() {
  lock_table t;
  (void)t.acquire("db", 1000, false);
  (void)t.acquire("db", 2000, true);
  (void)t.acquire("db", 3000, true);
  (void)t.acquire("cache", 5000, false);
  (void)t.acquire("gone", 5000, false);
  (void)t.release(5);
  (void)t.tick(400, false);
  (void)t.acquire("cache", 100, true);
  (void)t.tick(700, false);  // the db holder and the cache waiter expire
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lock_image)

BOOST_AUTO_TEST_CASE(a_restored_table_has_the_same_state_and_gives_the_same_answers) {
  lock_table original = busy_table();
  BOOST_REQUIRE_EQUAL(original.check_invariants(), "");
  const std::string image = original.snapshot();
  lock_table copy;
  (void)copy.acquire("unrelated", 1000, false);  // restore replaces whatever was there
  const auto st = copy.restore(image);
  BOOST_REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.err().message));
  BOOST_TEST(copy.snapshot() == image);
  BOOST_TEST(copy.check_invariants() == "");
  BOOST_TEST(copy.now_ms() == original.now_ms());
  BOOST_TEST(copy.last_token() == original.last_token());
  BOOST_TEST((copy.status("db") == original.status("db")));
  BOOST_TEST((copy.status("unrelated") == original.status("unrelated")));

  // The same commands from here give the same answers on both.
  const auto a1 = original.acquire("db", 1000, true);
  const auto a2 = copy.acquire("db", 1000, true);
  BOOST_REQUIRE(a1.ok() && a2.ok());
  BOOST_TEST((*a1 == *a2));
  BOOST_TEST((original.tick(5000, false) == copy.tick(5000, false)));
  BOOST_TEST((original.acquire("new", 1000, false)->lease == copy.acquire("new", 1000, false)->lease));
  BOOST_TEST(original.snapshot() == copy.snapshot());
}

BOOST_AUTO_TEST_CASE(an_empty_table_round_trips) {
  lock_table t;
  lock_table u;
  BOOST_REQUIRE(u.restore(t.snapshot()).ok());
  BOOST_TEST(u.snapshot() == t.snapshot());
  BOOST_TEST(u.acquire("a", 1000, false)->lease.token == 1u);
}

BOOST_AUTO_TEST_CASE(truncated_extended_and_foreign_images_are_refused_and_change_nothing) {
  const std::string image = busy_table().snapshot();
  lock_table t;
  (void)t.acquire("mine", 1000, false);
  const std::string before = t.snapshot();
  for (std::size_t n = 0; n < image.size(); ++n) {
    const auto st = t.restore(std::string_view(image).substr(0, n));
    BOOST_REQUIRE_MESSAGE(!st.ok(), "a prefix of " << n << " bytes was accepted");
    BOOST_TEST((st.err().code == troupe::errc::corrupt));
  }
  BOOST_TEST(!t.restore(image + "x").ok());
  BOOST_TEST(!t.restore("not a lock image at all, but long enough to be read").ok());
  BOOST_TEST(t.snapshot() == before);
}

namespace {

/// An image by hand: one lease (id 1, "db", holding with token `token`), one lock "db" whose holder
/// is `holder` and whose line is `waiters`.
std::string hand_image(std::uint64_t token, std::uint64_t holder, std::vector<std::uint64_t> waiters,
                       std::uint64_t next_lease = 2) {
  troupe::raft::snapshot_writer out;
  out.bytes("troupe-lock-1");
  out.u64(0);           // now
  out.u64(next_lease);  // next lease
  out.u64(5);           // last token
  out.u64(1);           // one lease:
  out.u64(1);
  out.bytes("db");
  out.u64(1000);
  out.u64(1010);
  out.u64(token);
  out.u64(0);           // not provisional
  out.u64(1);           // one lock:
  out.bytes("db");
  out.u64(holder);
  out.u64(waiters.size());
  for (auto w : waiters) out.u64(w);
  return out.take();
}

}  // namespace

BOOST_AUTO_TEST_CASE(images_whose_parts_contradict_each_other_are_refused) {
  lock_table t;
  BOOST_REQUIRE(t.restore(hand_image(3, 1, {})).ok());  // the well-formed one is accepted
  BOOST_TEST(t.status("db").holder->token == 3u);
  for (const auto& bad : {hand_image(3, 2, {}),        // the holder is not a lease
                          hand_image(0, 1, {}),        // the holder has no token
                          hand_image(9, 1, {}),        // a token above the last one issued
                          hand_image(3, 1, {1}),       // the holder also waits
                          hand_image(3, 1, {}, 1)}) {  // a lease id not below the next one
    lock_table u;
    const auto st = u.restore(bad);
    BOOST_TEST(!st.ok());
    if (!st.ok()) BOOST_TEST_MESSAGE(st.err().message);
  }
}

BOOST_AUTO_TEST_SUITE_END()
