// The coordinator's store thread (snapshot/actor/store_thread.hpp): saves in submission order, each
// completion once with the save's status, reads between saves see what is stored, the destructor
// stores what is still queued. Waits are for conditions with a deadline that only catches hangs.
#define BOOST_TEST_MODULE checkpoint_store_thread
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "snapshot/actor/store_thread.hpp"
#include "snapshot/store/memory_checkpoint_store.hpp"

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

BOOST_AUTO_TEST_CASE(a_failed_save_is_reported_to_its_completion_and_the_next_one_succeeds) {
  auto memory = std::make_shared<store::memory_checkpoint_store>(store::retention{0, 0});
  memory->fail_next_saves(1);
  completions done;
  store_thread writer(memory);
  writer.save(state_of(1), meta_of(), done.for_id(1));
  writer.save(state_of(2), meta_of(), done.for_id(2));
  BOOST_REQUIRE(done.wait_for(2));
  BOOST_TEST((done.seen == std::vector<std::pair<checkpoint_id, bool>>{{1, false}, {2, true}}));
  auto latest = writer.with_store([](store::checkpoint_store& s) { return s.latest_complete(); });
  BOOST_REQUIRE(latest.ok());
  BOOST_REQUIRE(latest->has_value());
  BOOST_TEST((*latest)->id == 2u);
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
