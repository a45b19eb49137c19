// The SQLite layer: open, pragmas, migrations, statements, transactions.
#define BOOST_TEST_MODULE storage_database
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <mutex>
#include <string>

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
