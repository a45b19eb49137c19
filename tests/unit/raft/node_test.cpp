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

namespace {
/// The memory store, counting every call the core makes while `busy` (a sync running on another
/// thread in the real shell, where the store must not be touched).
class busy_guard_storage final : public log_storage {
 public:
  memory_log_storage inner;
  bool busy = false;
  mutable int calls_while_busy = 0;

  troupe::result<hard_state> initial_hard_state() const override { return seen(), inner.initial_hard_state(); }
  index_t first_index() const override { return seen(), inner.first_index(); }
  index_t last_index() const override { return seen(), inner.last_index(); }
  troupe::result<term_t> term(index_t index) const override { return seen(), inner.term(index); }
  troupe::result<std::vector<log_entry>> entries(index_t lo, index_t hi, std::uint64_t max_bytes) const override {
    return seen(), inner.entries(lo, hi, max_bytes);
  }
  troupe::status append(std::span<const log_entry> e) override { return seen(), inner.append(e); }
  troupe::status set_hard_state(const hard_state& hs) override { return seen(), inner.set_hard_state(hs); }
  troupe::status sync() override { return inner.sync(); }
  troupe::result<index_t> last_config_index(index_t at) const override { return seen(), inner.last_config_index(at); }
  snapshot_metadata last_snapshot() const override { return seen(), inner.last_snapshot(); }
  troupe::status apply_snapshot(const snapshot_metadata& m) override { return seen(), inner.apply_snapshot(m); }

 private:
  void seen() const {
    if (busy) ++calls_while_busy;
  }
};

/// Persists `rd` into `s` and advances.
void persist(node& n, busy_guard_storage& s, const ready& rd) {
  if (!rd.entries.empty()) BOOST_REQUIRE(s.inner.append(rd.entries).ok());
  if (rd.hard_state_update) BOOST_REQUIRE(s.inner.set_hard_state(*rd.hard_state_update).ok());
  BOOST_REQUIRE(s.inner.sync().ok());
  n.advance(rd);
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_leader_commits_from_acknowledgements_taken_while_it_persists_without_reading_the_store) {
  // thesis §10.2.1: the leader's own fsync runs in parallel with replication; an entry on a
  // majority of the followers' disks is committed whatever the leader's disk is doing.
  busy_guard_storage s;
  auto n = node::create(three_node_config(1), s).value();
  BOOST_TEST(n->campaign(0).ok());
  persist(*n, s, n->take_ready());
  for (node_id p : {2, 3}) BOOST_TEST(n->step(msg(p, 1, 1, vote_response{7, true, true}), 0).ok());
  persist(*n, s, n->take_ready());
  for (node_id p : {2, 3}) BOOST_TEST(n->step(msg(p, 1, 1, vote_response{7, false, true}), 0).ok());
  BOOST_REQUIRE((n->status().role == role::leader));
  const index_t no_op = n->status().last_index;
  persist(*n, s, n->take_ready());  // the no-op is durable here
  BOOST_REQUIRE(n->propose("a", 0).ok());
  ready rd = n->take_ready();  // "a", not durable yet: its sync "runs" from here
  const index_t a = no_op + 1;
  BOOST_REQUIRE(rd.entries.size() == 1u && rd.entries[0].index == a);
  s.busy = true;
  // Anything but a successful acknowledgement of this term is left for step() after advance.
  BOOST_TEST(!n->step_acknowledgement(msg(2, 1, 1, append_entries_response{7, false, 0, a, a - 1, 0}), 0));
  BOOST_TEST(!n->step_acknowledgement(msg(2, 1, 1, heartbeat_response{7, 0, a}), 0));
  BOOST_TEST(!n->step_acknowledgement(msg(2, 1, 2, append_entries_response{7, true, a, 0, 0, 0}), 0));
  // One follower acknowledges the no-op: with the leader's durable copy a majority, committed.
  BOOST_TEST(n->step_acknowledgement(msg(2, 1, 1, append_entries_response{7, true, no_op, 0, 0, 0}), 0));
  BOOST_TEST(n->log().committed() == no_op);
  // Both followers acknowledge "a" before the leader's own fsync of it ends: committed as well.
  BOOST_TEST(n->step_acknowledgement(msg(2, 1, 1, append_entries_response{7, true, a, 0, 0, 0}), 0));
  BOOST_TEST(n->log().committed() == no_op);  // one follower and a leader whose copy is not durable
  BOOST_TEST(n->step_acknowledgement(msg(3, 1, 1, append_entries_response{7, true, a, 0, 0, 0}), 0));
  BOOST_TEST(n->log().committed() == a);
  BOOST_TEST(s.calls_while_busy == 0);
  BOOST_TEST(n->counters().acknowledgements_during_persist == 3u);
  s.busy = false;
  persist(*n, s, rd);
  ready next = n->take_ready();  // the entries committed meanwhile are handed out as usual
  BOOST_REQUIRE(!next.committed_entries.empty());
  BOOST_TEST(next.committed_entries.back().index == a);
}
