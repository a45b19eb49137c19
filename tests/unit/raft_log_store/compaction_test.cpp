// Log prefix compaction in the SQLite log store (Raft §7, Figure 13 rules 6 and 7): the first index
// moves up, term(first - 1) answers the snapshot's term, older indexes are not_found, a log that
// conflicts with the snapshot (or is shorter) is discarded whole; all of it durable only with the
// next sync, and the same after a reopen. last_config_index agrees with the default scan.
#define BOOST_TEST_MODULE raft_log_store_compaction
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include "consensus/storage/schema.hpp"
#include "consensus/storage/sqlite_log_storage.hpp"
#include "runtime/storage/database.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/raft_log_store/test_support.hpp"

using namespace troupe;
using namespace troupe::raft;
using namespace troupe::raft::test;

namespace {

sqlite_log_storage_options opts(std::size_t tail = 4096) {
  sqlite_log_storage_options o;
  o.background_checkpoint = false;
  o.tail_max_entries = tail;
  return o;
}

std::unique_ptr<sqlite_log_storage> open_ok(const std::string& path, const sqlite_log_storage_options& o = opts()) {
  auto store = sqlite_log_storage::open(path, o);
  BOOST_TEST_REQUIRE(store.ok(), why(store));
  return std::move(*store);
}

/// Entries 1..20: terms 1 (1-8), 2 (9-15), 3 (16-20).
void fill(sqlite_log_storage& s) {
  BOOST_TEST_REQUIRE(s.append(run_of(1, 8, 1)).ok());
  BOOST_TEST_REQUIRE(s.append(run_of(9, 7, 2)).ok());
  BOOST_TEST_REQUIRE(s.append(run_of(16, 5, 3)).ok());
}

void expect_compacted_at(const sqlite_log_storage& s, index_t through, term_t term, index_t last) {
  BOOST_TEST(s.first_index() == through + 1);
  BOOST_TEST(s.last_index() == last);
  BOOST_TEST(*s.term(through) == term);
  if (through > 1) BOOST_TEST((s.term(through - 1).err().code == errc::not_found));
  BOOST_TEST((s.entries(through, last + 1, UINT64_MAX).err().code == errc::not_found));
  if (last > through) {
    auto rest = s.entries(through + 1, last + 1, UINT64_MAX);
    BOOST_TEST_REQUIRE(rest.ok(), why(rest));
    BOOST_TEST(rest->size() == last - through);
    BOOST_TEST(rest->front().index == through + 1);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(compacting_inside_the_log_keeps_the_suffix_and_survives_a_reopen) {
  for (std::size_t tail : {4096u, 3u}) {  // entries served from memory, then from the file
    troupe::test::temp_dir dir{"raft-compact"};
    const auto path = dir.file("raft.db");
    {
      auto s = open_ok(path, opts(tail));
      fill(*s);
      BOOST_TEST_REQUIRE(s->sync().ok());
      BOOST_TEST_REQUIRE(s->apply_snapshot(snap(12, 2)).ok());
      expect_compacted_at(*s, 12, 2, 20);
      BOOST_TEST(*s->term(16) == 3u);
      BOOST_TEST((s->last_snapshot() == snap(12, 2)));
      BOOST_TEST_REQUIRE(s->sync().ok());
      BOOST_TEST(s->check_integrity().ok());
    }
    auto s = open_ok(path, opts(tail));
    expect_compacted_at(*s, 12, 2, 20);
    BOOST_TEST((s->last_snapshot() == snap(12, 2)));  // with its membership
    // The log goes on: appends, a conflicting suffix above the compaction point.
    BOOST_TEST_REQUIRE(s->append(run_of(18, 4, 4)).ok());
    BOOST_TEST_REQUIRE(s->sync().ok());
    BOOST_TEST(s->last_index() == 21u);
    BOOST_TEST(*s->term(17) == 3u);
    BOOST_TEST(*s->term(18) == 4u);
    BOOST_TEST(s->check_integrity().ok());
  }
}

BOOST_AUTO_TEST_CASE(an_unsynced_compaction_is_lost_by_a_reopen_like_any_buffered_write) {
  troupe::test::temp_dir dir{"raft-compact"};
  const auto path = dir.file("raft.db");
  {
    auto s = open_ok(path);
    fill(*s);
    BOOST_TEST_REQUIRE(s->sync().ok());
    BOOST_TEST_REQUIRE(s->apply_snapshot(snap(10, 2)).ok());
    BOOST_TEST(s->has_unsynced_writes());
    BOOST_TEST(s->check_integrity().ok());  // checks the file, which is not compacted yet
  }
  auto s = open_ok(path);
  BOOST_TEST(s->first_index() == 1u);
  BOOST_TEST(s->last_index() == 20u);
}

BOOST_AUTO_TEST_CASE(a_snapshot_that_conflicts_with_the_log_or_lies_beyond_it_discards_the_whole_log) {
  troupe::test::temp_dir dir{"raft-compact"};
  const auto path = dir.file("raft.db");
  {
    auto s = open_ok(path, opts(3));
    fill(*s);
    BOOST_TEST_REQUIRE(s->sync().ok());
    // Figure 13 rule 7: index 12 holds term 2, the snapshot says term 5.
    BOOST_TEST_REQUIRE(s->apply_snapshot(snap(12, 5)).ok());
    BOOST_TEST(s->first_index() == 13u);
    BOOST_TEST(s->last_index() == 12u);
    BOOST_TEST(*s->term(12) == 5u);
    BOOST_TEST((s->term(13).err().code == errc::not_found));
    BOOST_TEST_REQUIRE(s->sync().ok());
  }
  {
    auto s = open_ok(path, opts(3));
    BOOST_TEST(s->first_index() == 13u);
    BOOST_TEST(s->last_index() == 12u);  // entries 13..20 of the old log are gone from the file too
    BOOST_TEST(*s->term(12) == 5u);
    BOOST_TEST_REQUIRE(s->append(run_of(13, 2, 5)).ok());
    BOOST_TEST_REQUIRE(s->sync().ok());
    // A snapshot beyond the end of the log, with another membership (a joint one).
    snapshot_metadata joint = snap(100, 6, {1, 4});
    joint.membership.learners = {5};
    joint.membership.voters_outgoing = {1, 2, 3};
    BOOST_TEST_REQUIRE(s->apply_snapshot(joint).ok());
    BOOST_TEST_REQUIRE(s->sync().ok());
  }
  auto s = open_ok(path, opts(3));
  BOOST_TEST(s->first_index() == 101u);
  BOOST_TEST(s->last_index() == 100u);
  BOOST_TEST(*s->term(100) == 6u);
  BOOST_TEST((s->last_snapshot().membership.voters_outgoing == std::vector<node_id>{1, 2, 3}));
  BOOST_TEST((s->last_snapshot().membership.learners == std::vector<node_id>{5}));
  BOOST_TEST(s->check_integrity().ok());
}

BOOST_AUTO_TEST_CASE(compacting_below_the_first_index_changes_nothing_and_compacted_appends_are_skipped) {
  troupe::test::temp_dir dir{"raft-compact"};
  auto s = open_ok(dir.file("raft.db"));
  fill(*s);
  BOOST_TEST_REQUIRE(s->apply_snapshot(snap(10, 2)).ok());
  BOOST_TEST_REQUIRE(s->apply_snapshot(snap(5, 1)).ok());
  BOOST_TEST(s->first_index() == 11u);
  BOOST_TEST((s->apply_snapshot(snap(0, 1)).err().code == errc::invalid_argument));
  // The same snapshot point again (first index - 1) with another membership: only that changes.
  BOOST_TEST_REQUIRE(s->apply_snapshot(snap(10, 2, {7})).ok());
  BOOST_TEST(s->last_index() == 20u);
  BOOST_TEST((s->last_snapshot().membership.voters == std::vector<node_id>{7}));
  // A leader's retransmission of entries 8..12: the covered ones are skipped, 11 and 12 match.
  BOOST_TEST_REQUIRE(s->append(run_of(8, 5, 1)).ok());  // term 1 for 11, 12: a conflict there
  BOOST_TEST(s->last_index() == 12u);
  BOOST_TEST(*s->term(10) == 2u);
  BOOST_TEST(*s->term(11) == 1u);
  BOOST_TEST_REQUIRE(s->sync().ok());
  BOOST_TEST(s->check_integrity().ok());
}

BOOST_AUTO_TEST_CASE(last_config_index_agrees_with_the_default_scan_in_memory_in_the_file_and_after_compaction) {
  troupe::test::temp_dir dir{"raft-compact"};
  auto s = open_ok(dir.file("raft.db"), opts(4));
  std::vector<log_entry> es;
  for (index_t i = 1; i <= 40; ++i) {
    es.push_back(entry(i, 1 + i / 10, "x", i % 7 == 0 ? entry_type::config : entry_type::normal));
  }
  BOOST_TEST_REQUIRE(s->append(std::span(es).subspan(0, 30)).ok());
  BOOST_TEST_REQUIRE(s->sync().ok());  // 1..26 in the file only, 27..30 in the tail
  BOOST_TEST_REQUIRE(s->append(std::span(es).subspan(30)).ok());  // 31..40 unsynced
  auto agree = [&](const std::string& when) {
    for (index_t at = 0; at <= 45; ++at) {
      auto fast = s->last_config_index(at);
      auto slow = s->log_storage::last_config_index(at);
      BOOST_TEST_REQUIRE(fast.ok(), why(fast));
      BOOST_TEST_REQUIRE(*fast == *slow, when << ": at " << at << " fast " << *fast << " scan " << *slow);
    }
  };
  agree("before compaction");
  BOOST_TEST(*s->last_config_index(40) == 35u);
  BOOST_TEST(*s->last_config_index(20) == 14u);
  BOOST_TEST_REQUIRE(s->apply_snapshot(snap(15, 2)).ok());
  agree("after compaction");
  BOOST_TEST(*s->last_config_index(20) == 0u);
  BOOST_TEST_REQUIRE(s->sync().ok());
  agree("after sync");
}

BOOST_AUTO_TEST_CASE(a_version_1_file_is_migrated_and_a_damaged_compaction_point_is_refused) {
  troupe::test::temp_dir dir{"raft-compact"};
  const auto path = dir.file("raft.db");
  {
    // A file as the first release wrote it.
    storage::options o;
    o.migrations = {log_store::schema_migrations().front()};
    o.background_checkpoint = false;
    auto db = storage::database::open(path, o);
    BOOST_TEST_REQUIRE(db.ok(), why(db));
  }
  {
    auto s = open_ok(path);
    BOOST_TEST(s->first_index() == 1u);
    fill(*s);
    BOOST_TEST_REQUIRE(s->apply_snapshot(snap(9, 2)).ok());
    BOOST_TEST_REQUIRE(s->sync().ok());
  }
  {
    storage::options o;
    o.migrations = log_store::schema_migrations();
    o.background_checkpoint = false;
    auto db = storage::database::open(path, o);
    BOOST_TEST_REQUIRE(db.ok(), why(db));
    BOOST_TEST(db->schema_version() == log_store::schema_version);
    BOOST_TEST_REQUIRE(db->exec("UPDATE log_start SET prev_term = 7").ok());
  }
  auto bad = sqlite_log_storage::open(path, opts());
  BOOST_TEST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.err().code == errc::corrupt);
  BOOST_TEST(bad.err().message.find("compaction point") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_compacted_prefix_leaves_the_file_a_bounded_slice_per_sync_and_a_reopen_skips_the_rest) {
  troupe::test::temp_dir dir{"raft-compact-prune"};
  const auto path = dir.file("raft.db");
  auto rows = [&] {  // straight from the file, beside the open store
    sqlite3* db = nullptr;
    BOOST_TEST_REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    BOOST_TEST_REQUIRE(sqlite3_prepare_v2(db, "SELECT COUNT(*), IFNULL(MIN(idx), 0) FROM entries", -1, &st, nullptr) ==
                       SQLITE_OK);
    BOOST_TEST_REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    std::pair<std::int64_t, std::int64_t> out{sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  };
  auto o = opts();
  o.prune_entries_per_sync = 5;
  {
    auto s = open_ok(path, o);
    fill(*s);
    BOOST_TEST_REQUIRE(s->sync().ok());
    BOOST_TEST_REQUIRE(s->apply_snapshot(snap(12, 2)).ok());
    BOOST_TEST_REQUIRE(s->sync().ok());
    BOOST_TEST((rows() == std::pair<std::int64_t, std::int64_t>{15, 6}));  // 1..5 deleted, 6..20 left
    expect_compacted_at(*s, 12, 2, 20);
  }
  {
    auto s = open_ok(path, o);  // rows 6..12 are below the compaction point: skipped, not refused
    expect_compacted_at(*s, 12, 2, 20);
    BOOST_TEST(s->check_integrity().ok());
    BOOST_TEST_REQUIRE(s->append(run_of(21, 1, 3)).ok());
    BOOST_TEST_REQUIRE(s->sync().ok());
    BOOST_TEST((rows() == std::pair<std::int64_t, std::int64_t>{11, 11}));  // 6..10 deleted: 11..21 left
    BOOST_TEST_REQUIRE(s->append(run_of(22, 1, 3)).ok());
    BOOST_TEST_REQUIRE(s->sync().ok());
    BOOST_TEST((rows() == std::pair<std::int64_t, std::int64_t>{10, 13}));  // 11, 12 deleted: none left below
    expect_compacted_at(*s, 12, 2, 22);
  }
}
