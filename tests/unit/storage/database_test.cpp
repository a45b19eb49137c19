// The SQLite layer: open, pragmas, migrations, statements, transactions.
#define BOOST_TEST_MODULE storage_database
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/storage/database.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/storage/printers.hpp"

using namespace troupe;
using namespace troupe::storage;

namespace {

std::vector<migration> schema_v2() {
  return {
      {1, {"CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB)"}},
      {2,
       {"ALTER TABLE kv ADD COLUMN n INTEGER NOT NULL DEFAULT 0", "CREATE INDEX kv_n ON kv(n)"}}};
}

std::string pragma(database& db, const std::string& name) {
  auto stmt = db.prepare("PRAGMA " + name);
  BOOST_REQUIRE(stmt);
  auto row = stmt->step();
  BOOST_REQUIRE(row && *row);
  return std::string{stmt->column_text(0)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(open_applies_migrations_and_reopen_keeps_data_and_version) {
  test::temp_dir dir;
  const auto path = dir.file("a.db");
  {
    options opts;
    opts.migrations = {schema_v2()[0]};
    auto db = database::open(path, opts);
    BOOST_REQUIRE_MESSAGE(db, why(db));
    BOOST_TEST(db->schema_version() == 1);
    BOOST_REQUIRE(db->exec("INSERT INTO kv(k, v) VALUES ('a', x'01')"));
  }
  {
    options opts;
    opts.migrations = schema_v2();
    auto db = database::open(path, opts);
    BOOST_REQUIRE_MESSAGE(db, why(db));
    BOOST_TEST(db->schema_version() == 2);
    BOOST_TEST(pragma(*db, "user_version") == "2");
    auto select = db->prepare("SELECT k, n FROM kv");
    BOOST_REQUIRE(select);
    auto row = select->step();
    BOOST_REQUIRE(row && *row);
    BOOST_TEST(select->column_text(0) == "a");
    BOOST_TEST(select->column_int64(1) == 0);
  }
}

BOOST_AUTO_TEST_CASE(open_sets_and_reads_back_wal_full_sync_and_no_autocheckpoint) {
  test::temp_dir dir;
  auto db = database::open(dir.file("p.db"));
  BOOST_REQUIRE_MESSAGE(db, why(db));
  BOOST_TEST(pragma(*db, "journal_mode") == "wal");
  BOOST_TEST(pragma(*db, "synchronous") == "2");  // FULL
  BOOST_TEST(pragma(*db, "wal_autocheckpoint") == "0");
}

BOOST_AUTO_TEST_CASE(synchronous_extra_is_applied_when_asked) {
  test::temp_dir dir;
  options opts;
  opts.synchronous = synchronous_mode::extra;
  auto db = database::open(dir.file("p.db"), opts);
  BOOST_REQUIRE_MESSAGE(db, why(db));
  BOOST_TEST(pragma(*db, "synchronous") == "3");
}

BOOST_AUTO_TEST_CASE(a_file_from_a_newer_schema_version_is_refused) {
  test::temp_dir dir;
  const auto path = dir.file("n.db");
  {
    options opts;
    opts.migrations = schema_v2();
    BOOST_REQUIRE(database::open(path, opts));
  }
  options older;
  older.migrations = {schema_v2()[0]};
  auto db = database::open(path, older);
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::unsupported);
  BOOST_TEST(db.err().message.find(path) != std::string::npos);
  BOOST_TEST(db.err().message.find("schema version 2 is newer") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(migrations_must_be_numbered_from_one) {
  test::temp_dir dir;
  options opts;
  opts.migrations = {{2, {"CREATE TABLE t(x)"}}};
  auto db = database::open(dir.file("m.db"), opts);
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_failing_migration_step_leaves_the_file_at_its_old_version) {
  test::temp_dir dir;
  const auto path = dir.file("f.db");
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(x)"}}, {2, {"CREATE TABLE u(y)", "NOT SQL"}}};
  auto db = database::open(path, opts);
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().message.find("schema version 2, step 2") != std::string::npos);
  options v1;
  v1.migrations = {opts.migrations[0]};
  auto again = database::open(path, v1);
  BOOST_REQUIRE_MESSAGE(again, why(again));
  BOOST_TEST(again->schema_version() == 1);
  // Step 1 of version 2 was rolled back with the rest of the migration.
  BOOST_TEST(!again->exec("SELECT * FROM u"));
}

BOOST_AUTO_TEST_CASE(statements_bind_and_read_every_type_and_are_reused) {
  test::temp_dir dir;
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(i INTEGER, d REAL, s TEXT, b BLOB, z)"}}};
  auto db = database::open(dir.file("s.db"), opts);
  BOOST_REQUIRE(db);
  const std::string insert_sql = "INSERT INTO t VALUES (?, ?, ?, ?, ?)";
  const std::byte blob[] = {std::byte{0}, std::byte{0xff}, std::byte{7}};
  for (int round = 0; round < 2; ++round) {
    auto insert = db->prepare(insert_sql);
    BOOST_REQUIRE(insert);
    BOOST_REQUIRE(insert->bind_int64(1, -(std::int64_t{1} << 40)));
    BOOST_REQUIRE(insert->bind_double(2, 0.5));
    BOOST_REQUIRE(insert->bind_text(3, "héllo"));
    BOOST_REQUIRE(insert->bind_blob(4, blob));
    BOOST_REQUIRE(insert->bind_null(5));
    BOOST_REQUIRE(insert->run());
    BOOST_TEST(insert->changes() == 1);
  }
  auto select = db->prepare("SELECT i, d, s, b, z FROM t");
  BOOST_REQUIRE(select);
  int rows = 0;
  for (auto row = select->step(); row && *row; row = select->step()) {
    ++rows;
    BOOST_TEST(select->column_int64(0) == -(std::int64_t{1} << 40));
    BOOST_TEST(select->column_double(1) == 0.5);
    BOOST_TEST(select->column_text(2) == "héllo");
    auto b = select->column_blob(3);
    BOOST_TEST(std::vector<std::byte>(b.begin(), b.end()) ==
               std::vector<std::byte>(std::begin(blob), std::end(blob)));
    BOOST_TEST(select->column_is_null(4));
  }
  BOOST_TEST(rows == 2);
}

BOOST_AUTO_TEST_CASE(prepare_refuses_several_statements_and_reports_sql_errors) {
  test::temp_dir dir;
  auto db = database::open(dir.file("e.db"));
  BOOST_REQUIRE(db);
  auto two = db->prepare("SELECT 1; SELECT 2");
  BOOST_REQUIRE(!two);
  BOOST_TEST(two.err().code == errc::invalid_argument);
  auto bad = db->prepare("SELECT * FROM nowhere");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.err().message.find("no such table: nowhere") != std::string::npos);
  BOOST_TEST(bad.err().message.find(dir.file("e.db")) == 0);
}

BOOST_AUTO_TEST_CASE(a_transaction_not_committed_is_rolled_back_and_commit_makes_it_visible) {
  test::temp_dir dir;
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(x)"}}};
  auto db = database::open(dir.file("t.db"), opts);
  BOOST_REQUIRE(db);
  {
    auto tx = db->begin();
    BOOST_REQUIRE(tx);
    BOOST_REQUIRE(db->exec("INSERT INTO t VALUES (1)"));
  }
  BOOST_TEST(!db->in_transaction());
  {
    auto tx = db->begin();
    BOOST_REQUIRE(tx);
    auto nested = db->begin();
    BOOST_REQUIRE(!nested);
    BOOST_TEST(nested.err().code == errc::invalid_argument);
    BOOST_REQUIRE(db->exec("INSERT INTO t VALUES (2)"));
    BOOST_REQUIRE(tx->commit());
    auto twice = tx->commit();
    BOOST_TEST(!twice);
  }
  auto count = db->prepare("SELECT group_concat(x) FROM t");
  BOOST_REQUIRE(count);
  BOOST_REQUIRE(count->step());
  BOOST_TEST(count->column_text(0) == "2");
}

BOOST_AUTO_TEST_CASE(integrity_check_passes_on_a_healthy_file) {
  test::temp_dir dir;
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(x)", "CREATE INDEX tx ON t(x)"}}};
  opts.check_on_open = true;
  opts.open_check = check_depth::full;
  auto db = database::open(dir.file("i.db"), opts);
  BOOST_REQUIRE_MESSAGE(db, why(db));
  BOOST_REQUIRE(db->exec("INSERT INTO t VALUES (1), (2), (3)"));
  BOOST_TEST(db->check_integrity(check_depth::full));
  BOOST_TEST(db->check_integrity(check_depth::quick));
  BOOST_TEST(db->checkpoint());
}

BOOST_AUTO_TEST_CASE(the_background_checkpointer_checkpoints_the_wal) {
  test::temp_dir dir;
  std::mutex mutex;
  std::condition_variable cv;
  int checkpointed_frames = 0;
  bool all_ok = true;  // Boost.Test is not thread-safe: check on this thread
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(x)"}}};
  opts.checkpoint_wal_pages = 1;                     // wake after every commit
  opts.checkpoint_interval = std::chrono::hours(1);  // so only the WAL size can trigger it
  opts.on_checkpoint = [&](const checkpoint_report& r) {
    std::lock_guard<std::mutex> guard{mutex};
    all_ok = all_ok && r.outcome.ok();
    checkpointed_frames += r.checkpointed_frames;
    cv.notify_all();
  };
  auto db = database::open(dir.file("c.db"), opts);
  BOOST_REQUIRE(db);
  BOOST_REQUIRE(db->exec("INSERT INTO t VALUES (1)"));
  std::unique_lock<std::mutex> lock{mutex};
  BOOST_TEST(cv.wait_for(lock, std::chrono::seconds(30), [&] { return checkpointed_frames > 0; }));
  BOOST_TEST(all_ok);
}

namespace {

/// Commits `count` transactions of one 3,000-byte row each: every commit appends a few WAL frames
/// (a new leaf page, the root, page 1).
void commit_rows(database& db, int count) {
  const std::vector<std::byte> blob(3000, std::byte{7});
  for (int i = 0; i < count; ++i) {
    auto tx = db.begin();
    BOOST_REQUIRE(tx);
    auto insert = db.prepare("INSERT INTO t(v) VALUES (?)");
    BOOST_REQUIRE(insert);
    BOOST_REQUIRE(insert->bind_blob(1, blob));
    BOOST_REQUIRE(insert->run());
    BOOST_REQUIRE(tx->commit());
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_checkpointer_is_asked_once_per_growth_of_the_wal_not_per_commit) {
  // Waking the thread after every commit once the WAL held the threshold made a checkpoint (two
  // fsyncs) per commit. Each request now needs checkpoint_wal_pages new pages: 200 commits of 3
  // pages or so (600 pages) make at most 600 / 64 requests, however the WAL restarts meanwhile.
  test::temp_dir dir;
  std::mutex mutex;
  int checkpoints = 0;
  bool all_ok = true;
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"}}};
  opts.checkpoint_wal_pages = 64;
  opts.checkpoint_interval = std::chrono::hours(1);  // only the WAL growth triggers
  opts.checkpoint_restart_wal_pages = 0;             // no checkpoint on the committing thread
  opts.on_checkpoint = [&](const checkpoint_report& r) {
    std::lock_guard<std::mutex> guard{mutex};
    ++checkpoints;
    all_ok = all_ok && r.outcome.ok();
  };
  {
    auto db = database::open(dir.file("g.db"), opts);
    BOOST_REQUIRE(db);
    commit_rows(*db, 200);
  }  // closing joins the checkpointer
  std::lock_guard<std::mutex> guard{mutex};
  BOOST_TEST(checkpoints >= 1);
  BOOST_TEST(checkpoints <= 12);
  BOOST_TEST(all_ok);
}

BOOST_AUTO_TEST_CASE(the_wal_restarts_under_a_writer_that_never_pauses) {
  // With the background thread idle, only the checkpoint the committing thread runs once the WAL
  // holds checkpoint_restart_wal_pages lets the WAL restart; without it the file grows by every
  // commit (300 commits: over 3 MB). With it the file stays near the restart size.
  test::temp_dir dir;
  const auto path = dir.file("r.db");
  std::mutex mutex;
  int checkpoints = 0;
  bool all_ok = true;
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"}}};
  opts.checkpoint_interval = std::chrono::hours(1);
  opts.checkpoint_wal_pages = 1 << 30;  // the background thread never runs
  opts.checkpoint_restart_wal_pages = 16;
  opts.on_checkpoint = [&](const checkpoint_report& r) {
    std::lock_guard<std::mutex> guard{mutex};
    ++checkpoints;
    all_ok = all_ok && r.outcome.ok();
  };
  auto db = database::open(path, opts);
  BOOST_REQUIRE(db);
  commit_rows(*db, 300);
  const auto wal_bytes = std::filesystem::file_size(path + "-wal");
  BOOST_TEST(wal_bytes <= 32u * (4096 + 24) + 32, "WAL file " << wal_bytes << " bytes");
  auto count = db->prepare("SELECT COUNT(*) FROM t");
  BOOST_REQUIRE(count);
  auto row = count->step();
  BOOST_REQUIRE(row && *row);
  BOOST_TEST(count->column_int64(0) == 300);
  std::lock_guard<std::mutex> guard{mutex};
  BOOST_TEST(checkpoints >= 300 / 16);
  BOOST_TEST(all_ok);
}

BOOST_AUTO_TEST_CASE(open_refuses_when_a_pragma_does_not_read_back_as_set) {
  // SQLite takes "PRAGMA synchronous=7" without complaint and turns it into OFF: exactly the
  // silent loss of durability the read-back exists to catch.
  test::temp_dir dir;
  options opts;
  opts.synchronous = static_cast<synchronous_mode>(7);
  auto db = database::open(dir.file("bad.db"), opts);
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::internal);
  BOOST_TEST(
      db.err().message.find("PRAGMA synchronous is 0 after setting it to 7") != std::string::npos,
      db.err().message);
}

BOOST_AUTO_TEST_CASE(a_new_file_gets_the_page_size_asked_for_and_an_existing_file_keeps_its_own) {
  test::temp_dir dir;
  options big;
  big.migrations = schema_v2();
  big.page_size = 65536;
  options small = big;
  small.page_size = 0;  // SQLite's default
  for (const auto& [name, first, then, expected] :
       {std::tuple{"big.db", big, small, "65536"}, std::tuple{"small.db", small, big, "4096"}}) {
    const auto path = dir.file(name);
    {
      auto db = database::open(path, first);
      BOOST_REQUIRE(db);
      BOOST_TEST(pragma(*db, "page_size") == expected);
      BOOST_REQUIRE(db->exec("INSERT INTO kv(k, v) VALUES ('a', x'01')"));
    }
    auto again = database::open(path, then);  // asks for the other size: the file keeps its own
    BOOST_REQUIRE(again);
    BOOST_TEST(pragma(*again, "page_size") == expected);
    auto row = again->prepare("SELECT COUNT(*) FROM kv");
    BOOST_REQUIRE(row);
    BOOST_REQUIRE(row->step());
    BOOST_TEST(row->column_int64(0) == 1);
  }
}

BOOST_AUTO_TEST_CASE(a_page_size_sqlite_cannot_use_is_refused) {
  test::temp_dir dir;
  for (int bad : {256, 1000, 131072, -4096}) {
    options opts;
    opts.page_size = bad;
    auto db = database::open(dir.file("bad.db"), opts);
    BOOST_REQUIRE(!db);
    BOOST_TEST(db.err().code == errc::invalid_argument);
    BOOST_TEST(db.err().message.find("page_size " + std::to_string(bad)) != std::string::npos, db.err().message);
  }
}

BOOST_AUTO_TEST_CASE(the_checkpoint_thresholds_count_wal_bytes_whatever_the_page_size) {
  // 64 thresholds units = 256 KiB of WAL: 4 frames of a 64 KiB-page file. Counted in frames the
  // restart would come only after 64 frames (4 MiB), and 300 commits of a frame or two each would
  // leave the WAL file near that size.
  test::temp_dir dir;
  const auto path = dir.file("big-pages.db");
  options opts;
  opts.page_size = 65536;
  opts.migrations = {{1, {"CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"}}};
  opts.checkpoint_interval = std::chrono::hours(1);
  opts.checkpoint_wal_pages = 1 << 30;  // the background thread never runs
  opts.checkpoint_restart_wal_pages = 64;
  auto db = database::open(path, opts);
  BOOST_REQUIRE(db);
  BOOST_TEST(pragma(*db, "page_size") == "65536");
  commit_rows(*db, 300);
  const auto wal_bytes = std::filesystem::file_size(path + "-wal");
  BOOST_TEST(wal_bytes <= 8u * (65536 + 24) + 32, "WAL file " << wal_bytes << " bytes");
}

BOOST_AUTO_TEST_CASE(secure_delete_fast_is_set_on_the_connection_when_asked) {
  // Debian's libsqlite3 is built with SECURE_DELETE (every freed page zeroed and written); FAST
  // leaves freed pages alone. The pragma is per connection: read it back on the database's own.
  test::temp_dir dir;
  options opts;
  opts.migrations = schema_v2();
  opts.secure_delete = secure_delete_mode::fast;
  auto db = database::open(dir.file("fast.db"), opts);
  BOOST_REQUIRE(db);
  BOOST_TEST(pragma(*db, "secure_delete") == "2");
  opts.secure_delete = secure_delete_mode::library_default;
  auto plain = database::open(dir.file("plain.db"), opts);
  BOOST_REQUIRE(plain);
  BOOST_TEST(pragma(*plain, "secure_delete") != "2");  // neither Debian's build nor SQLite's default is FAST
}
