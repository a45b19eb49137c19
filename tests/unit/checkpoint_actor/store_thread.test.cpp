// The coordinator's store thread (snapshot/actor/store_thread.hpp): saves in submission order, each
// completion once with the save's status, reads between saves see what is stored, the destructor
// stores what is still queued; a save that fails in the storage (I/O, failed fsync) stops the store
// for good. Waits are for conditions with a deadline that only catches hangs.
#define BOOST_TEST_MODULE checkpoint_store_thread
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "runtime/metrics/corruption_metric.hpp"
#include "runtime/storage/fault_vfs.hpp"
#include "snapshot/actor/checkpoint_metrics.hpp"
#include "snapshot/actor/store_thread.hpp"
#include "snapshot/store/memory_checkpoint_store.hpp"
#include "snapshot/store/sqlite_checkpoint_store.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::checkpoint;
using troupe::checkpoint::actor::store_thread;

namespace {

/// A complete global state of two participants with one recorded message.
std::shared_ptr<const global_state> state_of(checkpoint_id id) {
  auto g = std::make_shared<global_state>();
  g->id = id;
  g->initiator = 1;
  g->local_states[1] = bytes{'a'};
  g->local_states[2] = bytes{'b', 'c'};
  envelope e;
  e.from = 1;
  e.to = 2;
  e.sequence = 1;
  e.payload = bytes{'x'};
  g->channels[channel_id{1, 2}].push_back(e);
  g->channels[channel_id{2, 1}];
  return g;
}

store::checkpoint_metadata meta_of() {
  store::checkpoint_metadata m;
  m.participants = {{1, {"1", ""}}, {2, {"2", ""}}};
  return m;
}

/// What the completions saw, in the order they ran.
struct completions {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<checkpoint_id, bool>> seen;

  store_thread::saved_function for_id(checkpoint_id id) {
    return [this, id](const status& s) {
      std::lock_guard<std::mutex> lock(mutex);
      seen.emplace_back(id, s.ok());
      changed.notify_all();
    };
  }
  bool wait_for(std::size_t count) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(30), [&] { return seen.size() >= count; });
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(saves_complete_in_submission_order_each_once_and_reads_see_them) {
  auto memory = std::make_shared<store::memory_checkpoint_store>(store::retention{0, 0});
  completions done;
  store_thread writer(memory);
  for (checkpoint_id id = 1; id <= 20; ++id) writer.save(state_of(id), meta_of(), done.for_id(id));
  BOOST_REQUIRE(done.wait_for(20));
  std::vector<std::pair<checkpoint_id, bool>> expected;
  for (checkpoint_id id = 1; id <= 20; ++id) expected.emplace_back(id, true);
  BOOST_TEST((done.seen == expected));
  auto listed = writer.with_store([](store::checkpoint_store& s) { return s.list(); });
  BOOST_REQUIRE(listed.ok());
  BOOST_TEST(listed->size() == 20u);
  auto loaded = writer.with_store([](store::checkpoint_store& s) { return s.load(7); });
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST((*loaded == *state_of(7)));
}

BOOST_AUTO_TEST_CASE(a_save_failing_in_the_storage_stops_the_store_for_good) {
  auto memory = std::make_shared<store::memory_checkpoint_store>(store::retention{0, 0});
  completions done;
  store_thread writer(memory);
  writer.save(state_of(1), meta_of(), done.for_id(1));
  BOOST_REQUIRE(done.wait_for(1));
  BOOST_TEST(!writer.failure().has_value());
  memory->fail_next_saves(1);  // errc::io, as a failed commit or fsync
  writer.save(state_of(2), meta_of(), done.for_id(2));
  writer.save(state_of(3), meta_of(), done.for_id(3));
  BOOST_REQUIRE(done.wait_for(3));
  BOOST_TEST((done.seen == std::vector<std::pair<checkpoint_id, bool>>{{1, true}, {2, false}, {3, false}}));
  BOOST_REQUIRE(writer.failure().has_value());
  BOOST_TEST((writer.failure()->code == errc::io));
  // Reads through the thread fail too, saying why; the store itself was never written again.
  auto listed = writer.with_store([](store::checkpoint_store& s) { return s.list(); });
  BOOST_REQUIRE(!listed.ok());
  BOOST_TEST((listed.err().code == errc::closed));
  BOOST_TEST(listed.err().message.find("stopped after a failed write") != std::string::npos);
  auto stored = memory->list();
  BOOST_REQUIRE(stored.ok());
  BOOST_TEST(stored->size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_refused_on_its_own_leaves_the_store_working) {
  auto memory = std::make_shared<store::memory_checkpoint_store>(store::retention{0, 0});
  completions done;
  store_thread writer(memory);
  writer.save(state_of(1), meta_of(), done.for_id(1));
  writer.save(state_of(1), meta_of(), done.for_id(1));  // busy: "already stored"
  writer.save(state_of(2), meta_of(), done.for_id(2));
  BOOST_REQUIRE(done.wait_for(3));
  BOOST_TEST((done.seen == std::vector<std::pair<checkpoint_id, bool>>{{1, true}, {1, false}, {2, true}}));
  BOOST_TEST(!writer.failure().has_value());
}

BOOST_AUTO_TEST_CASE(after_a_failed_fsync_nothing_more_is_written_even_once_syncs_work_again) {
  // The SQLite store on the fault-injecting VFS: the commit's fsync fails (EIO), then syncs work
  // again. A store that carried on would now store checkpoint 3 "successfully" on a file whose
  // earlier pages the kernel may have dropped.
  test::temp_dir dir;
  auto vfs = storage::fault_vfs::install("fault-store-thread", 11);
  BOOST_REQUIRE(vfs);
  store::store_options opts;
  opts.database.vfs = (*vfs)->name();
  const std::string path = dir.file("checkpoints.db");
  {
    auto opened = store::sqlite_checkpoint_store::open(path, opts);
    BOOST_REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? std::string() : opened.err().message));
    completions done;
    store_thread writer(std::make_shared<store::sqlite_checkpoint_store>(std::move(*opened)));
    writer.save(state_of(1), meta_of(), done.for_id(1));
    BOOST_REQUIRE(done.wait_for(1));
    (*vfs)->fail_syncs();
    writer.save(state_of(2), meta_of(), done.for_id(2));
    BOOST_REQUIRE(done.wait_for(2));
    (*vfs)->clear_faults();
    writer.save(state_of(3), meta_of(), done.for_id(3));
    BOOST_REQUIRE(done.wait_for(3));
    BOOST_TEST((done.seen == std::vector<std::pair<checkpoint_id, bool>>{{1, true}, {2, false}, {3, false}}));
    BOOST_REQUIRE(writer.failure().has_value());
    BOOST_TEST(writer.failure()->message.find(path) != std::string::npos);  // names the file
    auto loaded = writer.with_store([](store::checkpoint_store& s) { return s.load(1); });
    BOOST_TEST(!loaded.ok());
  }
  // Reopened (the node restarted): what was durable is there, and nothing after the failure.
  auto reopened = store::sqlite_checkpoint_store::open(path, opts);
  BOOST_REQUIRE(reopened.ok());
  auto listed = reopened->list();
  BOOST_REQUIRE(listed.ok());
  BOOST_TEST(listed->size() == 1u);
  BOOST_TEST(listed->front().id == 1u);
}

BOOST_AUTO_TEST_CASE(damage_found_through_the_store_thread_is_counted_in_the_corruption_metric) {
  // The coordinator's wiring: store_thread's on_corrupt from checkpoint_metrics, on a registry.
  prometheus::Registry registry;
  checkpoint::actor::checkpoint_metrics metrics(&registry);
  auto& counter = troupe::metrics::corruption_counter(registry, "checkpoint");  // the same series
  auto memory = std::make_shared<store::memory_checkpoint_store>(store::retention{0, 0});
  completions done;
  store_thread writer(memory, metrics.on_corrupt());
  writer.save(state_of(1), meta_of(), done.for_id(1));
  writer.save(state_of(2), meta_of(), done.for_id(2));
  BOOST_REQUIRE(done.wait_for(2));
  BOOST_TEST(counter.Value() == 0.0);
  memory->damage(1, 2);  // participant 2's state of checkpoint 1 reads back damaged
  auto loaded = writer.with_store([](store::checkpoint_store& s) { return s.load(1); });
  BOOST_REQUIRE(!loaded.ok());
  BOOST_TEST((loaded.err().code == errc::corrupt));
  BOOST_TEST(counter.Value() == 1.0);
  auto plan = writer.with_store([](store::checkpoint_store& s) { return s.plan(1); });  // a restore
  BOOST_TEST(!plan.ok());
  BOOST_TEST(counter.Value() == 2.0);
  // Answers that are not damage leave it alone.
  BOOST_TEST(writer.with_store([](store::checkpoint_store& s) { return s.load(2); }).ok());
  BOOST_TEST((writer.with_store([](store::checkpoint_store& s) { return s.load(9); }).err().code == errc::not_found));
  BOOST_TEST(counter.Value() == 2.0);
}

BOOST_AUTO_TEST_CASE(a_complete_checkpoint_the_store_could_not_keep_is_counted_as_not_stored) {
  // What the coordinator counts for a save that failed (store_thread stopped): its own reason,
  // not aborted_by_request, which would send an operator looking for someone aborting.
  prometheus::Registry registry;
  checkpoint::actor::checkpoint_metrics metrics(&registry);
  metrics.aborted_not_stored(0);
  metrics.aborted_not_stored(0);
  double not_stored = -1;
  for (const auto& family : registry.Collect()) {
    if (family.name != "troupe_checkpoint_aborted_total") continue;
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) {
        if (l.name == "reason") BOOST_TEST(l.value == "not_stored");
      }
      not_stored = m.counter.value;
    }
  }
  BOOST_TEST(not_stored == 2.0);
}

BOOST_AUTO_TEST_CASE(destroying_the_thread_stores_every_save_still_queued) {
  auto memory = std::make_shared<store::memory_checkpoint_store>(store::retention{0, 0});
  completions done;
  {
    store_thread writer(memory);
    for (checkpoint_id id = 1; id <= 50; ++id) writer.save(state_of(id), meta_of(), done.for_id(id));
  }  // the destructor drains and joins
  BOOST_TEST(done.seen.size() == 50u);
  auto listed = memory->list();
  BOOST_REQUIRE(listed.ok());
  BOOST_TEST(listed->size() == 50u);
}
