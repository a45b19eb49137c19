// The SQLite log store beyond the shared contract: recovery gives exactly what was synced, the
// applied index, refusal of a damaged file (naming the file and the index), the tail bound, and a
// failed sync that leaves the store failed for good.
#define BOOST_TEST_MODULE raft_log_store_sqlite
#include <boost/test/unit_test.hpp>

#include "consensus/storage/schema.hpp"
#include "consensus/storage/sqlite_log_storage.hpp"
#include "runtime/storage/database.hpp"
#include "runtime/storage/fault_vfs.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/raft_log_store/test_support.hpp"

using namespace troupe;
using namespace troupe::raft;
using namespace troupe::raft::test;

namespace {

sqlite_log_storage_options quiet_options() {
  sqlite_log_storage_options opts;
  opts.background_checkpoint = false;
  return opts;
}

std::unique_ptr<sqlite_log_storage> open_ok(const std::string& path,
                                            const sqlite_log_storage_options& opts = quiet_options()) {
  auto store = sqlite_log_storage::open(path, opts);
  BOOST_TEST_REQUIRE(store.ok(), why(store));
  return std::move(*store);
}

std::vector<log_entry> all(const log_storage& s) {
  auto r = s.entries(1, s.last_index() + 1, UINT64_MAX);
  BOOST_TEST_REQUIRE(r.ok(), why(r));
  return *r;
}

/// Runs `sql` on the file directly, as a tool (or a disk) would, with the store closed.
void tamper(const std::string& path, const std::string& sql) {
  storage::options opts;
  opts.migrations = log_store::schema_migrations();
  opts.background_checkpoint = false;
  auto db = storage::database::open(path, opts);
  BOOST_TEST_REQUIRE(db.ok(), why(db));
  auto s = db->exec(sql);
  BOOST_TEST_REQUIRE(s.ok(), why(s));
}

/// Flips the lowest bit of the first payload byte of the entry at `index`, as bit rot would.
void flip_payload_bit(const std::string& path, index_t index) {
  storage::options opts;
  opts.migrations = log_store::schema_migrations();
  opts.background_checkpoint = false;
  auto db = storage::database::open(path, opts);
  BOOST_TEST_REQUIRE(db.ok(), why(db));
  std::string data;
  {
    auto read = db->prepare("SELECT data FROM entries WHERE idx = ?");
    BOOST_TEST_REQUIRE(read.ok(), why(read));
    BOOST_TEST_REQUIRE(read->bind_int64(1, static_cast<std::int64_t>(index)).ok());
    BOOST_TEST_REQUIRE(*read->step());
    const auto blob = read->column_blob(0);
    data.assign(reinterpret_cast<const char*>(blob.data()), blob.size());
  }
  BOOST_TEST_REQUIRE(!data.empty());
  data[0] = static_cast<char>(data[0] ^ 1);
  auto write = db->prepare("UPDATE entries SET data = ? WHERE idx = ?");
  BOOST_TEST_REQUIRE(write.ok(), why(write));
  BOOST_TEST_REQUIRE(
      write->bind_blob(1, std::as_bytes(std::span<const char>(data.data(), data.size()))).ok());
  BOOST_TEST_REQUIRE(write->bind_int64(2, static_cast<std::int64_t>(index)).ok());
  BOOST_TEST_REQUIRE(write->run().ok());
  BOOST_TEST_REQUIRE(write->changes() == 1);
}

/// A file with entries 1..10 (term 1, then term 2 from 6) and hard state {2, 1, 4}.
std::vector<log_entry> write_sample(const std::string& path) {
  auto store = open_ok(path);
  auto es = run_of(1, 5, 1);
  const auto more = run_of(6, 5, 2);
  es.insert(es.end(), more.begin(), more.end());
  BOOST_TEST_REQUIRE(store->append(es).ok());
  BOOST_TEST_REQUIRE(store->set_hard_state(hard_state{2, 1, 4}).ok());
  BOOST_TEST_REQUIRE(store->sync().ok());
  return es;
}

void expect_refused(const std::string& path, const std::string& what) {
  auto store = sqlite_log_storage::open(path, quiet_options());
  BOOST_TEST_REQUIRE(!store.ok());
  BOOST_TEST(store.err().code == errc::corrupt);
  BOOST_TEST(store.err().message.find(path) != std::string::npos, store.err().message);
  BOOST_TEST(store.err().message.find(what) != std::string::npos, store.err().message);
}

}  // namespace

BOOST_AUTO_TEST_CASE(reopen_gives_exactly_what_was_synced) {
  troupe::test::temp_dir dir;
  const auto path = dir.file("log.db");
  const auto synced = write_sample(path);
  {
    auto store = open_ok(path);
    BOOST_TEST(all(*store) == synced);
    BOOST_TEST((*store->initial_hard_state() == hard_state{2, 1, 4}));
    // Unsynced writes: a conflicting suffix, new entries, a new hard state. Closing without sync
    // drops them, as a crash would.
    BOOST_TEST_REQUIRE(store->append(run_of(8, 6, 3)).ok());
    BOOST_TEST_REQUIRE(store->set_hard_state(hard_state{3, 2, 9}).ok());
    BOOST_TEST(store->has_unsynced_writes());
  }
  auto store = open_ok(path);
  BOOST_TEST(all(*store) == synced);
  BOOST_TEST((*store->initial_hard_state() == hard_state{2, 1, 4}));
  BOOST_TEST(!store->has_unsynced_writes());
  BOOST_TEST(store->check_integrity().ok());
}

BOOST_AUTO_TEST_CASE(a_synced_truncation_survives_reopen) {
  troupe::test::temp_dir dir;
  const auto path = dir.file("log.db");
  auto expected = write_sample(path);
  {
    auto store = open_ok(path);
    BOOST_TEST_REQUIRE(store->append(run_of(4, 2, 3)).ok());
    BOOST_TEST_REQUIRE(store->sync().ok());
  }
  expected.resize(3);
  const auto replaced = run_of(4, 2, 3);
  expected.insert(expected.end(), replaced.begin(), replaced.end());
  auto store = open_ok(path);
  BOOST_TEST(all(*store) == expected);
  BOOST_TEST(store->last_index() == 5u);
  BOOST_TEST(*store->term(5) == 3u);
}

BOOST_AUTO_TEST_CASE(the_applied_index_is_durable_with_the_next_sync_and_never_goes_back) {
  troupe::test::temp_dir dir;
  const auto path = dir.file("log.db");
  write_sample(path);
  {
    auto store = open_ok(path);
    BOOST_TEST(store->applied() == 0u);
    BOOST_TEST_REQUIRE(store->set_applied(3).ok());
    BOOST_TEST(store->set_applied(2).err().code == errc::invalid_argument);
    BOOST_TEST_REQUIRE(store->sync().ok());
    BOOST_TEST_REQUIRE(store->set_applied(4).ok());  // never synced
  }
  auto store = open_ok(path);
  BOOST_TEST(store->applied() == 3u);
}

BOOST_AUTO_TEST_CASE(a_flipped_byte_in_an_entry_refuses_the_open_naming_file_and_index) {
  troupe::test::temp_dir dir;
  const auto path = dir.file("log.db");
  write_sample(path);
  flip_payload_bit(path, 7);
  expect_refused(path, "index 7");
}

BOOST_AUTO_TEST_CASE(an_entry_given_another_term_or_a_missing_entry_refuses_the_open) {
  troupe::test::temp_dir dir;
  const auto path = dir.file("log.db");
  write_sample(path);
  tamper(path, "UPDATE entries SET term = 9 WHERE idx = 2");
  expect_refused(path, "index 2");
  troupe::test::temp_dir dir2;
  const auto path2 = dir2.file("log.db");
  write_sample(path2);
  tamper(path2, "DELETE FROM entries WHERE idx = 3");
  expect_refused(path2, "index 3");
}

BOOST_AUTO_TEST_CASE(a_damaged_hard_state_or_applied_index_refuses_the_open) {
  troupe::test::temp_dir dir;
  const auto path = dir.file("log.db");
  write_sample(path);
  tamper(path, "UPDATE hard_state SET voted_for = 3");
  expect_refused(path, "hard state");
  troupe::test::temp_dir dir2;
  const auto path2 = dir2.file("log.db");
  write_sample(path2);
  {
    auto store = open_ok(path2);
    BOOST_TEST_REQUIRE(store->set_applied(2).ok());
    BOOST_TEST_REQUIRE(store->sync().ok());
  }
  tamper(path2, "UPDATE applied SET applied_index = 5");
  expect_refused(path2, "applied index");
}

BOOST_AUTO_TEST_CASE(the_tail_stays_bounded_and_older_entries_come_from_the_file) {
  troupe::test::temp_dir dir;
  const auto path = dir.file("log.db");
  auto opts = quiet_options();
  opts.tail_max_entries = 4;
  opts.tail_max_bytes = 1u << 20;
  auto store = open_ok(path, opts);
  const auto es = run_of(1, 100, 1);
  BOOST_TEST_REQUIRE(store->append(es).ok());
  BOOST_TEST(store->tail_size() == 100u);  // unsynced entries are never dropped from memory
  BOOST_TEST_REQUIRE(store->sync().ok());
  BOOST_TEST(store->tail_size() == 4u);
  BOOST_TEST(all(*store) == es);
  BOOST_TEST(*store->term(1) == 1u);
  store.reset();
  store = open_ok(path, opts);
  BOOST_TEST(store->tail_size() == 4u);
  BOOST_TEST(all(*store) == es);
  // A conflicting suffix older than the tail: the file's rows are replaced at the next sync.
  BOOST_TEST_REQUIRE(store->append(run_of(50, 2, 2)).ok());
  BOOST_TEST_REQUIRE(store->sync().ok());
  auto expected = run_of(1, 49, 1);
  const auto replaced = run_of(50, 2, 2);
  expected.insert(expected.end(), replaced.begin(), replaced.end());
  BOOST_TEST(all(*store) == expected);
}

BOOST_AUTO_TEST_CASE(a_failed_sync_fails_the_store_for_good_and_loses_only_unsynced_writes) {
  troupe::test::temp_dir dir;
  const auto path = dir.file("log.db");
  auto vfs = storage::fault_vfs::install("raft-log-failing-sync", 1);
  BOOST_TEST_REQUIRE(vfs.ok(), why(vfs));
  auto opts = quiet_options();
  opts.vfs = (*vfs)->name();
  {
    auto store = open_ok(path, opts);
    BOOST_TEST_REQUIRE(store->append(run_of(1, 3, 1)).ok());
    BOOST_TEST_REQUIRE(store->sync().ok());
    BOOST_TEST_REQUIRE(store->append(run_of(4, 3, 1)).ok());
    (*vfs)->fail_syncs();
    auto failed = store->sync();
    BOOST_TEST_REQUIRE(!failed.ok());
    BOOST_TEST(failed.err().code == errc::io, why(failed));
    (*vfs)->clear_faults();
    // Even with the disk back, the store does not guess what reached it.
    BOOST_TEST(store->sync().err().code == errc::io);
    BOOST_TEST(store->append(run_of(7, 1, 1)).err().code == errc::io);
    BOOST_TEST(store->set_hard_state(hard_state{1, 1, 0}).err().code == errc::io);
    // The node stops; the unsynced writes are in no more than the page cache, which a power loss
    // takes with it.
    (*vfs)->crash();
  }
  (*vfs)->restart();
  auto store = open_ok(path, opts);
  BOOST_TEST(all(*store) == run_of(1, 3, 1));
}
