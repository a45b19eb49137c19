#include <boost/test/unit_test.hpp>

#include "consensus/core/memory_log_storage.hpp"
#include "consensus/core/raft_log.hpp"

using namespace troupe::raft;

namespace {
log_entry e(index_t i, term_t t) { return {t, i, entry_type::normal, "v" + std::to_string(i)}; }
std::vector<log_entry> entries_with_terms(std::initializer_list<term_t> terms) {
  std::vector<log_entry> out;
  index_t i = 1;
  for (auto t : terms) out.push_back(e(i++, t));
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(raft_log_ops)

BOOST_AUTO_TEST_CASE(memory_storage_loses_unsynced_writes_at_a_crash) {
  memory_log_storage s;
  auto es = entries_with_terms({1, 1, 2});
  BOOST_TEST(s.append(es).ok());
  BOOST_TEST(s.set_hard_state({2, 1, 0}).ok());
  BOOST_TEST(s.sync().ok());
  std::vector<log_entry> more{e(4, 2)};
  BOOST_TEST(s.append(more).ok());
  s.crash();
  BOOST_TEST(s.last_index() == 3u);
  BOOST_TEST(s.initial_hard_state()->term == 2u);
  s.fail_next_syncs(1);
  BOOST_TEST(s.append(more).ok());
  BOOST_TEST(!s.sync().ok());
  s.crash();
  BOOST_TEST(s.last_index() == 3u);
}

BOOST_AUTO_TEST_CASE(memory_storage_names_its_errors) {
  memory_log_storage s;
  BOOST_TEST((s.term(5).err().code == troupe::errc::not_found));
  std::vector<log_entry> gap{e(3, 1)};
  BOOST_TEST((s.append(gap).err().code == troupe::errc::invalid_argument));
  BOOST_TEST((s.entries(2, 1, 100).err().code == troupe::errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(append_truncates_a_conflicting_suffix_but_keeps_matching_entries) {
  memory_log_storage s;
  auto es = entries_with_terms({1, 1, 1, 1});
  BOOST_TEST(s.append(es).ok());
  raft_log log(s, 0);
  // stale: entries already present are not truncated (Raft §5.3 step 3 applies only to conflicts)
  std::vector<log_entry> stale{e(2, 1)};
  BOOST_TEST(log.maybe_append(1, 1, stale).value() == 2u);
  BOOST_TEST(log.last_index() == 4u);
  // conflict at 3: 3 and 4 go, the new entries follow
  std::vector<log_entry> fresh{e(3, 2)};
  BOOST_TEST(log.maybe_append(2, 1, fresh).value() == 3u);
  BOOST_TEST(log.last_index() == 3u);
  BOOST_TEST(log.term(3) == 2u);
  // mismatch on prev
  BOOST_TEST(!log.maybe_append(3, 1, {}).has_value());
  BOOST_TEST(log.unstable_entries().size() == 1u);
  log.stable_to(3, 2);
  BOOST_TEST(log.unstable_entries().empty());
}

BOOST_AUTO_TEST_CASE(find_conflict_by_term_skips_a_whole_term) {
  memory_log_storage s;
  auto es = entries_with_terms({1, 1, 2, 2, 2, 4, 4});
  BOOST_TEST(s.append(es).ok());
  raft_log log(s, 0);
  BOOST_TEST((log.find_conflict_by_term(7, 3) == std::pair<index_t, term_t>{5, 2}));
  BOOST_TEST((log.find_conflict_by_term(7, 4) == std::pair<index_t, term_t>{7, 4}));
  BOOST_TEST((log.find_conflict_by_term(4, 1) == std::pair<index_t, term_t>{2, 1}));
  BOOST_TEST((log.find_conflict_by_term(7, 0) == std::pair<index_t, term_t>{0, 0}));
}

BOOST_AUTO_TEST_CASE(up_to_date_compares_last_term_then_length) {
  memory_log_storage s;
  auto es = entries_with_terms({1, 2, 2});
  BOOST_TEST(s.append(es).ok());
  raft_log log(s, 0);
  BOOST_TEST(log.is_up_to_date(1, 3));
  BOOST_TEST(log.is_up_to_date(3, 2));
  BOOST_TEST(!log.is_up_to_date(2, 2));
  BOOST_TEST(!log.is_up_to_date(9, 1));
}

BOOST_AUTO_TEST_CASE(entries_span_storage_and_the_unstable_tail_within_the_byte_limit) {
  memory_log_storage s;
  auto es = entries_with_terms({1, 1});
  BOOST_TEST(s.append(es).ok());
  raft_log log(s, 0);
  log.append({e(3, 2), e(4, 2)});
  BOOST_TEST(log.entries(1, 5, 1000).size() == 4u);
  BOOST_TEST(log.entries(1, 5, 1).size() == 1u);  // at least one even over the limit
  BOOST_TEST(log.entries(2, 4, 4).size() == 2u);
  log.commit_to(3);
  BOOST_TEST(log.next_committed_entries(0, 2).size() == 2u);
  BOOST_TEST(log.next_committed_entries(2, 10).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
