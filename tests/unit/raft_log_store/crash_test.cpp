// Crash safety of the log store under the fault VFS (runtime/storage/fault_vfs.hpp): seeded random
// sequences of append (with conflicting-suffix truncations), set_hard_state, set_applied and sync;
// a crash at a random write or sync drops every unsynced write and tears the last one of each
// file. After each crash, reopen: the log and hard state must equal the model (memory_log_storage)
// as of the last successful sync, the applied index likewise, and the file must pass
// integrity_check and every checksum.
//
// Seeded: the seed is printed; rerun with TROUPE_SEED=<seed>. TROUPE_CRASH_ITERATIONS changes the
// number of crashes per run (default 120). Single-threaded (no background checkpointer, explicit
// checkpoints at seeded points), so one seed replays one run exactly.
#define BOOST_TEST_MODULE raft_log_store_crash
#include <boost/test/unit_test.hpp>

#include "consensus/core/memory_log_storage.hpp"
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

struct run_counters {
  int crashes_in_sync = 0;
  int crashes_in_open = 0;
  int checkpoints = 0;
  std::uint64_t truncations = 0;
  std::uint64_t syncs = 0;
  std::uint64_t torn_writes = 0;
  std::uint64_t compactions = 0;
};

/// The generator of one run's operations: terms rise, a later leader overwrites a suffix.
struct workload {
  std::uint64_t rng;
  term_t term = 1;
  node_id vote = 1;

  /// `first_held`: the store's first index (nothing below a compaction point is ever rewritten:
  /// a snapshot covers only committed entries, Raft §7).
  std::vector<log_entry> next_append(index_t last, run_counters& counters, index_t first_held) {
    index_t back = 0;
    const index_t max_back = std::min<index_t>(std::min<index_t>(last, 12), last + 1 - first_held);
    if (max_back > 0 && splitmix(rng) % 4 == 0) {
      back = 1 + splitmix(rng) % max_back;
      ++term;  // a conflicting suffix comes from a later term (Raft §5.3)
      ++counters.truncations;
    }
    const index_t first = last + 1 - back;
    const std::size_t count = 1 + splitmix(rng) % 10;
    std::vector<log_entry> es;
    for (index_t i = first; i < first + count; ++i) {
      es.push_back(entry(i, term, random_bytes(rng, splitmix(rng) % 1500),
                         splitmix(rng) % 8 == 0 ? entry_type::no_op : entry_type::normal));
    }
    return es;
  }
};

/// Reopens after a crash and compares with the model's durable image.
/// `durable_first`: the first index as of the last sync (the model keeps every entry; the store
/// must hold exactly those from there on, and answer the term of the one before).
void verify(const std::string& path, const sqlite_log_storage_options& opts,
            const memory_log_storage& model, index_t durable_applied, index_t durable_first,
            const std::string& where) {
  auto store = sqlite_log_storage::open(path, opts);
  BOOST_TEST_REQUIRE(store.ok(), where << ": reopen failed: " << why(store));
  auto& s = **store;
  const auto& all = model.durable_entries();
  BOOST_TEST_REQUIRE(s.first_index() == durable_first, where << ": first index " << s.first_index());
  const std::vector<log_entry> expected(all.begin() + static_cast<std::ptrdiff_t>(durable_first - 1), all.end());
  BOOST_TEST_REQUIRE(s.last_index() == all.size(),
                     where << ": last index " << s.last_index() << ", model " << all.size());
  auto got = s.entries(durable_first, s.last_index() + 1, UINT64_MAX);
  BOOST_TEST_REQUIRE(got.ok(), where << ": " << why(got));
  BOOST_TEST_REQUIRE((*got == expected), where << ": entries differ from the last synced log");
  if (durable_first > 1) {
    BOOST_TEST_REQUIRE(*s.term(durable_first - 1) == all[durable_first - 2].term, where << ": compaction term");
  }
  for (index_t i = durable_first; i <= s.last_index(); ++i) {
    BOOST_TEST_REQUIRE(*s.term(i) == all[i - 1].term, where << ": term at " << i);
  }
  BOOST_TEST_REQUIRE((*s.initial_hard_state() == model.durable_hard_state()),
                     where << ": hard state " << *s.initial_hard_state() << ", model "
                           << model.durable_hard_state());
  BOOST_TEST_REQUIRE(s.applied() == durable_applied, where << ": applied index");
  auto check = s.check_integrity();
  BOOST_TEST_REQUIRE(check.ok(), where << ": " << why(check));
}

void crash_at_random_points(const char* name, unsigned keep_percent) {
  const std::uint64_t seed = seed_for(name);
  const int iterations = static_cast<int>(env_or("TROUPE_CRASH_ITERATIONS", 120));
  troupe::test::temp_dir dir{"raft-log-crash"};
  const auto path = dir.file("raft.db");
  auto vfs = storage::fault_vfs::install(std::string("raft-log-") + name, seed);
  BOOST_TEST_REQUIRE(vfs.ok(), why(vfs));
  (*vfs)->set_crash_keep_percent(keep_percent);
  sqlite_log_storage_options opts;
  opts.background_checkpoint = false;
  opts.vfs = (*vfs)->name();
  opts.tail_max_entries = 16;  // so reads after reopen and in between also hit the file

  workload gen{seed + keep_percent};  // each model its own workload, one seed for both
  memory_log_storage model;
  index_t applied = 0;
  index_t durable_applied = 0;
  index_t first = 1, durable_first = 1;  // the store's compaction point, as set and as synced
  run_counters counters;
  for (int iteration = 0; iteration < iterations; ++iteration) {
    const std::string where =
        "seed " + std::to_string(seed) + " iteration " + std::to_string(iteration);
    (*vfs)->crash_after(1 + splitmix(gen.rng) % 200);
    {
      auto store = sqlite_log_storage::open(path, opts);  // the crash may hit open or recovery
      if (!store) {
        BOOST_TEST_REQUIRE((*vfs)->crashed(), where << ": open failed: " << why(store));
        ++counters.crashes_in_open;
      }
      while (store && !(*vfs)->crashed()) {
        auto& s = **store;
        const auto op = splitmix(gen.rng) % 17;
        if (op == 16) {
          // Compact a prefix the later truncations cannot reach (they go at most 12 back).
          if (model.last_index() >= first + 13) {
            const index_t through = first + splitmix(gen.rng) % (model.last_index() - 12 - first);
            BOOST_TEST_REQUIRE(s.apply_snapshot(snap(through, *model.term(through))).ok(), where);
            first = through + 1;
            ++counters.compactions;
          }
        } else if (op < 8) {
          const auto es = gen.next_append(model.last_index(), counters, first);
          BOOST_TEST_REQUIRE(model.append(es).ok());
          BOOST_TEST_REQUIRE(s.append(es).ok(), where);
        } else if (op < 10) {
          const hard_state hs{gen.term, gen.vote = 1 + splitmix(gen.rng) % 5,
                              std::min<index_t>(model.last_index(), applied + 3)};
          BOOST_TEST_REQUIRE(model.set_hard_state(hs).ok());
          BOOST_TEST_REQUIRE(s.set_hard_state(hs).ok(), where);
        } else if (op < 11) {
          applied = std::max(applied, std::min<index_t>(model.last_index(), applied + 2));
          BOOST_TEST_REQUIRE(s.set_applied(applied).ok(), where);
        } else if (op < 15) {
          if (s.sync()) {
            BOOST_TEST_REQUIRE(model.sync().ok());
            durable_applied = applied;
            durable_first = first;
            ++counters.syncs;
          } else {
            // Only the simulated power loss may fail a sync here.
            BOOST_TEST_REQUIRE((*vfs)->crashed(), where << ": sync failed without a crash");
            ++counters.crashes_in_sync;
          }
        } else {
          ++counters.checkpoints;  // a checkpoint copies the WAL back into the database file
          storage::options raw;
          raw.migrations = log_store::schema_migrations();
          raw.background_checkpoint = false;
          raw.vfs = (*vfs)->name();
          if (auto db = storage::database::open(path, raw)) (void)db->checkpoint();
        }
        BOOST_TEST_REQUIRE(s.last_index() == model.last_index(), where);
      }
    }  // the process is gone: every connection closed
    BOOST_TEST_REQUIRE((*vfs)->crashed(), where);
    (*vfs)->restart();
    model.crash();
    applied = durable_applied;
    first = durable_first;
    verify(path, opts, model, durable_applied, durable_first, where);
  }
  counters.torn_writes = (*vfs)->stats().torn_writes;
  std::cout << name << ": " << iterations << " crashes (" << counters.crashes_in_sync
            << " in sync, " << counters.crashes_in_open << " in open), " << counters.syncs
            << " syncs, " << counters.truncations << " conflicting suffixes, "
            << counters.checkpoints << " checkpoints, " << counters.compactions << " compactions, "
            << counters.torn_writes
            << " torn writes, final log " << model.durable_entries().size() << " entries"
            << std::endl;
  // The run must have exercised what it claims to test.
  BOOST_TEST(counters.crashes_in_sync > iterations / 2);
  BOOST_TEST(counters.truncations > 0u);
  BOOST_TEST(counters.compactions > 0u);
  BOOST_TEST(counters.torn_writes > 0u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_log_after_a_crash_is_the_log_of_the_last_sync) {
  crash_at_random_points("the_log_after_a_crash_is_the_log_of_the_last_sync", 0);
}

BOOST_AUTO_TEST_CASE(the_log_after_a_crash_is_the_log_of_the_last_sync_when_some_writes_survive) {
  crash_at_random_points("when_some_writes_survive", 50);
}

BOOST_AUTO_TEST_CASE(the_fault_vfs_really_loses_unsynced_appends) {
  // Guard: without sync() the appended entries are lost by a crash, so the checks above can fail.
  troupe::test::temp_dir dir{"raft-log-guard"};
  const auto path = dir.file("raft.db");
  auto vfs = storage::fault_vfs::install("raft-log-guard", 7);
  BOOST_TEST_REQUIRE(vfs.ok(), why(vfs));
  sqlite_log_storage_options opts;
  opts.background_checkpoint = false;
  opts.vfs = (*vfs)->name();
  opts.synchronous = storage::synchronous_mode::normal;  // commits without fsync
  {
    auto store = sqlite_log_storage::open(path, opts);
    BOOST_TEST_REQUIRE(store.ok(), why(store));
    BOOST_TEST_REQUIRE((*store)->append(run_of(1, 5, 1)).ok());
    BOOST_TEST_REQUIRE((*store)->sync().ok());  // "succeeds", but NORMAL did not fsync the WAL
    (*vfs)->crash();
  }
  (*vfs)->restart();
  opts.synchronous = storage::synchronous_mode::full;
  auto store = sqlite_log_storage::open(path, opts);
  BOOST_TEST_REQUIRE(store.ok(), why(store));
  BOOST_TEST((*store)->last_index() == 0u);
}
