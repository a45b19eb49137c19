#include <boost/test/unit_test.hpp>

#include "consensus/core/progress.hpp"

using namespace troupe::raft;

BOOST_AUTO_TEST_SUITE(progress_tracking)

BOOST_AUTO_TEST_CASE(probe_sends_one_message_at_a_time) {
  progress p(5, 4, 1000);
  BOOST_TEST(!p.paused());
  p.sent_entries(6, 10, true);
  BOOST_TEST(p.paused());
  BOOST_TEST(p.next() == 5u);  // no optimism while probing
  p.heartbeat_answered();
  BOOST_TEST(!p.paused());
}

BOOST_AUTO_TEST_CASE(replicate_pipelines_until_the_window_is_full_by_count_or_bytes) {
  progress p(1, 3, 100);
  BOOST_TEST(p.maybe_update(4));
  p.become_replicate();
  p.sent_entries(5, 10, true);
  p.sent_entries(6, 10, true);
  BOOST_TEST(p.next() == 7u);  // optimistic next index
  BOOST_TEST(!p.paused());
  p.sent_entries(7, 10, true);
  BOOST_TEST(p.paused());  // three in flight
  BOOST_TEST(p.maybe_update(6));
  BOOST_TEST(!p.paused());
  BOOST_TEST(p.in_flight().count() == 1u);
  p.sent_entries(9, 200, true);
  BOOST_TEST(p.paused());  // bytes over the limit
}

BOOST_AUTO_TEST_CASE(stale_rejections_are_ignored) {
  progress p(1, 8, 1000);
  BOOST_TEST(p.maybe_update(5));
  p.become_replicate();
  p.sent_entries(8, 3, true);
  BOOST_TEST(!p.maybe_decrease_to(4, 0));  // at or below match: an old answer
  BOOST_TEST(p.maybe_decrease_to(7, 0));
  BOOST_TEST((p.state() == progress::state::probe));
  BOOST_TEST(p.next() == 6u);  // right after match
}

BOOST_AUTO_TEST_CASE(probe_rejection_jumps_to_the_hint_but_never_below_match) {
  progress p(11, 8, 1000);
  BOOST_TEST(p.maybe_decrease_to(10, 3));
  BOOST_TEST(p.next() == 4u);
  BOOST_TEST(!p.maybe_decrease_to(10, 3));  // answers a probe we no longer have outstanding
  BOOST_TEST(p.maybe_update(2));
  BOOST_TEST(p.maybe_decrease_to(3, 0));
  BOOST_TEST(p.next() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
