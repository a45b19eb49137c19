// The reliable application lane on its own: seqs, bounded retransmit buffer, acks, resume rule,
// lost reports on a new incarnation, and the receiver's in-order exactly-once rule and ack policy.
#include <boost/test/unit_test.hpp>

#include "runtime/transport/link/reliable_lane.hpp"
#include "tests/unit/link/link_test_support.hpp"

namespace troupe::link::test {
namespace {

constexpr std::uint64_t self_inc = 100;

outbound_message msg(std::uint64_t id) {
  return outbound_message{"dst", "src", payload_of(static_cast<std::int64_t>(id)), id, id * 10};
}

void send_all(reliable_sender& s) {
  while (s.peek_unsent() != nullptr) s.mark_sent();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reliable_lane_tests)

BOOST_AUTO_TEST_CASE(pushes_get_consecutive_seqs_starting_at_one) {
  reliable_sender s;
  for (std::uint64_t i = 1; i <= 5; ++i) {
    auto seq = s.push(msg(i));
    BOOST_REQUIRE(seq.ok());
    BOOST_TEST(*seq == i);
  }
  BOOST_TEST(s.buffered_messages() == 5u);
  BOOST_TEST(s.unsent_messages() == 5u);
}

BOOST_AUTO_TEST_CASE(a_full_buffer_by_count_returns_busy_and_keeps_everything) {
  reliable_sender s({3, 1u << 20});
  for (std::uint64_t i = 1; i <= 3; ++i) BOOST_REQUIRE(s.push(msg(i)).ok());
  auto r = s.push(msg(4));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::busy);
  BOOST_TEST(s.buffered_messages() == 3u);
  BOOST_TEST(s.last_assigned_seq() == 3u);  // the refused message took no seq
  // Room comes back with an ack, and the refused message then goes in with the next seq.
  BOOST_REQUIRE(s.attach(self_inc, 200, {}).ok());
  send_all(s);
  BOOST_TEST(s.on_ack(1).ok());
  auto again = s.push(msg(4));
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(*again == 4u);
}

BOOST_AUTO_TEST_CASE(a_full_buffer_by_bytes_returns_busy) {
  const std::size_t one = charged_bytes(msg(1));
  reliable_sender s({100, one * 2});
  BOOST_REQUIRE(s.push(msg(1)).ok());
  BOOST_REQUIRE(s.push(msg(2)).ok());
  auto r = s.push(msg(3));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::busy);
  BOOST_TEST(!s.has_room(one));
}

BOOST_AUTO_TEST_CASE(a_message_larger_than_the_whole_buffer_is_too_large_not_busy) {
  reliable_sender s({100, 10});
  auto r = s.push(msg(1));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::too_large);
}

BOOST_AUTO_TEST_CASE(cumulative_acks_free_the_buffer_and_acks_beyond_what_was_sent_are_errors) {
  reliable_sender s;
  for (std::uint64_t i = 1; i <= 6; ++i) BOOST_REQUIRE(s.push(msg(i)).ok());
  BOOST_REQUIRE(s.attach(self_inc, 200, {}).ok());
  for (int i = 0; i < 4; ++i) s.mark_sent();
  BOOST_TEST(s.on_ack(3).ok());
  BOOST_TEST(s.buffered_messages() == 3u);
  BOOST_TEST(s.on_ack(2).ok());  // stale: ignored
  BOOST_TEST(s.acked_seq() == 3u);
  auto beyond = s.on_ack(5);  // seq 5 was never sent
  BOOST_REQUIRE(!beyond.ok());
  BOOST_TEST(beyond.err().code == errc::malformed);
  BOOST_REQUIRE(s.peek_unsent() != nullptr);
  BOOST_TEST(s.peek_unsent()->seq == 5u);
}

BOOST_AUTO_TEST_CASE(
    resuming_with_the_same_incarnation_resends_everything_after_the_last_delivered) {
  reliable_sender s;
  for (std::uint64_t i = 1; i <= 10; ++i) BOOST_REQUIRE(s.push(msg(i)).ok());
  BOOST_REQUIRE(s.attach(self_inc, 200, {}).ok());
  send_all(s);
  BOOST_TEST(s.on_ack(3).ok());
  s.on_disconnect();
  // The receiver delivered up to 6 but its ack for 4..6 was lost with the connection.
  auto lost = s.attach(self_inc, 200, resume_info{self_inc, 6});
  BOOST_REQUIRE(lost.ok());
  BOOST_TEST(lost->empty());
  BOOST_TEST(s.acked_seq() == 6u);
  std::vector<std::uint64_t> resent;
  while (const auto* p = s.peek_unsent()) {
    resent.push_back(p->seq);
    s.mark_sent();
  }
  BOOST_TEST(resent == (std::vector<std::uint64_t>{7, 8, 9, 10}), boost::test_tools::per_element());
  BOOST_TEST(s.retransmitted_total() == 4u);
}

BOOST_AUTO_TEST_CASE(a_new_peer_incarnation_returns_exactly_the_unacked_messages_as_lost) {
  reliable_sender s;
  for (std::uint64_t i = 1; i <= 10; ++i) BOOST_REQUIRE(s.push(msg(i)).ok());
  BOOST_REQUIRE(s.attach(self_inc, 200, {}).ok());
  for (int i = 0; i < 7; ++i) s.mark_sent();  // 8..10 never left
  BOOST_TEST(s.on_ack(4).ok());
  s.on_disconnect();
  auto lost = s.attach(self_inc, 201, resume_info{0, 0});
  BOOST_REQUIRE(lost.ok());
  std::vector<std::uint64_t> ids;
  for (const auto& l : *lost) {
    ids.push_back(l.message_id);
    BOOST_TEST(l.tag == l.message_id * 10);
    BOOST_TEST(l.destination == "dst");
    BOOST_TEST(l.source == "src");
  }
  BOOST_TEST(ids == (std::vector<std::uint64_t>{5, 6, 7, 8, 9, 10}),
             boost::test_tools::per_element());
  BOOST_TEST(s.buffered_messages() == 0u);
  auto seq = s.push(msg(11));
  BOOST_REQUIRE(seq.ok());
  BOOST_TEST(*seq == 1u);  // a new sequence space for the new pair of incarnations
  BOOST_TEST(s.bound_incarnation() == 201u);
}

BOOST_AUTO_TEST_CASE(messages_queued_before_the_first_connection_are_kept_and_sent_from_seq_one) {
  reliable_sender s;
  for (std::uint64_t i = 1; i <= 3; ++i) BOOST_REQUIRE(s.push(msg(i)).ok());
  auto lost = s.attach(self_inc, 200, resume_info{0, 0});
  BOOST_REQUIRE(lost.ok());
  BOOST_TEST(lost->empty());
  BOOST_REQUIRE(s.peek_unsent() != nullptr);
  BOOST_TEST(s.peek_unsent()->seq == 1u);
}

BOOST_AUTO_TEST_CASE(an_impossible_resume_point_is_an_error) {
  reliable_sender s;
  for (std::uint64_t i = 1; i <= 5; ++i) BOOST_REQUIRE(s.push(msg(i)).ok());
  BOOST_REQUIRE(s.attach(self_inc, 200, {}).ok());
  for (int i = 0; i < 3; ++i) s.mark_sent();
  BOOST_TEST(s.on_ack(2).ok());
  s.on_disconnect();
  BOOST_TEST(!s.attach(self_inc, 200, resume_info{self_inc, 4}).ok());  // 4 was never sent
  // A receiver we never met claiming deliveries from us.
  reliable_sender fresh;
  BOOST_TEST(!fresh.attach(self_inc, 300, resume_info{self_inc, 1}).ok());
}

BOOST_AUTO_TEST_CASE(a_stale_resume_point_resumes_after_what_was_already_acknowledged) {
  // Both nodes dialed at once: the resume point of the second connection was taken before the
  // first connection carried messages 1..3 and their ack.
  reliable_sender s;
  for (std::uint64_t i = 1; i <= 5; ++i) BOOST_REQUIRE(s.push(msg(i)).ok());
  BOOST_REQUIRE(s.attach(self_inc, 200, {}).ok());
  send_all(s);
  BOOST_TEST(s.on_ack(3).ok());
  for (const resume_info stale : {resume_info{0, 0}, resume_info{self_inc, 1}}) {
    s.on_disconnect();
    auto lost = s.attach(self_inc, 200, stale);
    BOOST_REQUIRE(lost.ok());
    BOOST_TEST(lost->empty());  // the receiver is alive and has these: nothing is lost
    BOOST_REQUIRE(s.peek_unsent() != nullptr);
    BOOST_TEST(s.peek_unsent()->seq == 4u);
  }
}

BOOST_AUTO_TEST_CASE(the_receiver_delivers_in_order_once_and_treats_a_gap_as_an_error) {
  reliable_receiver r(100);
  r.attach(100);
  BOOST_TEST((*r.on_data(1) == reliable_receiver::verdict::deliver));
  BOOST_TEST((*r.on_data(2) == reliable_receiver::verdict::deliver));
  BOOST_TEST((*r.on_data(2) == reliable_receiver::verdict::duplicate));
  BOOST_TEST((*r.on_data(1) == reliable_receiver::verdict::duplicate));
  BOOST_TEST(r.duplicates_total() == 2u);
  auto gap = r.on_data(4);
  BOOST_REQUIRE(!gap.ok());
  BOOST_TEST(gap.err().code == errc::malformed);
  BOOST_TEST(!r.on_data(0).ok());
  BOOST_TEST(r.last_delivered() == 2u);
  BOOST_TEST((r.resume_point() == resume_info{100, 2}));
}

BOOST_AUTO_TEST_CASE(the_receiver_asks_for_an_ack_every_n_deliveries) {
  reliable_receiver r(3);
  r.attach(100);
  BOOST_TEST(!r.ack_pending());
  (void)r.on_data(1);
  (void)r.on_data(2);
  BOOST_TEST(r.ack_pending());
  BOOST_TEST(!r.ack_due());
  (void)r.on_data(3);
  BOOST_TEST(r.ack_due());
  BOOST_TEST(r.take_ack() == 3u);
  BOOST_TEST(!r.ack_pending());
}

BOOST_AUTO_TEST_CASE(the_receiver_restarts_at_seq_one_for_a_new_sender_incarnation) {
  reliable_receiver r;
  r.attach(100);
  (void)r.on_data(1);
  (void)r.on_data(2);
  r.attach(100);  // same sender: state kept
  BOOST_TEST(r.last_delivered() == 2u);
  r.attach(101);
  BOOST_TEST(r.last_delivered() == 0u);
  BOOST_TEST((*r.on_data(1) == reliable_receiver::verdict::deliver));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace troupe::link::test
