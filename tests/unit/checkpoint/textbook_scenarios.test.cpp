// Hand-written scenarios from Chandy & Lamport 1985 (section 3, the single-token example) and a
// three-participant example with messages in flight on several channels; each asserts exactly which
// messages are recorded on which channel, then runs the cut oracle.
#define BOOST_TEST_MODULE checkpoint_textbook_scenarios
#include <boost/test/unit_test.hpp>

#include "tests/unit/checkpoint/checkpoint_harness.hpp"

using namespace troupe::checkpoint;
using namespace troupe::checkpoint::testing;

namespace {

participant_config learned(participant_id self) {
  participant_config c;
  c.self = self;
  return c;
}

coordinator_config asking(initiation mode) {
  coordinator_config c;
  c.mode = mode;
  return c;
}

std::vector<std::int64_t> amounts(const global_state& g, participant_id from, participant_id to) {
  std::vector<std::int64_t> out;
  auto it = g.channels.find({from, to});
  if (it == g.channels.end()) return out;
  for (const auto& m : it->second) out.push_back(amount_of(m));
  return out;
}

std::int64_t balance(const global_state& g, participant_id p) {
  return decode(g.local_states.at(p)).balance;
}

const global_state& completed(const world& w, checkpoint_id id) {
  const auto& o = w.finished_outcome(id);
  BOOST_REQUIRE_MESSAGE(o.status == checkpoint_status::ok,
                        "checkpoint " << id << ": " << to_string(o.status) << " " << o.detail);
  return o.state;
}

}  // namespace

BOOST_AUTO_TEST_CASE(token_in_flight_when_the_receiver_records_is_recorded_on_its_channel) {
  // p (1) sends the single token to q (2); q records before the token arrives, so the token is in
  // the channel p->q of the global state: the paper's "token in c" state.
  world w(asking(initiation::ask_initiator));
  w.add(declared(1, {2}), 1);
  w.add(declared(2, {1}), 0);
  w.transfer(1, 2, 1);
  w.start(1, 2);
  BOOST_REQUIRE(w.deliver_command(2));  // q records: no token; marker on q->p
  BOOST_TEST(w.core(2).recording(1));
  BOOST_REQUIRE(w.deliver({1, 2}));  // the token: sent before p records, received after q did
  BOOST_REQUIRE(w.deliver({2, 1}));  // q's marker: p records (no token) and sends its marker
  BOOST_REQUIRE(w.deliver({1, 2}));  // p's marker closes q's recording of p->q
  w.drain();
  const auto& g = completed(w, 1);
  BOOST_TEST(balance(g, 1) == 0);
  BOOST_TEST(balance(g, 2) == 0);
  BOOST_TEST(amounts(g, 1, 2) == std::vector<std::int64_t>{1});
  BOOST_TEST(amounts(g, 2, 1).empty());
  BOOST_TEST(check_cut(g, 1) == "");
}

BOOST_AUTO_TEST_CASE(token_received_before_the_marker_is_in_the_receivers_state) {
  // p sends the token, then records and sends its marker behind it (marker sending rule): by FIFO
  // the token arrives first, q records on the marker with the token, and no channel holds it.
  world w(asking(initiation::ask_initiator));
  w.add(declared(1, {2}), 1);
  w.add(declared(2, {1}), 0);
  w.transfer(1, 2, 1);
  w.start(1, 1);
  w.drain();
  const auto& g = completed(w, 1);
  BOOST_TEST(balance(g, 1) == 0);
  BOOST_TEST(balance(g, 2) == 1);
  BOOST_TEST(amounts(g, 1, 2).empty());
  BOOST_TEST(amounts(g, 2, 1).empty());
  BOOST_TEST(check_cut(g, 1) == "");
}

BOOST_AUTO_TEST_CASE(three_participants_record_messages_in_flight_on_several_channels) {
  world w(asking(initiation::ask_initiator));
  w.add(declared(1, {2, 3}), 100);
  w.add(declared(2, {1, 3}), 100);
  w.add(declared(3, {1, 2}), 100);
  w.transfer(1, 2, 5);   // a: reaches 2 before 2 records -> in 2's state
  w.transfer(2, 3, 7);   // b: reaches 3 before 3 records -> in 3's state
  w.transfer(3, 1, 11);  // c: reaches 1 after 1 recorded -> on channel 3->1
  w.transfer(1, 3, 13);  // d: reaches 3 after 3 recorded -> on channel 1->3
  w.start(1, 1);
  BOOST_REQUIRE(w.deliver_command(1));  // 1 records; markers behind a on 1->2 and behind d on 1->3
  w.transfer(2, 1, 17);                 // e: 2 has not recorded, so e is in flight on 2->1
  BOOST_REQUIRE(w.deliver({3, 1}));     // c recorded on 3->1
  BOOST_REQUIRE(w.deliver({2, 1}));     // e recorded on 2->1
  BOOST_REQUIRE(w.deliver({1, 2}));     // a delivered into 2's state
  BOOST_REQUIRE(w.deliver({1, 2}));     // marker: 2 records, 1->2 is empty
  BOOST_REQUIRE(w.deliver({2, 3}));     // b delivered into 3's state
  BOOST_REQUIRE(w.deliver({2, 3}));     // marker: 3 records, 2->3 is empty
  BOOST_REQUIRE(w.deliver({1, 3}));     // d recorded on 1->3
  BOOST_TEST(w.core(3).recording(1));
  BOOST_REQUIRE(w.deliver({1, 3}));  // marker closes 1->3: 3 has every marker
  BOOST_TEST(!w.core(3).recording(1));
  w.drain();
  const auto& g = completed(w, 1);
  BOOST_TEST(balance(g, 1) == 100 - 5 - 13);
  BOOST_TEST(balance(g, 2) == 100 + 5 - 7 - 17);  // e left 2 before it recorded
  BOOST_TEST(balance(g, 3) == 100 + 7 - 11);
  BOOST_TEST(amounts(g, 3, 1) == std::vector<std::int64_t>{11});
  BOOST_TEST(amounts(g, 2, 1) == std::vector<std::int64_t>{17});
  BOOST_TEST(amounts(g, 1, 3) == std::vector<std::int64_t>{13});
  BOOST_TEST(amounts(g, 1, 2).empty());
  BOOST_TEST(amounts(g, 2, 3).empty());
  BOOST_TEST(amounts(g, 3, 2).empty());
  BOOST_TEST(g.channels.size() == 6u);
  BOOST_TEST(check_cut(g, 300) == "");
}

BOOST_AUTO_TEST_CASE(older_epoch_envelope_on_a_channel_first_seen_mid_checkpoint_is_in_flight) {
  // Nothing declared. 1 sends x to 2 before checkpoint 1; 2 records first, knowing no incoming
  // channel, and reports at once. 1 used 1->2, so it puts a marker on it and the coordinator waits
  // for 2 to account for 1->2: x arrives with epoch 0 < 1 (in flight), then the marker, and 2 sends
  // a late report with x.
  world w(asking(initiation::ask_all));
  w.add(learned(1), 10);
  w.add(learned(2), 10);
  w.transfer(1, 2, 4);
  w.start(1, 1);
  BOOST_REQUIRE(w.deliver_command(2));
  BOOST_REQUIRE(w.deliver_command(1));
  while (w.deliver_report()) {
  }
  BOOST_TEST(w.outcomes().empty());  // both reported, but channel 1->2 is not accounted for
  w.drain();
  const auto& g = completed(w, 1);
  BOOST_TEST(w.late_reports() == 1u);
  BOOST_TEST(amounts(g, 1, 2) == std::vector<std::int64_t>{4});
  BOOST_TEST(check_cut(g, 20) == "");
}

BOOST_AUTO_TEST_CASE(newer_epoch_envelope_makes_the_receiver_record_before_delivery) {
  // Lai & Yang's rule: 1 records, then uses 1->2 for the first time (no marker was sent on it). Its
  // envelope carries epoch 1, so 2 records before the envelope is delivered, exactly as on a
  // marker.
  world w(asking(initiation::ask_initiator));
  w.add(learned(1), 10);
  w.add(learned(2), 10);
  w.start(1, 1);
  BOOST_REQUIRE(w.deliver_command(1));
  w.transfer(1, 2, 3);
  BOOST_TEST(w.core(2).epoch() == 0u);
  BOOST_REQUIRE(w.deliver({1, 2}));
  BOOST_TEST(w.core(2).epoch() == 1u);
  w.drain();
  const auto& g = completed(w, 1);
  BOOST_TEST(balance(g, 1) == 10);  // 1 recorded before sending
  BOOST_TEST(balance(g, 2) == 10);  // 2 recorded before receiving
  BOOST_TEST(amounts(g, 1, 2).empty());
  BOOST_TEST(check_cut(g, 20) == "");
}

BOOST_AUTO_TEST_CASE(a_channel_first_used_while_checkpoints_are_held_gets_their_markers_first) {
  // 1 holds checkpoints 1 and 2 when it first sends to 2. Without markers, the envelope's epoch 2
  // would make 2 record checkpoint 2 and give up 1 as out of order when the coordinator asks.
  participant_config config;
  config.self = 1;
  participant p(config, [] { return bytes{}; });
  BOOST_TEST(p.on_command({1, 1, command_kind::take, checkpoint_status::ok}).reports.size() == 1u);
  BOOST_TEST(p.on_command({2, 1, command_kind::take, checkpoint_status::ok}).reports.size() == 1u);
  auto first = p.stamp(2, envelope{});
  BOOST_REQUIRE(first.markers.size() == 2u);
  BOOST_TEST(first.markers[0].id == 1u);
  BOOST_TEST(first.markers[0].epoch == 1u);
  BOOST_TEST(first.markers[1].id == 2u);
  BOOST_TEST(first.message.epoch == 2u);
  BOOST_TEST(first.message.sequence == 1u);
  auto second = p.stamp(2, envelope{});
  BOOST_TEST(second.markers.empty());  // only on first use
  BOOST_TEST(second.message.sequence == 2u);

  participant_config receiver_config;
  receiver_config.self = 2;
  participant receiver(receiver_config, [] { return bytes{}; });
  for (const auto& m : first.markers) BOOST_TEST(receiver.on_marker(m).reports.size() == 1u);
  BOOST_TEST(receiver.on_envelope(first.message).empty());
  BOOST_TEST(receiver.in_flight() == (std::vector<checkpoint_id>{1, 2}));
  BOOST_TEST(receiver.on_command({1, 1, command_kind::take, checkpoint_status::ok}).empty());
}

BOOST_AUTO_TEST_CASE(concurrent_checkpoints_each_complete_under_their_own_id) {
  world w(asking(initiation::ask_initiator));
  w.add(declared(1, {2, 3}), 50);
  w.add(declared(2, {1, 3}), 50);
  w.add(declared(3, {1, 2}), 50);
  w.transfer(1, 2, 1);
  w.start(1, 1);
  BOOST_REQUIRE(w.deliver_command(1));
  w.transfer(2, 3, 2);
  w.transfer(3, 1, 3);
  w.start(2, 1);
  BOOST_REQUIRE(w.deliver_command(1));  // 1 holds 1 and 2 at once
  BOOST_TEST(w.core(1).in_flight() == (std::vector<checkpoint_id>{1, 2}));
  w.transfer(1, 3, 4);
  w.drain();
  const auto& g1 = completed(w, 1);
  const auto& g2 = completed(w, 2);
  BOOST_TEST(g1.id == 1u);
  BOOST_TEST(g2.id == 2u);
  BOOST_TEST(amounts(g1, 3, 1) == std::vector<std::int64_t>{3});
  BOOST_TEST(amounts(g2, 3, 1) == std::vector<std::int64_t>{3});
  BOOST_TEST(check_cut(g1, 150) == "");
  BOOST_TEST(check_cut(g2, 150) == "");
  BOOST_TEST(w.core(1).in_flight().empty());  // released after completion
}

BOOST_AUTO_TEST_CASE(checkpoint_learned_after_a_later_one_was_recorded_aborts_out_of_order) {
  // 2 hears of checkpoint 2 (via 1's marker) before the coordinator's request for 1 reaches it:
  // recording 1 now would contradict envelopes 2 already sent with epoch 2.
  world w(asking(initiation::ask_all));
  w.add(declared(1, {2}), 5);
  w.add(declared(2, {1}), 5);
  w.start(1, 1);
  w.start(2, 1);
  BOOST_REQUIRE(w.deliver_command(1));
  BOOST_REQUIRE(w.deliver_command(1));
  BOOST_REQUIRE(w.deliver({1, 2}));  // marker of 1: 2 records 1
  BOOST_REQUIRE(w.deliver({1, 2}));  // marker of 2: 2 records 2
  w.drain();
  BOOST_TEST(check_cut(completed(w, 1), 10) == "");
  BOOST_TEST(check_cut(completed(w, 2), 10) == "");

  world v(asking(initiation::ask_all));
  v.add(declared(1, {2}), 5);
  v.add(declared(2, {1}), 5);
  v.start(1, 2);
  v.start(2, 1);
  BOOST_REQUIRE(v.deliver_command(1));  // 1 records checkpoint 1 ...
  v.commands().at(1).clear();           // ... and, in this run, never hears of 2 from the
  v.commands().at(2).pop_front();       // coordinator; 2 does not get its request for 1
  BOOST_REQUIRE(v.deliver_command(2));  // 2 records 2 (its request for 2)
  BOOST_REQUIRE(v.deliver({1, 2}));     // 1's marker for 1 reaches 2 after 2 recorded 2
  v.drain();
  BOOST_TEST(v.finished_outcome(1).status == checkpoint_status::out_of_order);
  BOOST_TEST(check_cut(completed(v, 2), 10) == "");
}
