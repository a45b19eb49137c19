// Compaction in the storage contract and in the core (Raft §7): apply_snapshot keeps or discards
// the suffix (Figure 13 steps 6-7), term(first_index() - 1) answers from the snapshot, and
// node::compact refuses what it must and records the configuration in effect at the index.
#include <boost/test/unit_test.hpp>

#include "consensus/core/memory_log_storage.hpp"
#include "consensus/core/node.hpp"

using namespace troupe::raft;

namespace {
std::vector<log_entry> terms(std::initializer_list<term_t> ts) {
  std::vector<log_entry> out;
  index_t i = 1;
  for (auto t : ts) out.push_back({t, i++, entry_type::normal, "x"});
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(snapshot_units)

BOOST_AUTO_TEST_CASE(memory_storage_apply_snapshot_keeps_a_matching_suffix_and_discards_a_conflicting_log) {
  memory_log_storage s;
  BOOST_REQUIRE(s.append(terms({1, 1, 2, 2, 3})).ok());
  BOOST_REQUIRE(s.apply_snapshot({3, 2, {{1}, {}, {}}}).ok());
  BOOST_TEST(s.first_index() == 4u);
  BOOST_TEST(s.last_index() == 5u);
  BOOST_TEST(*s.term(3) == 2u);  // the snapshot's last entry
  BOOST_TEST(*s.term(5) == 3u);
  BOOST_TEST(!s.term(2).ok());
  BOOST_TEST(!s.entries(3, 5, 100).ok());
  BOOST_TEST(s.entries(4, 6, 100)->size() == 2u);
  BOOST_REQUIRE(s.apply_snapshot({2, 1, {{1}, {}, {}}}).ok());  // older: nothing changes
  BOOST_TEST(s.first_index() == 4u);
  BOOST_REQUIRE(s.apply_snapshot({5, 9, {{1}, {}, {}}}).ok());  // conflicting term: all dropped
  BOOST_TEST(s.first_index() == 6u);
  BOOST_TEST(s.last_index() == 5u);
  BOOST_TEST(*s.term(5) == 9u);
  BOOST_REQUIRE(s.sync().ok());
  s.crash();
  BOOST_TEST(s.last_snapshot().last_index == 5u);  // durable with the sync
}

BOOST_AUTO_TEST_CASE(compact_refuses_beyond_applied_and_records_the_configuration_at_the_index) {
  memory_log_storage s;
  config c;
  c.id = 1;
  c.voters = {1};
  auto created = node::create(c, s);
  BOOST_REQUIRE(created.ok());
  auto n = std::move(*created);
  BOOST_REQUIRE(n->campaign(0).ok());
  auto carry_out = [&] {
    while (n->has_ready()) {
      auto rd = n->take_ready();
      if (rd.compacted) BOOST_REQUIRE(s.apply_snapshot(*rd.compacted).ok());
      BOOST_REQUIRE(s.append(rd.entries).ok());
      if (rd.hard_state_update) BOOST_REQUIRE(s.set_hard_state(*rd.hard_state_update).ok());
      BOOST_REQUIRE(s.sync().ok());
      n->advance(rd);
    }
  };
  carry_out();
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE(n->propose("p", 0).ok());
  carry_out();
  BOOST_REQUIRE(n->propose_conf_change({{conf_change::kind::add_learner, 2}}, 0).ok());
  carry_out();
  const auto st = n->status();
  BOOST_REQUIRE(st.applied == st.last_index);
  BOOST_TEST((n->compact(st.applied + 1).err().code == troupe::errc::invalid_argument));
  // At index 3 the learner did not exist yet; at the last index it does (thesis §5.1).
  BOOST_TEST(n->membership_at(3).learners.empty());
  BOOST_REQUIRE(n->compact(st.applied).ok());
  BOOST_TEST((n->log_snapshot().membership.learners == std::vector<node_id>{2}));
  BOOST_TEST(n->log_snapshot().last_term == n->status().term);
  carry_out();
  BOOST_TEST(s.first_index() == st.applied + 1);
  BOOST_TEST(n->status().snapshot_index == st.applied);
  BOOST_TEST(n->counters().compactions == 1u);
  // Restarting from that storage recovers the configuration from the snapshot.
  config again = c;
  again.applied = st.applied;
  auto restarted = node::create(again, s);
  BOOST_REQUIRE(restarted.ok());
  BOOST_TEST(((*restarted)->current_membership().learners == std::vector<node_id>{2}));
  again.applied = st.applied - 1;  // the state machine must be restored from the snapshot first
  BOOST_TEST(!node::create(again, s).ok());
}

BOOST_AUTO_TEST_SUITE_END()
