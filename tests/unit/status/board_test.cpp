// status_board: merges the configuration with the transport's and the raft actor's latest answers.
#include <boost/test/unit_test.hpp>

#include "runtime/status/status_board.hpp"

using namespace troupe::status_page;

namespace {
status_board three_nodes() {
  return status_board({2, "c", "127.0.0.1:7102", 1000, {{3, "h3:1"}, {1, "h1:1"}, {2, "h2:1"}}});
}
}  // namespace

BOOST_AUTO_TEST_CASE(the_board_lists_members_by_id_with_their_connection_state) {
  auto board = three_nodes();
  board.set_peer(3, "connecting", 4, 1);
  auto v = board.view(5000, 0);
  BOOST_REQUIRE_EQUAL(v.members.size(), 3u);
  BOOST_TEST(v.members[0].id == 1u);
  BOOST_TEST(v.members[0].connection == "unknown");  // the transport has not answered yet
  BOOST_TEST(!v.members[0].queued.has_value());
  BOOST_TEST(v.members[1].self);
  BOOST_TEST(v.members[1].connection == "self");
  BOOST_TEST(v.members[2].connection == "connecting");
  BOOST_TEST(*v.members[2].queued == 4u);
  BOOST_TEST(v.now_unix_ms == 5000);
  BOOST_TEST(v.started_unix_ms == 1000);
}

BOOST_AUTO_TEST_CASE(raft_status_ages_on_the_monotonic_clock_and_health_follows) {
  auto board = three_nodes();
  BOOST_TEST(judge_health(board.view(0, 0)).healthy);  // no Raft group declared
  board.expect_raft("waiting for the raft actor");
  BOOST_TEST(!judge_health(board.view(0, 0)).healthy);
  BOOST_TEST(judge_health(board.view(0, 0)).reason == "waiting for the raft actor");
  troupe::raft::group_status g;
  g.node.group = 1;
  g.node.term = 3;
  g.node.leader = 1;
  board.set_raft(g, 10'000);
  BOOST_TEST(board.view(0, 10'500).raft_age_ms == 500);
  BOOST_TEST(judge_health(board.view(0, 10'500)).healthy);
  BOOST_TEST(!judge_health(board.view(0, 10'000 + raft_status_stale_ms + 1)).healthy);
}

BOOST_AUTO_TEST_CASE(checkpoints_replace_the_note_once_reported) {
  auto board = three_nodes();
  BOOST_TEST(!board.view(0, 0).checkpoints.has_value());
  BOOST_TEST(!board.view(0, 0).checkpoints_note.empty());
  board.set_checkpoints({{1, 10, 0.5, "completed", 10, 0}});
  BOOST_REQUIRE(board.view(0, 0).checkpoints.has_value());
  BOOST_TEST(board.view(0, 0).checkpoints->size() == 1u);
}

BOOST_AUTO_TEST_CASE(recorded_checkpoints_update_by_id_and_keep_the_last_twenty) {
  auto board = three_nodes();
  board.record_checkpoint({1, 1000, std::nullopt, "in_progress", 0, 0});
  board.record_checkpoint({1, 0, 0.25, "completed", 4096, 7});
  auto v = board.view(0, 0);
  BOOST_REQUIRE(v.checkpoints.has_value());
  BOOST_REQUIRE_EQUAL(v.checkpoints->size(), 1u);
  BOOST_TEST(v.checkpoints->front().started_unix_ms == 1000);  // kept from the start
  BOOST_TEST(v.checkpoints->front().outcome == "completed");
  BOOST_TEST(v.checkpoints->front().written_bytes == 4096u);
  for (std::uint64_t id = 2; id <= 30; ++id) board.record_checkpoint({id, 1, 0.1, "completed", 1, 0});
  v = board.view(0, 0);
  BOOST_REQUIRE_EQUAL(v.checkpoints->size(), status_board::max_checkpoints);
  BOOST_TEST(v.checkpoints->front().id == 11u);  // oldest first, the oldest dropped
  BOOST_TEST(v.checkpoints->back().id == 30u);
}
