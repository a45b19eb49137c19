// Restore plans: a complete checkpoint splits into per-participant state plus the recorded messages
// to deliver first; a global state that cannot be restored completely is refused with the reason.
#define BOOST_TEST_MODULE checkpoint_restore
#include <boost/test/unit_test.hpp>

#include "snapshot/core/restore.hpp"
#include "tests/unit/checkpoint/checkpoint_harness.hpp"

using namespace troupe::checkpoint;
using namespace troupe::checkpoint::testing;

namespace {

envelope message(participant_id from, participant_id to, std::uint64_t sequence) {
  envelope e;
  e.from = from;
  e.to = to;
  e.sequence = sequence;
  put(e.payload, 1);
  return e;
}

}  // namespace

BOOST_AUTO_TEST_CASE(restored_balances_plus_redelivered_transfers_equal_the_total) {
  coordinator_config cc;
  cc.mode = initiation::ask_initiator;
  world w(cc);
  w.add(declared(1, {2, 3}), 100);
  w.add(declared(2, {1, 3}), 100);
  w.add(declared(3, {1, 2}), 100);
  w.start(1, 3);
  BOOST_REQUIRE(w.deliver_command(3));  // 3 records first: transfers to it are in flight
  w.transfer(1, 3, 5);
  w.transfer(2, 3, 7);
  w.transfer(1, 3, 11);
  w.drain();
  const auto& outcome = w.finished_outcome(1);
  BOOST_REQUIRE(outcome.status == checkpoint_status::ok);
  auto plans = plan_restore(outcome.state);
  BOOST_REQUIRE(plans.ok());
  BOOST_REQUIRE(plans->size() == 3u);
  std::int64_t total = 0;
  for (const auto& plan : *plans) {
    auto balance = decode(plan.local_state).balance;
    for (const auto& m : plan.deliveries) balance += amount_of(m);
    total += balance;
  }
  BOOST_TEST(total == 300);
  const auto& third = (*plans)[2];
  BOOST_TEST(third.participant == 3u);
  BOOST_REQUIRE(third.deliveries.size() == 3u);
  // Each channel's messages in order, channels by ascending sender: 1->3 (5, 11), then 2->3 (7).
  BOOST_TEST(amount_of(third.deliveries[0]) == 5);
  BOOST_TEST(amount_of(third.deliveries[1]) == 11);
  BOOST_TEST(amount_of(third.deliveries[2]) == 7);
}

BOOST_AUTO_TEST_CASE(a_channel_without_its_receivers_state_is_refused) {
  global_state g;
  g.id = 4;
  g.local_states[1] = bytes{'a'};
  g.channels[{1, 2}] = {message(1, 2, 1)};
  auto plans = plan_restore(g);
  BOOST_REQUIRE(!plans.ok());
  BOOST_TEST(plans.err().message.find("channel 1->2 has an end without") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(messages_out_of_channel_order_or_misaddressed_are_refused) {
  global_state g;
  g.id = 4;
  g.local_states[1] = bytes{'a'};
  g.local_states[2] = bytes{'b'};
  g.channels[{1, 2}] = {message(1, 2, 2), message(1, 2, 1)};
  auto plans = plan_restore(g);
  BOOST_REQUIRE(!plans.ok());
  BOOST_TEST(plans.err().message.find("out of channel order") != std::string::npos);
  g.channels[{1, 2}] = {message(2, 1, 1)};
  BOOST_TEST(!plan_restore(g).ok());
  BOOST_TEST(!plan_restore(global_state{}).ok());
}
