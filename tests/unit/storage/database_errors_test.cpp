// Every way a database can be unusable gives an error naming the file and the cause.
#define BOOST_TEST_MODULE storage_database_errors
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <random>
#include <string>

#include "runtime/storage/database.hpp"
#include "runtime/storage/fault_vfs.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/storage/printers.hpp"

using namespace troupe;
using namespace troupe::storage;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

options with_table() {
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(x INTEGER PRIMARY KEY, y TEXT)"}}};
  return opts;
}

/// A fault VFS with a name unique to the test, so cases never share one.
std::unique_ptr<fault_vfs> make_vfs(const std::string& name) {
  auto vfs = fault_vfs::install(name, 1);
  BOOST_REQUIRE_MESSAGE(vfs, why(vfs));
  return std::move(*vfs);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_missing_directory_is_not_found_and_named) {
  test::temp_dir dir;
  const auto path = dir.file("no/such/dir/a.db");
  auto db = database::open(path, with_table());
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::not_found);
  BOOST_TEST(contains(db.err().message, path));
  BOOST_TEST(contains(db.err().message, "does not exist"));
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_not_found_when_creation_is_off) {
  test::temp_dir dir;
  options opts = with_table();
  opts.create_if_missing = false;
  auto db = database::open(dir.file("absent.db"), opts);
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::not_found);
}

BOOST_AUTO_TEST_CASE(a_file_locked_by_another_process_is_refused_as_locked) {
  test::temp_dir dir;
  const auto path = dir.file("l.db");
  // flock belongs to an open file description: a descriptor of our own conflicts exactly as
  // another process's would. (tests/cluster/storage checks it with a real second process.)
  const int fd = ::open((path + "-lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  BOOST_REQUIRE(::pwrite(fd, "4242\n", 5, 0) == 5);
  auto db = database::open(path, with_table());
  ::close(fd);
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::busy);
  BOOST_TEST(contains(db.err().message, path));
  BOOST_TEST(contains(db.err().message, "locked: another process (pid 4242)"));
  // Released: it opens now.
  auto again = database::open(path, with_table());
  BOOST_TEST(again.ok());
}

BOOST_AUTO_TEST_CASE(connections_of_one_process_share_the_lock) {
  test::temp_dir dir;
  const auto path = dir.file("s.db");
  auto writer = database::open(path, with_table());
  BOOST_REQUIRE(writer);
  options reader_opts = with_table();
  reader_opts.read_only = true;
  auto reader = database::open(path, reader_opts);
  BOOST_REQUIRE_MESSAGE(reader, why(reader));
  auto second_writer = database::open(path, with_table());
  BOOST_REQUIRE_MESSAGE(second_writer, why(second_writer));
}

BOOST_AUTO_TEST_CASE(a_read_only_file_system_is_refused_as_read_only) {
  test::temp_dir dir;
  const auto path = dir.file("r.db");
  BOOST_REQUIRE(database::open(path, with_table()));
  auto vfs = make_vfs("fault-read-only");
  vfs->set_read_only(true);
  options opts = with_table();
  opts.vfs = vfs->name();
  auto db = database::open(path, opts);
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::io);
  BOOST_TEST(contains(db.err().message, path));
  BOOST_TEST(contains(db.err().message, "read-only"));
}

BOOST_AUTO_TEST_CASE(writing_through_a_read_only_connection_names_the_cause) {
  test::temp_dir dir;
  const auto path = dir.file("r2.db");
  BOOST_REQUIRE(database::open(path, with_table()));
  options opts = with_table();
  opts.read_only = true;
  auto db = database::open(path, opts);
  BOOST_REQUIRE_MESSAGE(db, why(db));
  auto s = db->exec("INSERT INTO t(y) VALUES ('x')");
  BOOST_REQUIRE(!s);
  BOOST_TEST(s.err().code == errc::io);
  BOOST_TEST(contains(s.err().message, path));
  BOOST_TEST(contains(s.err().message, "read-only"));
}

BOOST_AUTO_TEST_CASE(a_file_of_garbage_is_refused_as_not_a_database) {
  test::temp_dir dir;
  const auto path = dir.file("g.db");
  std::string garbage(8192, '\0');
  std::mt19937 rng{7};
  for (auto& c : garbage) c = static_cast<char>(rng());
  test::write_file(path, garbage);
  auto db = database::open(path, with_table());
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::corrupt);
  BOOST_TEST(contains(db.err().message, path));
  BOOST_TEST(contains(db.err().message, "not a database"));
}

BOOST_AUTO_TEST_CASE(garbage_inside_a_database_is_found_by_the_checks) {
  test::temp_dir dir;
  const auto path = dir.file("m.db");
  {
    auto db = database::open(path, with_table());
    BOOST_REQUIRE(db);
    auto tx = db->begin();
    BOOST_REQUIRE(tx);
    for (int i = 0; i < 2000; ++i) {
      BOOST_REQUIRE(db->exec("INSERT INTO t(y) VALUES (printf('row %d padded to be long', " +
                             std::to_string(i) + "))"));
    }
    BOOST_REQUIRE(tx->commit());
  }  // the last close checkpoints the WAL into the file
  {
    // Overwrite the middle of the file: table pages, not the header or the schema page.
    std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(4096 * 5 + 100);
    const std::string junk(3000, '\xA5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  options opts = with_table();
  opts.check_on_open = true;
  auto db = database::open(path, opts);
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::corrupt);
  BOOST_TEST(contains(db.err().message, path));
  BOOST_TEST_MESSAGE("corrupt file reported as: " << db.err().message);

  auto unchecked = database::open(path, with_table());
  BOOST_REQUIRE_MESSAGE(unchecked, why(unchecked));
  auto s = unchecked->check_integrity(check_depth::full);
  BOOST_REQUIRE(!s);
  BOOST_TEST(s.err().code == errc::corrupt);
}

BOOST_AUTO_TEST_CASE(disk_full_at_commit_is_a_clear_error_and_loses_nothing_committed) {
  test::temp_dir dir;
  const auto path = dir.file("full.db");
  auto vfs = make_vfs("fault-disk-full");
  options opts = with_table();
  opts.vfs = vfs->name();
  {
    auto db = database::open(path, opts);
    BOOST_REQUIRE_MESSAGE(db, why(db));
    BOOST_REQUIRE(db->exec("INSERT INTO t(y) VALUES ('kept')"));
    vfs->fail_writes(write_fault::disk_full);
    auto tx = db->begin();
    BOOST_REQUIRE(tx);
    BOOST_REQUIRE(db->exec("INSERT INTO t(y) VALUES ('lost')"));
    auto s = tx->commit();
    BOOST_REQUIRE(!s);
    BOOST_TEST(s.err().code == errc::io);
    BOOST_TEST(contains(s.err().message, path));
    BOOST_TEST(contains(s.err().message, "disk full"));
    BOOST_TEST_MESSAGE("disk full reported as: " << s.err().message);
    BOOST_TEST(!db->in_transaction());
    vfs->clear_faults();
  }
  auto db = database::open(path, opts);
  BOOST_REQUIRE_MESSAGE(db, why(db));
  auto rows = db->prepare("SELECT group_concat(y) FROM t");
  BOOST_REQUIRE(rows);
  BOOST_REQUIRE(rows->step());
  BOOST_TEST(rows->column_text(0) == "kept");
}

BOOST_AUTO_TEST_CASE(disk_full_while_creating_a_database_fails_the_open) {
  test::temp_dir dir;
  const auto path = dir.file("full2.db");
  auto vfs = make_vfs("fault-disk-full-open");
  vfs->fail_writes(write_fault::disk_full);
  options opts = with_table();
  opts.vfs = vfs->name();
  auto db = database::open(path, opts);
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::io);
  BOOST_TEST(contains(db.err().message, path));
  BOOST_TEST(contains(db.err().message, "disk full"));
}

BOOST_AUTO_TEST_CASE(a_failed_fsync_fails_the_commit_as_an_io_error) {
  test::temp_dir dir;
  const auto path = dir.file("eio.db");
  auto vfs = make_vfs("fault-eio");
  options opts = with_table();
  opts.vfs = vfs->name();
  auto db = database::open(path, opts);
  BOOST_REQUIRE_MESSAGE(db, why(db));
  vfs->fail_syncs();
  auto s = db->exec("INSERT INTO t(y) VALUES ('x')");
  BOOST_REQUIRE(!s);
  BOOST_TEST(s.err().code == errc::io);
  BOOST_TEST(contains(s.err().message, "I/O error"));
  vfs->clear_faults();
}
