// session_table: the at-most-once rules of Raft thesis 6.3 and deterministic, bounded eviction.
#include <boost/test/unit_test.hpp>

#include "examples/kv/session_table.hpp"

namespace troupe::kv {
namespace {

BOOST_AUTO_TEST_SUITE(session_table_tests)

BOOST_AUTO_TEST_CASE(only_a_first_request_opens_a_session) {
  session_table t;
  BOOST_TEST((t.check(7, 1) == session_verdict::fresh));
  BOOST_TEST((t.check(7, 2) == session_verdict::expired));  // we cannot know what happened to 1
}

BOOST_AUTO_TEST_CASE(the_last_request_is_a_duplicate_older_ones_are_stale_newer_ones_fresh) {
  session_table t;
  t.record(7, 1, "r1", 10);
  BOOST_TEST((t.check(7, 1) == session_verdict::duplicate));
  BOOST_TEST(t.cached_reply(7) == "r1");
  BOOST_TEST((t.check(7, 2) == session_verdict::fresh));
  BOOST_TEST((t.check(7, 9) == session_verdict::fresh));  // a gap: the client gave up on some
  t.record(7, 9, "r9", 11);
  BOOST_TEST((t.check(7, 1) == session_verdict::stale));
  BOOST_TEST((t.check(7, 8) == session_verdict::stale));
  BOOST_TEST((t.check(7, 9) == session_verdict::duplicate));
  BOOST_TEST(t.cached_reply(7) == "r9");
  BOOST_TEST(t.last_sequence(7) == 9u);
  BOOST_TEST(t.reply_bytes() == 2u);
}

BOOST_AUTO_TEST_CASE(the_least_recently_used_session_is_evicted_and_then_expired) {
  session_table t(session_limits{2, 1 << 20, 10});
  t.record(1, 1, "a", 1);
  t.record(2, 1, "b", 2);
  t.touch(1, 3);  // client 1 retried: now 2 is the least recently used
  t.record(3, 1, "c", 4);
  BOOST_TEST(t.size() == 2u);
  BOOST_TEST(t.evictions() == 1u);
  BOOST_TEST((t.check(1, 1) == session_verdict::duplicate));
  BOOST_TEST((t.check(3, 1) == session_verdict::duplicate));
  // Client 2's retry of its first request must not be applied a second time.
  BOOST_TEST((t.check(2, 1) == session_verdict::expired));
  BOOST_TEST((t.check(2, 2) == session_verdict::expired));
}

BOOST_AUTO_TEST_CASE(cached_reply_bytes_are_bounded_too) {
  session_table t(session_limits{100, 10, 10});
  t.record(1, 1, std::string(6, 'a'), 1);
  t.record(2, 1, std::string(6, 'b'), 2);  // 12 > 10: client 1 goes
  BOOST_TEST(t.size() == 1u);
  BOOST_TEST(t.reply_bytes() == 6u);
  BOOST_TEST((t.check(1, 2) == session_verdict::expired));
  t.record(3, 1, std::string(50, 'c'), 3);  // alone over the bound: kept, the others go
  BOOST_TEST(t.size() == 1u);
  BOOST_TEST((t.check(3, 1) == session_verdict::duplicate));
}

BOOST_AUTO_TEST_CASE(evicted_ids_are_remembered_within_a_bound) {
  session_table t(session_limits{1, 1 << 20, 2});
  for (std::uint64_t c = 1; c <= 4; ++c) t.record(c, 1, "r", c);  // evicts 1, 2, 3
  BOOST_TEST(t.evictions() == 3u);
  BOOST_TEST((t.check(3, 1) == session_verdict::expired));
  BOOST_TEST((t.check(2, 1) == session_verdict::expired));
  // Fell out of the bounded memory: the documented residual risk, a first request looks new.
  BOOST_TEST((t.check(1, 1) == session_verdict::fresh));
}

BOOST_AUTO_TEST_CASE(eviction_order_depends_only_on_the_log) {
  // Two tables fed the same requests in the same order agree on every verdict and evict the same
  // clients; a client told its session expired starts a new one under a new id.
  session_table a(session_limits{3, 1 << 20, 100}), b(session_limits{3, 1 << 20, 100});
  std::uint64_t id[11], seq[11];
  for (std::uint64_t c = 0; c < 11; ++c) id[c] = c + 1, seq[c] = 0;
  std::uint64_t expired = 0;
  for (std::uint64_t index = 1; index <= 200; ++index) {
    const std::uint64_t c = (index * 7) % 11;
    ++seq[c];
    const auto va = a.check(id[c], seq[c]);
    BOOST_TEST((va == b.check(id[c], seq[c])));
    if (va == session_verdict::fresh) {
      a.record(id[c], seq[c], "x", index);
      b.record(id[c], seq[c], "x", index);
    } else if (va == session_verdict::expired) {
      ++expired;
      id[c] += 1000;
      seq[c] = 0;
    }
  }
  BOOST_TEST(a.evictions() == b.evictions());
  BOOST_TEST(a.evictions() > 0u);
  BOOST_TEST(expired > 0u);
  for (std::uint64_t c = 0; c < 11; ++c) BOOST_TEST(a.last_sequence(id[c]) == b.last_sequence(id[c]));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::kv
