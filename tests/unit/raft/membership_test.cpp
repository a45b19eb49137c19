// Membership values: the config entry payload, change rules and joint-quorum arithmetic (thesis §4.3),
// compared with brute-force oracles; configuration recovery from the log on restart (thesis §4.1).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>

#include "consensus/core/membership.hpp"
#include "consensus/core/memory_log_storage.hpp"
#include "consensus/core/node.hpp"

using namespace troupe::raft;

namespace {
std::uint64_t mix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool majority_at(const std::vector<node_id>& voters, const std::map<node_id, index_t>& match, index_t i) {
  if (voters.empty()) return true;
  std::size_t n = 0;
  for (node_id id : voters) n += match.at(id) >= i ? 1 : 0;
  return 2 * n > voters.size();
}

// Oracle: the largest i that a majority of each half has matched.
index_t oracle_joint(const membership& m, const std::map<node_id, index_t>& match) {
  index_t best = 0;
  for (index_t i = 0; i <= 16; ++i) {
    if (majority_at(m.voters, match, i) && majority_at(m.voters_outgoing, match, i)) best = i;
  }
  return best;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(membership_values)

BOOST_AUTO_TEST_CASE(a_configuration_payload_round_trips) {
  const membership m{{1, 2, 5}, {7}, {1, 2, 3}};
  auto back = decode_membership(encode_membership(m));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((*back == m));
}

BOOST_AUTO_TEST_CASE(a_bad_configuration_payload_is_an_error_value_never_a_crash) {
  const std::string good = encode_membership(membership{{1, 2}, {3}, {}});
  BOOST_TEST(!decode_membership("").ok());
  BOOST_TEST(!decode_membership(good.substr(0, good.size() - 1)).ok());  // truncated
  BOOST_TEST(!decode_membership(good + "x").ok());                       // trailing
  std::string bad_version = good;
  bad_version[0] = 9;
  BOOST_TEST(!decode_membership(bad_version).ok());
  BOOST_TEST(!decode_membership(encode_membership(membership{{}, {}, {}})).ok());      // no voter
  BOOST_TEST(!decode_membership(encode_membership(membership{{1, 1}, {}, {}})).ok());  // repeated
  BOOST_TEST(!decode_membership(encode_membership(membership{{1, 0}, {}, {}})).ok());  // zero id
  BOOST_TEST(!decode_membership(encode_membership(membership{{1, 2}, {2}, {}})).ok());  // both
  auto e = decode_membership(good.substr(0, 3));
  BOOST_TEST((e.err().code == troupe::errc::malformed));
  // Random bytes and random corruptions of a good payload: errors, no throw, no crash.
  std::uint64_t s = 42;
  for (int i = 0; i < 20000; ++i) {
    std::string b = good;
    if (i % 2 == 0) {
      b.resize(mix(s) % 40);
      for (auto& c : b) c = static_cast<char>(mix(s));
      if (!b.empty()) b[0] = 1;
    } else {
      b[mix(s) % b.size()] = static_cast<char>(mix(s));
    }
    auto r = decode_membership(b);
    if (r) BOOST_TEST(!r->voters.empty());
  }
}

BOOST_AUTO_TEST_CASE(a_change_of_voters_goes_through_the_joint_configuration) {
  // thesis §4.3: C_old,new first; voters = C_new, voters_outgoing = C_old.
  auto j = apply_conf_changes(membership{{1, 2, 3}, {}, {}},
                              {{conf_change::kind::add_voter, 4}, {conf_change::kind::remove, 1}});
  BOOST_REQUIRE(j.ok());
  BOOST_TEST((j->voters == std::vector<node_id>{2, 3, 4}));
  BOOST_TEST((j->voters_outgoing == std::vector<node_id>{1, 2, 3}));
  BOOST_TEST((leave_joint(*j) == membership{{2, 3, 4}, {}, {}}));
  // A joint configuration accepts no further change until it is left.
  BOOST_TEST(!apply_conf_changes(*j, {{conf_change::kind::add_voter, 5}}).ok());
}

BOOST_AUTO_TEST_CASE(learners_join_without_a_joint_phase_and_are_promoted_through_one) {
  auto l = apply_conf_changes(membership{{1, 2, 3}, {}, {}}, {{conf_change::kind::add_learner, 4}});
  BOOST_REQUIRE(l.ok());
  BOOST_TEST(!is_joint(*l));
  BOOST_TEST((l->learners == std::vector<node_id>{4}));
  auto p = apply_conf_changes(*l, {{conf_change::kind::add_voter, 4}});
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(is_joint(*p));
  BOOST_TEST(p->learners.empty());
  BOOST_TEST((p->voters == std::vector<node_id>{1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(invalid_changes_are_refused_with_a_reason) {
  const membership m{{1, 2, 3}, {4}, {}};
  using k = conf_change::kind;
  for (const auto& bad : std::vector<std::vector<conf_change>>{
           {},                                   // nothing
           {{k::add_voter, 0}},                  // zero id
           {{k::add_voter, 1}},                  // already a voter
           {{k::add_learner, 4}},                // already a learner
           {{k::add_learner, 2}},                // demotion
           {{k::remove, 9}},                     // not a member
           {{k::add_voter, 5}, {k::remove, 5}},  // named twice
           {{k::remove, 1}, {k::remove, 2}, {k::remove, 3}},  // no voter left
       }) {
    auto r = apply_conf_changes(m, bad);
    BOOST_TEST(!r.ok());
    if (!r.ok()) BOOST_TEST((r.err().code == troupe::errc::invalid_argument));
  }
}

BOOST_AUTO_TEST_CASE(joint_commit_index_needs_a_majority_of_each_half_like_the_oracle) {
  std::uint64_t s = 7;
  for (int round = 0; round < 5000; ++round) {
    membership m;
    std::map<node_id, index_t> match;
    for (node_id id = 1; id <= 7; ++id) {
      match[id] = mix(s) % 12;
      const auto r = mix(s) % 4;
      if (r == 0 || r == 1) m.voters.push_back(id);
      if (r == 1 || r == 2) m.voters_outgoing.push_back(id);
    }
    if (m.voters.empty()) m.voters.push_back(1);
    const auto got = joint_committed_index(m, [&](node_id id) { return match.at(id); });
    BOOST_TEST(got == oracle_joint(m, match));
  }
}

BOOST_AUTO_TEST_CASE(a_joint_election_is_won_only_in_both_halves_and_lost_in_either) {
  const membership m{{3, 4, 5}, {}, {1, 2, 3}};
  BOOST_TEST((joint_tally(m, {{1, true}, {2, true}}) == vote_result::pending));
  BOOST_TEST((joint_tally(m, {{1, true}, {3, true}, {4, true}}) == vote_result::won));
  BOOST_TEST((joint_tally(m, {{4, false}, {5, false}, {1, true}, {2, true}}) == vote_result::lost));
  BOOST_TEST((joint_tally(m, {{9, true}, {1, true}, {2, true}}) == vote_result::pending));  // 9 not a voter
  BOOST_TEST(joint_quorum(m, [](node_id id) { return id == 3 || id == 4 || id == 1; }));
  BOOST_TEST(!joint_quorum(m, [](node_id id) { return id == 1 || id == 2; }));
}

BOOST_AUTO_TEST_CASE(the_storage_names_its_last_configuration_entry) {
  memory_log_storage st;
  std::vector<log_entry> es;
  for (index_t i = 1; i <= 600; ++i) {
    const bool conf = i == 3 || i == 520;
    es.push_back({1, i, conf ? entry_type::config : entry_type::normal,
                  conf ? encode_membership(membership{{1}, {}, {}}) : "x"});
  }
  BOOST_REQUIRE(st.append(es).ok());
  BOOST_TEST(*st.last_config_index(600) == 520u);
  BOOST_TEST(*st.last_config_index(519) == 3u);
  BOOST_TEST(*st.last_config_index(2) == 0u);
}

BOOST_AUTO_TEST_CASE(a_restarted_node_uses_the_latest_configuration_in_its_log_not_its_flags) {
  // thesis §4.1: the configuration lives in the log; once there is one, the bootstrap list is ignored.
  memory_log_storage st;
  std::vector<log_entry> es{{1, 1, entry_type::no_op, {}},
                            {1, 2, entry_type::config, encode_membership(membership{{1, 2, 3, 4}, {}, {1, 2, 3}})},
                            {1, 3, entry_type::config, encode_membership(membership{{1, 2, 3, 4}, {5}, {}})}};
  BOOST_REQUIRE(st.append(es).ok());
  BOOST_REQUIRE(st.set_hard_state({1, no_node, 2}).ok());
  BOOST_REQUIRE(st.sync().ok());
  config c;
  c.id = 4;
  c.voters = {};  // a node that joined: no bootstrap list
  auto n = node::create(c, st);
  BOOST_REQUIRE(n.ok());
  BOOST_TEST((*n)->membership_index() == 3u);
  BOOST_TEST(((*n)->current_membership() == membership{{1, 2, 3, 4}, {5}, {}}));
  BOOST_TEST((*n)->status().conf_change_pending);  // index 3 is above commit 2
  // A corrupt stored configuration stops the node with a named error.
  memory_log_storage bad;
  BOOST_REQUIRE(bad.append(std::vector<log_entry>{{1, 1, entry_type::config, "junk"}}).ok());
  auto refused = node::create(c, bad);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST((refused.err().code == troupe::errc::corrupt));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(member_addresses_travel_in_the_configuration_and_follow_the_members) {
  // Every node, a new one too, learns its peers' addresses from the configuration in the log.
  const membership m{{1, 2, 3}, {}, {}, {{1, "h1:7101"}, {2, "h2:7102"}, {3, "h3:7103"}}};
  auto back = decode_membership(encode_membership(m));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((*back == m));
  // Adding a learner records its address; promoting it keeps it.
  auto l = apply_conf_changes(m, {{conf_change::kind::add_learner, 4, "h4:7104"}});
  BOOST_REQUIRE(l.ok());
  BOOST_TEST(*address_of(*l, 4) == "h4:7104");
  auto p = apply_conf_changes(*l, {{conf_change::kind::add_voter, 4, ""}, {conf_change::kind::remove, 1, ""}});
  BOOST_REQUIRE(p.ok());
  // While joint the outgoing voter keeps its address (it still votes in C_old); C_new drops it.
  BOOST_TEST(address_of(*p, 1) != nullptr);
  BOOST_TEST(*address_of(*p, 4) == "h4:7104");
  const auto n = leave_joint(*p);
  BOOST_TEST(address_of(n, 1) == nullptr);
  BOOST_TEST(n.addresses.size() == 3u);
  // Removing a learner (no joint phase) drops its address at once.
  auto r = apply_conf_changes(*l, {{conf_change::kind::remove, 4, ""}});
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(address_of(*r, 4) == nullptr);
  // A payload without addresses (version 1) still decodes.
  BOOST_TEST(decode_membership(encode_membership(membership{{1, 2}, {}, {}})).ok());
}

BOOST_AUTO_TEST_CASE(bad_member_addresses_are_refused) {
  membership stray{{1, 2}, {}, {}, {{9, "h9:1"}}};  // not a member
  BOOST_TEST(!decode_membership(encode_membership(stray)).ok());
  membership empty{{1, 2}, {}, {}, {{1, ""}}};
  BOOST_TEST(!decode_membership(encode_membership(empty)).ok());
  BOOST_TEST(!apply_conf_changes(membership{{1}, {}, {}},
                                 {{conf_change::kind::add_learner, 2, std::string(max_member_address_bytes + 1, 'x')}})
                  .ok());
  // Random corruptions of a payload with addresses: error values, never a crash.
  const std::string good = encode_membership(membership{{1, 2}, {3}, {}, {{1, "a:1"}, {3, "c:3"}}});
  std::uint64_t s = 7;
  for (int i = 0; i < 20000; ++i) {
    std::string b = good;
    b[mix(s) % b.size()] = static_cast<char>(mix(s));
    if (i % 3 == 0) b.resize(mix(s) % (good.size() + 1));
    auto r = decode_membership(b);
    if (r) BOOST_TEST(!r->voters.empty());
  }
}
