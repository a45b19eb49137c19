// Crash safety under the fault VFS: at a simulated crash every unsynced write is dropped and the
// last one of each file torn; every acknowledged commit must survive, no partial row may appear,
// and the file must pass integrity_check.
//
// Seeded: the seed is printed; rerun one run with TROUPE_SEED=<seed>. TROUPE_CRASH_ITERATIONS
// changes the number of crashes per run.
#define BOOST_TEST_MODULE storage_crash
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>

#include "runtime/storage/durable_writer.hpp"
#include "runtime/storage/fault_vfs.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/storage/crash_rows.hpp"
#include "tests/unit/storage/printers.hpp"

using namespace troupe;
using namespace troupe::storage;
using namespace troupe::storage::crash_rows;

namespace {

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::strtoull(value, nullptr, 10) : fallback;
}

std::uint64_t seed_for(const char* test_name) {
  const std::uint64_t seed = env_or("TROUPE_SEED", 20261126);
  std::cout << test_name << ": seed " << seed << " (rerun with TROUPE_SEED=" << seed << ")"
            << std::endl;
  return seed;
}

options crash_options(const fault_vfs& vfs) {
  options opts;
  opts.migrations = crash_schema();
  opts.vfs = vfs.name();
  return opts;
}

/// Reopens after a crash and checks the file; returns the next commit id to write.
std::int64_t verify(const std::string& path, const fault_vfs& vfs,
                    const std::set<std::int64_t>& acknowledged, std::uint64_t seed, int iteration) {
  options opts = crash_options(vfs);
  opts.background_checkpoint = false;
  auto db = database::open(path, opts);
  BOOST_REQUIRE_MESSAGE(
      db, "seed " << seed << " iteration " << iteration << ": reopen failed: " << why(db));
  const check_outcome out = check_rows(*db, acknowledged);
  BOOST_REQUIRE_MESSAGE(out.problems.empty(), "seed " << seed << " iteration " << iteration << ":\n"
                                                      << out.problems);
  return out.last_commit + 1;
}

/// Commits at seeded random crash points, single-threaded (no background checkpointer;
/// checkpoints at seeded points), so one seed replays one run exactly.
void crash_at_random_points(const char* name, unsigned keep_percent) {
  const std::uint64_t seed = seed_for(name);
  const int iterations = static_cast<int>(env_or("TROUPE_CRASH_ITERATIONS", 150));
  std::uint64_t rng = seed;
  test::temp_dir dir;
  const auto path = dir.file("crash.db");
  auto vfs = fault_vfs::install(std::string{"fault-"} + name, seed);
  BOOST_REQUIRE(vfs);
  (*vfs)->set_crash_keep_percent(keep_percent);
  options opts = crash_options(**vfs);
  opts.background_checkpoint = false;
  std::set<std::int64_t> acknowledged;
  std::int64_t next_commit = 0;
  for (int iteration = 0; iteration < iterations; ++iteration) {
    (*vfs)->crash_after(1 + splitmix(rng) % 120);
    {
      auto db = database::open(path, opts);  // the crash may come during open and recovery
      while (db && !(*vfs)->crashed()) {
        auto tx = db->begin();
        if (!tx) break;
        const int rows = 1 + static_cast<int>(splitmix(rng) % 6);
        if (!insert_commit(*db, next_commit, rows, rng)) break;
        if (!tx->commit()) break;
        acknowledged.insert(next_commit++);  // the commit returned: it is acknowledged
        if (splitmix(rng) % 8 == 0 && !db->checkpoint()) break;
      }
      BOOST_REQUIRE_MESSAGE((*vfs)->crashed(), "seed " << seed << " iteration " << iteration
                                                       << ": failed without a crash");
    }
    (*vfs)->restart();
    next_commit = verify(path, **vfs, acknowledged, seed, iteration);
  }
  const auto stats = (*vfs)->stats();
  BOOST_TEST_MESSAGE(name << ": commits acknowledged: " << acknowledged.size()
                          << ", writes dropped: " << stats.dropped_writes
                          << ", torn: " << stats.torn_writes);
  BOOST_TEST(acknowledged.size() > static_cast<std::size_t>(iterations));
  BOOST_TEST(stats.torn_writes > 0u);  // the torn-page path was exercised
  BOOST_TEST(stats.dropped_writes > 0u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_fault_vfs_drops_commits_that_were_never_synced) {
  // Guards the crash tests against a VFS that keeps everything: with synchronous=NORMAL a WAL
  // commit is not synced, so a crash must lose it.
  test::temp_dir dir;
  const auto path = dir.file("normal.db");
  auto vfs = fault_vfs::install("fault-normal", 1);
  BOOST_REQUIRE(vfs);
  (*vfs)->set_tear_on_crash(false);
  options opts = crash_options(**vfs);
  opts.synchronous = synchronous_mode::normal;
  opts.background_checkpoint = false;
  {
    auto db = database::open(path, opts);
    BOOST_REQUIRE_MESSAGE(db, why(db));
    BOOST_REQUIRE(db->exec("CREATE TABLE synced(x)"));
    BOOST_REQUIRE(db->checkpoint());  // a checkpoint syncs the WAL: what came before is durable
    BOOST_REQUIRE(db->exec("CREATE TABLE unsynced(x)"));
    BOOST_TEST((*vfs)->stats().unsynced_bytes > 0u);
    (*vfs)->crash();
  }
  (*vfs)->restart();
  auto db = database::open(path, opts);
  BOOST_REQUIRE_MESSAGE(db, why(db));
  BOOST_TEST(db->exec("SELECT * FROM synced").ok());
  BOOST_TEST(!db->exec("SELECT * FROM unsynced").ok());
}

BOOST_AUTO_TEST_CASE(acknowledged_commits_survive_crashes_at_random_points) {
  // Every unsynced write is lost; each file's last one is torn.
  crash_at_random_points("crash-drop-all", 0);
}

BOOST_AUTO_TEST_CASE(acknowledged_commits_survive_crashes_that_keep_a_random_subset) {
  // Half of the other unsynced writes reach the disk, in any combination.
  crash_at_random_points("crash-keep-half", 50);
}

BOOST_AUTO_TEST_CASE(acknowledged_commits_survive_crashes_under_the_durable_writer) {
  // The real stack: writer thread, group commit, background checkpointer on its own thread. The
  // seed fixes the crash points and payloads; thread interleaving may differ between reruns.
  const std::uint64_t seed = seed_for("acknowledged_commits_survive_crashes_under_the_writer");
  const int iterations = static_cast<int>(env_or("TROUPE_CRASH_ITERATIONS", 150)) / 3;
  std::uint64_t rng = seed ^ 0x5eedULL;
  test::temp_dir dir;
  const auto path = dir.file("writer-crash.db");
  auto vfs = fault_vfs::install("fault-writer-crash", seed);
  BOOST_REQUIRE(vfs);
  options opts = crash_options(**vfs);
  opts.checkpoint_wal_pages = 8;  // checkpoint often, to crash inside checkpoints too
  opts.checkpoint_interval = std::chrono::milliseconds(5);
  opts.checkpoint_restart_wal_pages = 24;  // and inside those the committing thread runs
  std::set<std::int64_t> acknowledged;
  std::int64_t next_commit = 0;
  for (int iteration = 0; iteration < iterations; ++iteration) {
    auto db = database::open(path, opts);
    BOOST_REQUIRE_MESSAGE(db, why(db));
    (*vfs)->crash_after(1 + splitmix(rng) % 150);
    writer_options wopts;
    wopts.queue_capacity = 8;
    auto writer = durable_writer::start(std::move(*db), wopts);
    BOOST_REQUIRE(writer);
    std::mutex mutex;
    std::condition_variable cv;
    bool failed = false;
    std::size_t in_flight = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock{mutex};
        cv.wait(lock, [&] { return failed || in_flight < 8; });
        if (failed) break;
        ++in_flight;
      }
      const std::int64_t id = next_commit++;
      const int rows = 1 + static_cast<int>(splitmix(rng) % 4);
      const std::uint64_t payload_seed = splitmix(rng);
      auto s = (*writer)->submit(
          [id, rows, payload_seed](database& d) {
            std::uint64_t r = payload_seed;
            return insert_commit(d, id, rows, r);
          },
          [&, id](const status& st, std::chrono::duration<double>) {
            std::lock_guard<std::mutex> guard{mutex};
            --in_flight;
            if (st) {
              acknowledged.insert(id);
            } else {
              failed = true;
            }
            cv.notify_all();
          });
      if (!s) {
        std::lock_guard<std::mutex> guard{mutex};
        --in_flight;
        break;  // the writer has failed: the crash happened
      }
    }
    (*writer)->stop(shutdown_mode::fail_pending);
    writer->reset();
    BOOST_REQUIRE_MESSAGE((*vfs)->crashed(), "seed " << seed << " iteration " << iteration
                                                     << ": failed without a crash");
    (*vfs)->restart();
    next_commit = verify(path, **vfs, acknowledged, seed, iteration);
  }
  BOOST_TEST(acknowledged.size() > static_cast<std::size_t>(iterations));
}
