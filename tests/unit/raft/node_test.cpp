// Single-node behaviours, named after the sentence of the Raft paper or thesis they check.
#include <boost/test/unit_test.hpp>

#include "consensus/core/memory_log_storage.hpp"
#include "consensus/core/node.hpp"

using namespace troupe::raft;

namespace {
config three_node_config(node_id id) {
  config c;
  c.id = id;
  c.group = 7;
  c.voters = {1, 2, 3};
  c.election_timeout_ticks = 10;
  c.random_seed = id;
  return c;
}

struct fixture {
  memory_log_storage storage;
  std::unique_ptr<node> n;
  explicit fixture(node_id id = 1) { n = node::create(three_node_config(id), storage).value(); }
  /// A fresh node is sticky for one election timeout (lease safety); tick past it, drop any campaign.
  void leave_start_stickiness() {
    for (int i = 0; i < 10; ++i) n->tick(0);
    drain();
  }
  ready drain() {
    ready rd = n->take_ready();
    if (!rd.entries.empty()) BOOST_REQUIRE(storage.append(rd.entries).ok());
    if (rd.hard_state_update) BOOST_REQUIRE(storage.set_hard_state(*rd.hard_state_update).ok());
    BOOST_REQUIRE(storage.sync().ok());
    n->advance(rd);
    return rd;
  }
};

raft_message msg(node_id from, node_id to, term_t term, raft_message_body body) {
  return {from, to, term, std::move(body)};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(node_rules)

BOOST_AUTO_TEST_CASE(create_rejects_a_bad_config) {
  memory_log_storage s;
  auto c = three_node_config(4);
  BOOST_TEST(!node::create(c, s).ok());
  c = three_node_config(1);
  c.heartbeat_interval_ticks = 10;
  BOOST_TEST(!node::create(c, s).ok());
  c = three_node_config(1);
  c.check_quorum = false;  // leases need check quorum
  BOOST_TEST(!node::create(c, s).ok());
}

BOOST_AUTO_TEST_CASE(if_rpc_term_is_greater_the_server_converts_to_follower) {
  // Raft Figure 2, "Rules for Servers": if RPC request or response contains term T > currentTerm:
  // set currentTerm = T, convert to follower.
  fixture f;
  BOOST_TEST(f.n->campaign(0).ok());
  f.drain();
  BOOST_TEST((f.n->status().role == role::pre_candidate));
  BOOST_TEST(f.n->step(msg(2, 1, 5, heartbeat{7, 0, 1}), 0).ok());
  BOOST_TEST((f.n->status().role == role::follower));
  BOOST_TEST(f.n->status().term == 5u);
  BOOST_TEST(f.n->status().leader == 2u);
}

BOOST_AUTO_TEST_CASE(a_vote_is_answered_only_after_it_is_durable) {
  fixture g(2);
  g.leave_start_stickiness();
  BOOST_TEST(g.n->step(msg(1, 2, 3, vote_request{7, false, 0, 0, false}), 0).ok());
  ready rd = g.n->take_ready();
  BOOST_TEST(rd.messages.empty());
  BOOST_REQUIRE(rd.messages_after_persist.size() == 1u);
  BOOST_REQUIRE(rd.hard_state_update.has_value());
  BOOST_TEST(rd.hard_state_update->voted_for == 1u);
  BOOST_TEST(rd.hard_state_update->term == 3u);
  const auto& resp = std::get<vote_response>(rd.messages_after_persist[0].body);
  BOOST_TEST(resp.granted);
}

BOOST_AUTO_TEST_CASE(each_server_votes_for_at_most_one_candidate_in_a_term) {
  fixture f(3);
  f.leave_start_stickiness();
  BOOST_TEST(f.n->step(msg(1, 3, 2, vote_request{7, false, 0, 0, false}), 0).ok());
  f.drain();
  BOOST_TEST(f.n->step(msg(2, 3, 2, vote_request{7, false, 0, 0, false}), 0).ok());
  ready rd = f.drain();
  BOOST_REQUIRE(rd.messages_after_persist.size() == 1u);
  BOOST_TEST(!std::get<vote_response>(rd.messages_after_persist[0].body).granted);
}

BOOST_AUTO_TEST_CASE(a_pre_vote_changes_neither_term_nor_vote) {
  fixture f(3);
  f.leave_start_stickiness();
  BOOST_TEST(f.n->step(msg(1, 3, 4, vote_request{7, true, 0, 0, false}), 0).ok());
  ready rd = f.drain();
  BOOST_TEST(f.n->status().term == 0u);
  BOOST_TEST(f.n->status().voted_for == no_node);
  BOOST_REQUIRE(rd.messages.size() == 1u);
  BOOST_TEST(rd.messages[0].term == 4u);  // a granted PreVote echoes the proposed term
  BOOST_TEST(std::get<vote_response>(rd.messages[0].body).granted);
}

BOOST_AUTO_TEST_CASE(a_follower_that_heard_from_its_leader_ignores_vote_requests) {
  // thesis §6.2 / §9.6: leader stickiness prevents disruptive servers.
  fixture f(3);
  f.leave_start_stickiness();
  BOOST_TEST(f.n->step(msg(1, 3, 2, heartbeat{7, 0, 1}), 0).ok());
  f.drain();
  BOOST_TEST(f.n->step(msg(2, 3, 3, vote_request{7, false, 0, 0, false}), 0).ok());
  ready rd = f.drain();
  BOOST_TEST(f.n->status().term == 2u);
  BOOST_TEST(rd.messages_after_persist.empty());
}

BOOST_AUTO_TEST_CASE(a_single_voter_leader_commits_its_no_op_once_durable) {
  memory_log_storage s;
  config c = three_node_config(1);
  c.voters = {1};
  auto n = node::create(c, s).value();
  BOOST_TEST(n->campaign(0).ok());
  BOOST_TEST((n->status().role == role::leader));
  ready rd = n->take_ready();
  BOOST_REQUIRE(rd.entries.size() == 1u);
  BOOST_TEST((rd.entries[0].type == entry_type::no_op));
  BOOST_TEST(n->status().commit == 0u);  // not durable yet
  BOOST_REQUIRE(s.append(rd.entries).ok());
  BOOST_REQUIRE(s.set_hard_state(*rd.hard_state_update).ok());
  BOOST_REQUIRE(s.sync().ok());
  n->advance(rd);
  BOOST_TEST(n->status().commit == 1u);
}

BOOST_AUTO_TEST_CASE(a_leader_sends_append_entries_before_its_own_fsync) {
  // thesis §10.2.1: the leader writes to its disk in parallel with replicating.
  fixture f(1);
  BOOST_TEST(f.n->campaign(0).ok());
  f.drain();
  for (node_id p : {2, 3}) {
    BOOST_TEST(f.n->step(msg(p, 1, 1, vote_response{7, true, true}), 0).ok());
  }
  f.drain();
  for (node_id p : {2, 3}) {
    BOOST_TEST(f.n->step(msg(p, 1, 1, vote_response{7, false, true}), 0).ok());
  }
  BOOST_TEST((f.n->status().role == role::leader));
  ready rd = f.n->take_ready();
  BOOST_TEST(rd.entries.size() == 1u);
  std::size_t appends = 0;
  for (const auto& m : rd.messages) appends += std::holds_alternative<append_entries>(m.body) ? 1 : 0;
  BOOST_TEST(appends == 2u);
  BOOST_TEST(rd.messages_after_persist.empty());
}

BOOST_AUTO_TEST_CASE(proposals_are_refused_by_followers) {
  fixture f;
  auto r = f.n->propose("x", 0);
  BOOST_TEST(!r.ok());
  BOOST_TEST((r.err().code == troupe::errc::refused));
}

BOOST_AUTO_TEST_SUITE_END()
