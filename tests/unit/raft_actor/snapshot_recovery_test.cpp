// Restart from a snapshot (consensus/actor/snapshot_recovery.hpp): the state machine comes back from
// the latest snapshot and the core is told to replay only what follows; a log compacted past the
// snapshot (or with none) and a damaged or refused image stop the start with a clear error.
#define BOOST_TEST_MODULE raft_snapshot_recovery
#include <boost/test/unit_test.hpp>

#include "consensus/actor/snapshot_recovery.hpp"
#include "tests/support/process.hpp"
#include "tests/support/journal_machine.hpp"

using namespace troupe;
using namespace troupe::raft;

namespace {

using test_support::journal;

snapshot_metadata meta(index_t index, term_t term) {
  snapshot_metadata m;
  m.last_index = index;
  m.last_term = term;
  m.membership.voters = {1, 2, 3};
  return m;
}

struct files {
  test::temp_dir dir{"snap-recovery"};
  std::string log = dir.file("raft-1.db");
  std::string snaps = snapshot_path_for(log);

  std::unique_ptr<sqlite_log_storage> open_log(index_t entries, index_t compact_through, term_t term = 1) {
    auto s = sqlite_log_storage::open(log);
    BOOST_REQUIRE(s.ok());
    if ((*s)->last_index() == 0) {
      std::vector<log_entry> es;
      for (index_t i = 1; i <= entries; ++i) es.push_back({term, i, entry_type::normal, "c" + std::to_string(i)});
      BOOST_REQUIRE((*s)->append(es).ok());
    }
    if (compact_through > 0) BOOST_REQUIRE((*s)->apply_snapshot(meta(compact_through, term)).ok());
    BOOST_REQUIRE((*s)->sync().ok());
    return std::move(*s);
  }
  void save(index_t index, const std::string& image) {
    auto st = sqlite_snapshot_store::open(snaps);
    BOOST_REQUIRE(st.ok());
    BOOST_REQUIRE((*st)->save(meta(index, 1), image).ok());
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_snapshot_file_lies_beside_the_log) {
  BOOST_TEST(snapshot_path_for("/data/raft-1.db") == "/data/raft-1-snapshots.db");
  BOOST_TEST(snapshot_path_for("/data/log") == "/data/log-snapshots.db");
}

BOOST_AUTO_TEST_CASE(without_a_snapshot_the_whole_log_is_replayed) {
  files f;
  auto log = f.open_log(5, 0);
  journal sm;
  auto r = recover_from_snapshot(f.snaps, *log, sm);
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->applied == 0u);
  BOOST_TEST(r->snapshots != nullptr);
  BOOST_TEST(sm.applied_index() == 0u);
}

BOOST_AUTO_TEST_CASE(the_state_machine_starts_from_the_latest_snapshot_and_the_core_after_it) {
  files f;
  f.save(3, "c1;c2;c3;");
  auto log = f.open_log(5, 3);  // the log keeps 4..5
  journal sm;
  auto r = recover_from_snapshot(f.snaps, *log, sm);
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->applied == 3u);
  BOOST_TEST(sm.applied_index() == 3u);
  BOOST_TEST(sm.query("") == "c1;c2;c3;");
  // A snapshot newer than the log's start (saved, the log not compacted yet: a crash in between).
  files g;
  g.save(4, "c1;c2;c3;c4;");
  auto log2 = g.open_log(5, 0);
  journal sm2;
  auto r2 = recover_from_snapshot(g.snaps, *log2, sm2);
  BOOST_TEST_REQUIRE(r2.ok());
  BOOST_TEST(r2->applied == 4u);
}

BOOST_AUTO_TEST_CASE(a_log_compacted_past_its_snapshot_or_without_one_refuses_the_start) {
  files f;
  auto log = f.open_log(5, 3);
  journal sm;
  auto none = recover_from_snapshot(f.snaps, *log, sm);
  BOOST_TEST_REQUIRE(!none.ok());
  BOOST_TEST((none.err().code == errc::corrupt));
  BOOST_TEST(none.err().message.find("holds no snapshot") != std::string::npos, none.err().message);
  f.save(2, "c1;c2;");
  auto older = recover_from_snapshot(f.snaps, *log, sm);
  BOOST_TEST_REQUIRE(!older.ok());
  BOOST_TEST(older.err().message.find("index 2") != std::string::npos, older.err().message);
  BOOST_TEST(sm.applied_index() == 0u);
}

BOOST_AUTO_TEST_CASE(an_image_the_state_machine_refuses_stops_the_start_naming_the_file) {
  files f;
  f.save(3, "bad image");
  auto log = f.open_log(5, 3);
  journal sm;
  auto r = recover_from_snapshot(f.snaps, *log, sm);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST((r.err().code == errc::corrupt));
  BOOST_TEST(r.err().message.find(f.snaps) != std::string::npos, r.err().message);
}
