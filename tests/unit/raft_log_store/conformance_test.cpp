// The log_storage contract, checked on both implementations with the same expectations: the
// in-memory one (simulation) and the SQLite log store. The SQLite store runs with a tiny tail so
// reads of older entries go to the file.
#define BOOST_TEST_MODULE raft_log_store_conformance
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <memory>

#include "consensus/core/memory_log_storage.hpp"
#include "consensus/storage/sqlite_log_storage.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/raft_log_store/test_support.hpp"

using namespace troupe;
using namespace troupe::raft;
using namespace troupe::raft::test;

namespace {

struct memory_store {
  static constexpr const char* name = "memory";
  std::unique_ptr<log_storage> make() { return std::make_unique<memory_log_storage>(); }
};

struct sqlite_store {
  static constexpr const char* name = "sqlite";
  troupe::test::temp_dir dir{"raft-log-conformance"};
  std::unique_ptr<log_storage> make() {
    sqlite_log_storage_options opts;
    opts.tail_max_entries = 3;
    opts.tail_max_bytes = 64;
    opts.background_checkpoint = false;
    auto store = sqlite_log_storage::open(dir.file("log.db"), opts);
    BOOST_TEST_REQUIRE(store.ok(), why(store));
    return std::move(*store);
  }
};

using implementations = boost::mpl::list<memory_store, sqlite_store>;

template <class T>
errc code_of(const result<T>& r) {
  BOOST_TEST_REQUIRE(!r.ok());
  return r.err().code;
}
errc code_of(const status& s) {
  BOOST_TEST_REQUIRE(!s.ok());
  return s.err().code;
}

std::vector<log_entry> all(const log_storage& s) {
  auto r = s.entries(s.first_index(), s.last_index() + 1, UINT64_MAX);
  BOOST_TEST_REQUIRE(r.ok(), why(r));
  return *r;
}

}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(an_empty_log_has_only_index_zero, Impl, implementations) {
  Impl impl;
  auto s = impl.make();
  BOOST_TEST(s->first_index() == 1u);
  BOOST_TEST(s->last_index() == 0u);
  BOOST_TEST(*s->term(0) == 0u);
  BOOST_TEST(code_of(s->term(1)) == errc::not_found);
  BOOST_TEST(s->entries(1, 1, 100)->empty());
  BOOST_TEST(code_of(s->entries(1, 2, 100)) == errc::not_found);
  BOOST_TEST(code_of(s->entries(0, 1, 100)) == errc::not_found);
  BOOST_TEST(code_of(s->entries(2, 1, 100)) == errc::invalid_argument);
  BOOST_TEST((*s->initial_hard_state() == hard_state{}));
  BOOST_TEST(s->sync().ok());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(appended_entries_are_read_back_before_and_after_sync, Impl,
                              implementations) {
  Impl impl;
  auto s = impl.make();
  const auto first = run_of(1, 5, 1);
  BOOST_TEST_REQUIRE(s->append(first).ok());
  BOOST_TEST(s->last_index() == 5u);
  BOOST_TEST(all(*s) == first);
  BOOST_TEST_REQUIRE(s->sync().ok());
  const auto second = run_of(6, 4, 2);
  BOOST_TEST_REQUIRE(s->append(second).ok());
  BOOST_TEST_REQUIRE(s->sync().ok());
  for (index_t i = 1; i <= 9; ++i) BOOST_TEST(*s->term(i) == (i <= 5 ? 1u : 2u));
  BOOST_TEST(code_of(s->term(10)) == errc::not_found);
  auto middle = s->entries(4, 8, UINT64_MAX);
  BOOST_TEST_REQUIRE(middle.ok(), why(middle));
  BOOST_TEST(middle->size() == 4u);
  BOOST_TEST(middle->front() == first[3]);
  BOOST_TEST(middle->back() == second[1]);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(append_deletes_the_conflicting_suffix, Impl, implementations) {
  Impl impl;
  auto s = impl.make();
  BOOST_TEST_REQUIRE(s->append(run_of(1, 6, 1)).ok());
  BOOST_TEST_REQUIRE(s->sync().ok());
  // Raft §5.3: a new leader's entries at 3..4 replace 3..6.
  const auto replacement = run_of(3, 2, 2);
  BOOST_TEST_REQUIRE(s->append(replacement).ok());
  BOOST_TEST(s->last_index() == 4u);
  BOOST_TEST(*s->term(2) == 1u);
  BOOST_TEST(*s->term(3) == 2u);
  BOOST_TEST(code_of(s->term(5)) == errc::not_found);
  BOOST_TEST_REQUIRE(s->sync().ok());
  auto expected = run_of(1, 2, 1);
  expected.insert(expected.end(), replacement.begin(), replacement.end());
  BOOST_TEST(all(*s) == expected);
  // Replacing from index 1 (before any tail) and twice before one sync.
  BOOST_TEST_REQUIRE(s->append(run_of(1, 3, 3)).ok());
  BOOST_TEST_REQUIRE(s->append(run_of(2, 1, 4)).ok());
  BOOST_TEST_REQUIRE(s->sync().ok());
  expected = run_of(1, 1, 3);
  expected.push_back(run_of(2, 1, 4).front());
  BOOST_TEST(all(*s) == expected);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(append_refuses_gaps_and_non_consecutive_entries, Impl,
                              implementations) {
  Impl impl;
  auto s = impl.make();
  BOOST_TEST(code_of(s->append(run_of(2, 1, 1))) == errc::invalid_argument);
  BOOST_TEST(code_of(s->append(run_of(0, 1, 1))) == errc::invalid_argument);
  std::vector<log_entry> holes{entry(1, 1), entry(3, 1)};
  BOOST_TEST(code_of(s->append(holes)) == errc::invalid_argument);
  BOOST_TEST(s->append(std::vector<log_entry>{}).ok());
  BOOST_TEST(s->last_index() == 0u);  // nothing of the refused appends was kept
  BOOST_TEST_REQUIRE(s->append(run_of(1, 2, 1)).ok());
  BOOST_TEST(code_of(s->append(run_of(4, 1, 1))) == errc::invalid_argument);
  BOOST_TEST(s->last_index() == 2u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(entries_stop_at_max_bytes_but_return_at_least_one, Impl,
                              implementations) {
  Impl impl;
  auto s = impl.make();
  std::vector<log_entry> es;
  for (index_t i = 1; i <= 8; ++i) es.push_back(entry(i, 1, std::string(10, 'a')));
  BOOST_TEST_REQUIRE(s->append(es).ok());
  BOOST_TEST_REQUIRE(s->sync().ok());  // older entries now come from the file (sqlite)
  BOOST_TEST(s->entries(1, 9, 0)->size() == 1u);
  BOOST_TEST(s->entries(1, 9, 9)->size() == 1u);
  BOOST_TEST(s->entries(1, 9, 10)->size() == 1u);
  BOOST_TEST(s->entries(1, 9, 29)->size() == 2u);
  BOOST_TEST(s->entries(1, 9, 30)->size() == 3u);
  BOOST_TEST(s->entries(2, 9, 70)->size() == 7u);
  BOOST_TEST(s->entries(2, 9, 69)->size() == 6u);
  BOOST_TEST(s->entries(7, 9, 0)->size() == 1u);
  BOOST_TEST(s->entries(3, 3, 0)->empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(hard_state_reads_back_as_set, Impl, implementations) {
  Impl impl;
  auto s = impl.make();
  BOOST_TEST_REQUIRE(s->set_hard_state(hard_state{3, 2, 0}).ok());
  BOOST_TEST((*s->initial_hard_state() == hard_state{3, 2, 0}));
  BOOST_TEST_REQUIRE(s->sync().ok());
  BOOST_TEST_REQUIRE(s->set_hard_state(hard_state{4, no_node, 7}).ok());
  BOOST_TEST((*s->initial_hard_state() == hard_state{4, no_node, 7}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(random_operations_read_the_same_as_the_memory_model, Impl,
                              implementations) {
  std::uint64_t rng = seed_for("random_operations_read_the_same_as_the_memory_model");
  Impl impl;
  auto s = impl.make();
  memory_log_storage model;
  term_t term = 1;
  for (int step = 0; step < 400; ++step) {
    const auto op = splitmix(rng) % 10;
    if (op < 6) {
      const index_t last = model.last_index();
      const index_t back = splitmix(rng) % 4 == 0 ? std::min<index_t>(last, splitmix(rng) % 6) : 0;
      if (back > 0) ++term;  // a conflicting suffix comes from a later leader
      std::vector<log_entry> es;
      const index_t first = last + 1 - back;
      for (index_t i = first; i < first + 1 + splitmix(rng) % 5; ++i) {
        es.push_back(entry(i, term, random_bytes(rng, splitmix(rng) % 40)));
      }
      BOOST_TEST_REQUIRE(model.append(es).ok());
      BOOST_TEST_REQUIRE(s->append(es).ok(), "step " << step);
    } else if (op < 8) {
      BOOST_TEST_REQUIRE(s->sync().ok(), "step " << step);
    } else {
      const hard_state hs{term, splitmix(rng) % 4, std::min<index_t>(model.last_index(), step)};
      BOOST_TEST_REQUIRE(model.set_hard_state(hs).ok());
      BOOST_TEST_REQUIRE(s->set_hard_state(hs).ok());
    }
    BOOST_TEST_REQUIRE(s->last_index() == model.last_index(), "step " << step);
    for (index_t i = 0; i <= model.last_index(); ++i) {
      BOOST_TEST_REQUIRE(*s->term(i) == *model.term(i), "step " << step << " index " << i);
    }
    const index_t lo = 1 + splitmix(rng) % (model.last_index() + 1);
    const index_t hi = lo + splitmix(rng) % (model.last_index() + 2 - lo);
    const std::uint64_t max_bytes = splitmix(rng) % 200;
    auto got = s->entries(lo, hi, max_bytes);
    BOOST_TEST_REQUIRE(got.ok(), why(got));
    BOOST_TEST_REQUIRE((*got == *model.entries(lo, hi, max_bytes)),
                       "step " << step << " [" << lo << ", " << hi << ") max " << max_bytes);
    BOOST_TEST_REQUIRE((*s->initial_hard_state() == *model.initial_hard_state()));
  }
}
