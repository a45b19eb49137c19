// Aborts: bounds, peers lost, timeouts, coordinator aborts, lost messages; and the coordinator's
// refusals. Each test checks the status both sides end with and that later checkpoints still work.
#define BOOST_TEST_MODULE checkpoint_failures
#include <boost/test/unit_test.hpp>

#include "tests/unit/checkpoint/checkpoint_harness.hpp"

using namespace troupe::checkpoint;
using namespace troupe::checkpoint::testing;

namespace {

coordinator_config asking(initiation mode, std::uint64_t timeout_ticks = 1000) {
  coordinator_config c;
  c.mode = mode;
  c.timeout_ticks = timeout_ticks;
  return c;
}

checkpoint_status status_of(const world& w, checkpoint_id id) {
  return w.finished_outcome(id).status;
}

bool participant_reported(const world& w, participant_id p, checkpoint_status s) {
  for (const auto& r : w.report_log()) {
    if (r.participant == p && r.status == s) return true;
  }
  return false;
}

/// Checkpoint 1 with 2 recording while 1 sends `count` transfers of `padding` extra bytes to it.
void record_traffic(world& w, int count, std::size_t padding) {
  w.start(1, 2);
  BOOST_REQUIRE(w.deliver_command(2));
  for (int i = 0; i < count; ++i) w.transfer(1, 2, 1, padding);
  w.drain();
}

}  // namespace

BOOST_AUTO_TEST_CASE(recorded_messages_over_the_bound_abort_the_checkpoint_with_bound_exceeded) {
  auto config = declared(2, {1});
  config.recorded_messages_max = 2;
  world w(asking(initiation::ask_initiator));
  w.add(declared(1, {2}), 100);
  w.add(config, 0);
  record_traffic(w, 3, 0);
  BOOST_TEST(status_of(w, 1) == checkpoint_status::bound_exceeded);
  BOOST_TEST(w.finished_outcome(1).detail.find("over the bound of 2 messages") !=
             std::string::npos);
  BOOST_TEST(participant_reported(w, 2, checkpoint_status::bound_exceeded));
  BOOST_TEST(w.core(1).in_flight().empty());  // the coordinator's abort reached 1 too
  BOOST_TEST(w.core(2).in_flight().empty());
  w.start(2, 1);  // within the bound, the next checkpoint completes
  w.transfer(1, 2, 1);
  w.drain();
  BOOST_TEST(status_of(w, 2) == checkpoint_status::ok);
  BOOST_TEST(check_cut(w.finished_outcome(2).state, 100) == "");
}

BOOST_AUTO_TEST_CASE(recorded_bytes_over_the_bound_abort_the_checkpoint_with_bound_exceeded) {
  auto config = declared(2, {1});
  config.recorded_bytes_max = 100;
  world w(asking(initiation::ask_initiator));
  w.add(declared(1, {2}), 100);
  w.add(config, 0);
  record_traffic(w, 2, 60);  // 68 bytes each: the second goes over
  BOOST_TEST(status_of(w, 1) == checkpoint_status::bound_exceeded);
  BOOST_TEST(w.finished_outcome(1).detail.find("100 bytes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_lost_peer_aborts_every_checkpoint_held_with_peer_lost) {
  world w(asking(initiation::ask_initiator));
  w.add(declared(1, {2}), 1);
  w.add(declared(2, {1}), 1);
  w.start(1, 2);
  w.start(2, 2);
  BOOST_REQUIRE(w.deliver_command(2));
  BOOST_REQUIRE(w.deliver_command(2));
  BOOST_TEST(w.core(2).in_flight().size() == 2u);
  w.peer_lost(2, 1);
  BOOST_TEST(w.core(2).in_flight().empty());
  while (w.deliver_report()) {
  }
  BOOST_TEST(status_of(w, 1) == checkpoint_status::peer_lost);
  BOOST_TEST(status_of(w, 2) == checkpoint_status::peer_lost);
  BOOST_TEST(w.finished_outcome(1).detail.find("peer 1 lost") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(coordinator_aborts_every_checkpoint_of_a_lost_participant) {
  coordinator c(asking(initiation::ask_all));
  BOOST_REQUIRE(c.start(1, 1, {1, 2}, 0));
  BOOST_REQUIRE(c.start(2, 1, {1, 3}, 0));
  auto out = c.on_participant_lost(2, 5);
  BOOST_REQUIRE(out.finished.size() == 1u);
  BOOST_TEST(out.finished[0].id == 1u);
  BOOST_TEST(out.finished[0].status == checkpoint_status::peer_lost);
  BOOST_TEST(out.commands.size() == 2u);  // abort to 1 and 2
  BOOST_TEST(out.commands[0].command.kind == command_kind::abort);
  BOOST_TEST(c.in_flight() == std::vector<checkpoint_id>{2});
  BOOST_TEST(c.check_invariants().ok());
}

BOOST_AUTO_TEST_CASE(a_checkpoint_not_complete_by_its_deadline_times_out) {
  world w(asking(initiation::ask_initiator, 10));
  w.add(declared(1, {2}), 1);
  w.add(declared(2, {1}), 1);
  w.start(1, 1);
  BOOST_REQUIRE(w.deliver_command(1));  // 1's marker is never delivered
  w.advance(9);
  BOOST_TEST(w.outcomes().empty());
  w.advance(1);
  BOOST_TEST(status_of(w, 1) == checkpoint_status::timeout);
  BOOST_TEST(w.finished_outcome(1).finished_tick == 10u);
  BOOST_TEST(w.finished_outcome(1).detail.find("0 of 2 participants reported") !=
             std::string::npos);
  w.drain();  // the stale marker and the abort arrive: nothing is held, nothing is reported
  BOOST_TEST(w.core(1).in_flight().empty());
  BOOST_TEST(w.core(2).in_flight().empty());
  BOOST_TEST(w.report_log().empty());
}

BOOST_AUTO_TEST_CASE(an_aborted_checkpoints_late_markers_are_ignored) {
  world w(asking(initiation::ask_initiator));
  w.add(declared(1, {2}), 1);
  w.add(declared(2, {1}), 1);
  w.start(1, 1);
  BOOST_REQUIRE(w.deliver_command(1));
  auto out = w.coord().abort(1, 0);
  BOOST_REQUIRE(out.finished.size() == 1u);
  BOOST_TEST(out.finished[0].status == checkpoint_status::aborted_by_request);
  // Deliver the abort to 2 before the marker, then the marker: 2 must not record a dead checkpoint.
  BOOST_TEST(w.core(2).on_command(out.commands[1].command).empty());
  BOOST_TEST(w.core(1).on_command(out.commands[0].command).empty());
  BOOST_REQUIRE(w.deliver({1, 2}));
  BOOST_TEST(w.core(2).in_flight().empty());
  BOOST_TEST(w.reports().empty());
}

BOOST_AUTO_TEST_CASE(a_lost_first_envelope_aborts_with_channel_gap) {
  world w(asking(initiation::ask_initiator));
  w.add(declared(1, {2}), 10);
  w.add(declared(2, {1}), 0);
  w.start(1, 2);
  BOOST_REQUIRE(w.deliver_command(2));
  w.transfer(1, 2, 1);
  w.transfer(1, 2, 1);
  w.channels().at({1, 2}).pop_front();  // lost in a reconnect
  w.drain();
  BOOST_TEST(status_of(w, 1) == checkpoint_status::channel_gap);
  BOOST_TEST(w.finished_outcome(1).detail.find("expected sequence 1, got 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_gap_after_the_first_envelope_aborts_with_channel_gap) {
  world w(asking(initiation::ask_initiator));
  w.add(declared(1, {2}), 10);
  w.add(declared(2, {1}), 0);
  w.transfer(1, 2, 1);
  BOOST_REQUIRE(w.deliver({1, 2}));
  w.start(1, 2);
  BOOST_REQUIRE(w.deliver_command(2));
  w.transfer(1, 2, 1);
  w.transfer(1, 2, 1);
  w.channels().at({1, 2}).pop_front();
  w.drain();
  BOOST_TEST(status_of(w, 1) == checkpoint_status::channel_gap);
  BOOST_TEST(w.finished_outcome(1).detail.find("expected sequence 2, got 3") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(after_a_peer_loss_the_channel_accepts_a_new_sequence) {
  participant_config config;
  config.self = 2;
  participant p(config, [] { return bytes{}; });
  envelope e;
  e.from = 1;
  e.to = 2;
  e.sequence = 1;
  BOOST_TEST(p.on_envelope(e).empty());
  BOOST_TEST(p.on_peer_lost(1).empty());  // nothing held: nothing to abort
  e.sequence = 40;                        // the restarted peer's channel layer numbers afresh
  BOOST_TEST(p.on_command({1, 2, command_kind::take, checkpoint_status::ok}).empty());
  BOOST_TEST(p.recording(1));            // waits for 1's marker on the channel it learned
  BOOST_TEST(p.on_envelope(e).empty());  // no gap reported: checkpoint 1 goes on recording ...
  BOOST_TEST(p.recording(1));
  e.sequence = 42;
  auto out = p.on_envelope(e);  // ... until a real gap
  BOOST_REQUIRE(out.reports.size() == 1u);
  BOOST_TEST(out.reports[0].status == checkpoint_status::channel_gap);
}

BOOST_AUTO_TEST_CASE(too_many_checkpoints_held_at_a_participant_abort_the_newest) {
  auto config = declared(2, {1});
  config.in_flight_max = 1;
  world w(asking(initiation::ask_all));
  w.add(declared(1, {2}), 1);
  w.add(config, 1);
  w.start(1, 1);
  w.start(2, 1);
  BOOST_REQUIRE(w.deliver_command(2));
  BOOST_REQUIRE(w.deliver_command(2));
  w.drain();
  BOOST_TEST(status_of(w, 1) == checkpoint_status::ok);
  BOOST_TEST(status_of(w, 2) == checkpoint_status::too_many_in_flight);
}

BOOST_AUTO_TEST_CASE(coordinator_refuses_ids_that_do_not_grow_outsider_initiators_and_overload) {
  coordinator_config config;
  config.in_flight_max = 1;
  coordinator c(config);
  BOOST_REQUIRE(c.start(5, 1, {1, 2}, 0));
  auto again = c.start(5, 1, {1, 2}, 0);
  BOOST_REQUIRE(!again);
  BOOST_TEST(troupe::to_string(again.err().code) ==
             troupe::to_string(troupe::errc::invalid_argument));
  auto outsider = c.start(6, 9, {1, 2}, 0);
  BOOST_REQUIRE(!outsider);
  BOOST_TEST(troupe::to_string(outsider.err().code) ==
             troupe::to_string(troupe::errc::invalid_argument));
  auto busy = c.start(7, 1, {1, 2}, 0);
  BOOST_REQUIRE(!busy);
  BOOST_TEST(troupe::to_string(busy.err().code) == troupe::to_string(troupe::errc::busy));
  BOOST_TEST(!c.start(8, 1, {}, 0));
  BOOST_TEST(c.last_started() == 5u);
}

BOOST_AUTO_TEST_CASE(asking_only_initiators_refuses_a_second_initiator_while_one_is_in_flight) {
  coordinator c(asking(initiation::ask_initiator));
  BOOST_REQUIRE(c.start(1, 1, {1, 2}, 0));
  BOOST_REQUIRE(c.start(2, 1, {1, 2}, 0));  // the same initiator may overlap
  auto other = c.start(3, 2, {1, 2}, 0);
  BOOST_REQUIRE(!other);
  BOOST_TEST(troupe::to_string(other.err().code) == troupe::to_string(troupe::errc::busy));
  BOOST_TEST(other.err().message.find("must share their initiator") != std::string::npos);
  coordinator all(asking(initiation::ask_all));
  BOOST_REQUIRE(all.start(1, 1, {1, 2}, 0));
  BOOST_REQUIRE(all.start(2, 2, {1, 2}, 0));  // asking everyone, any initiator may overlap
}

BOOST_AUTO_TEST_CASE(coordinator_waits_for_every_channel_a_sender_marked) {
  coordinator c(coordinator_config{});
  BOOST_REQUIRE(c.start(1, 1, {1, 2}, 0));
  participant_report r1;
  r1.id = 1;
  r1.participant = 1;
  r1.markers_sent_to = {2};
  participant_report r2;
  r2.id = 1;
  r2.participant = 2;
  BOOST_TEST(c.on_report(r1, 1).finished.empty());
  BOOST_TEST(c.on_report(r2, 2).finished.empty());  // 1->2 not accounted for yet
  participant_report late;
  late.id = 1;
  late.participant = 2;
  late.kind = report_kind::late_channels;
  envelope x;
  x.from = 1;
  x.to = 2;
  x.sequence = 1;
  late.channels.push_back({1, {x}});
  auto out = c.on_report(late, 3);
  BOOST_REQUIRE(out.finished.size() == 1u);
  BOOST_TEST(out.finished[0].status == checkpoint_status::ok);
  BOOST_TEST(out.finished[0].state.channels.at({1, 2}).size() == 1u);
  BOOST_TEST(out.finished[0].state.local_states.size() == 2u);
  BOOST_TEST(out.commands.size() == 2u);
  BOOST_TEST(out.commands[0].command.kind == command_kind::release);
  BOOST_TEST(c.on_report(late, 4).finished.empty());  // a late echo is ignored
}
