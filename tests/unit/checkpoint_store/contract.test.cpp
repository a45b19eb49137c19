// The contract every checkpoint store keeps, run against both implementations (the node's SQLite
// store and the simulation's in-memory one), plus the in-memory store's injected faults.
#define BOOST_TEST_MODULE checkpoint_store_contract
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <memory>

#include "snapshot/store/memory_checkpoint_store.hpp"
#include "snapshot/store/sqlite_checkpoint_store.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/checkpoint_store/fixtures.hpp"
#include "tests/unit/storage/printers.hpp"

using namespace troupe;
using namespace troupe::checkpoint;
using namespace troupe::checkpoint::store;
using troupe::checkpoint::store_test::make_state;
using troupe::checkpoint::store_test::metadata_for;

namespace {

struct sqlite_store {
  troupe::test::temp_dir dir;
  std::unique_ptr<checkpoint_store> make(retention keep) {
    store_options opts;
    opts.keep = keep;
    opts.database.background_checkpoint = false;
    auto s = sqlite_checkpoint_store::open(dir.file("c.db"), opts);
    BOOST_REQUIRE_MESSAGE(s, why(s));
    return std::make_unique<sqlite_checkpoint_store>(std::move(*s));
  }
};

struct memory_store {
  std::unique_ptr<checkpoint_store> make(retention keep) {
    return std::make_unique<memory_checkpoint_store>(keep);
  }
};

using implementations = boost::mpl::list<sqlite_store, memory_store>;

std::vector<checkpoint_id> ids_of(checkpoint_store& store) {
  auto all = store.list();
  BOOST_REQUIRE_MESSAGE(all, why(all));
  std::vector<checkpoint_id> out;
  for (const auto& m : *all) out.push_back(m.id);
  return out;
}

checkpoint_metadata aborted_meta() {
  checkpoint_metadata meta;
  meta.status = checkpoint_status::bound_exceeded;
  meta.reason = "participant 2 recorded over 1000 messages";
  meta.participants = {{1, {"n1", ""}}, {2, {"n2", ""}}};
  return meta;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(saves_load_back_equal_with_the_same_manifest, impl, implementations) {
  impl factory;
  auto store = factory.make({});
  std::uint64_t rng = 41;
  const auto g = make_state(5, rng, 4, 2);
  BOOST_REQUIRE(store->save(g, metadata_for(g)));
  auto loaded = store->load(5);
  BOOST_REQUIRE_MESSAGE(loaded, why(loaded));
  BOOST_TEST((*loaded == g));
  auto shown = store->show(5);
  BOOST_REQUIRE_MESSAGE(shown, why(shown));
  BOOST_TEST(shown->summary.message_count == 6u);
  BOOST_TEST(shown->summary.channel_count == 4u);
  BOOST_TEST(shown->summary.state_bytes + shown->summary.message_bytes == g.byte_count());
  BOOST_REQUIRE(shown->participants.size() == 4u);
  BOOST_TEST(shown->participants[3].channels_in == 2u);  // 3 -> 4 and the empty 1 -> 4
  BOOST_TEST(shown->participants[3].messages_in == 2u);
  BOOST_TEST(shown->participants[3].where.location == "account-4");
  auto plans = store->plan(5);
  BOOST_REQUIRE_MESSAGE(plans, why(plans));
  BOOST_TEST(plans->size() == 4u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(list_remove_latest_and_retention_agree, impl, implementations) {
  impl factory;
  auto store = factory.make(retention{2, 1});
  BOOST_TEST(store->highest_id().value() == 0u);
  std::uint64_t rng = 43;
  for (checkpoint_id id = 1; id <= 6; ++id) {
    if (id == 3 || id == 5) {
      BOOST_REQUIRE(store->save(global_state{id, 1, {}, {}}, aborted_meta()));
      continue;
    }
    const auto g = make_state(id, rng);
    BOOST_REQUIRE(store->save(g, metadata_for(g)));
  }
  BOOST_TEST((ids_of(*store) == std::vector<checkpoint_id>{6, 5, 4}));
  BOOST_TEST(store->highest_id().value() == 6u);
  BOOST_REQUIRE(store->remove(6));
  BOOST_TEST(store->remove(6).err().code == errc::not_found);
  BOOST_TEST(store->load(6).err().code == errc::not_found);
  BOOST_TEST(store->latest_complete().value()->id == 4u);
  BOOST_REQUIRE(store->keep_last(1));
  BOOST_TEST(store->kept().keep_last == 1u);
  BOOST_TEST((ids_of(*store) == std::vector<checkpoint_id>{5, 4}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(the_highest_id_survives_deleting_the_newest_checkpoint, impl, implementations) {
  // A coordinator continues above highest_id: were it the highest id still stored, deleting the
  // newest checkpoint (troupe checkpoint delete) would hand its id out again.
  impl factory;
  auto store = factory.make(retention{1, 1});
  std::uint64_t rng = 53;
  for (checkpoint_id id = 1; id <= 3; ++id) {
    const auto g = make_state(id, rng);
    BOOST_REQUIRE(store->save(g, metadata_for(g)));
  }
  BOOST_TEST((ids_of(*store) == std::vector<checkpoint_id>{3}));  // 1 and 2 went by retention
  BOOST_REQUIRE(store->remove(3));
  BOOST_TEST(ids_of(*store).empty());
  BOOST_TEST(store->highest_id().value() == 3u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(incomplete_checkpoints_are_refused_with_their_reason, impl,
                              implementations) {
  impl factory;
  auto store = factory.make({});
  std::uint64_t rng = 47;
  BOOST_REQUIRE(store->save(global_state{7, 2, {}, {}}, aborted_meta()));
  const auto aborted = store->plan(7);
  BOOST_REQUIRE(!aborted);
  BOOST_TEST(aborted.err().code == errc::invalid_argument);
  BOOST_TEST(contains(aborted.err().message,
                      "checkpoint 7: was aborted (bound_exceeded): participant 2 recorded over"),
             aborted.err().message);
  const auto g = make_state(8, rng, 2, 1);
  auto meta = metadata_for(g);
  meta.participants[3] = {"n3", "account-3"};
  BOOST_REQUIRE(store->save(g, meta));
  const auto partial = store->plan(8);
  BOOST_REQUIRE(!partial);
  BOOST_TEST(contains(partial.err().message, "checkpoint 8: is partial: participant 3"),
             partial.err().message);
  BOOST_TEST(!store->latest_complete().value().has_value());
  BOOST_TEST(store->show(7).value().summary.reason == aborted_meta().reason);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(what_save_refuses_is_the_same, impl, implementations) {
  impl factory;
  auto store = factory.make({});
  std::uint64_t rng = 53;
  const auto g = make_state(9, rng);
  BOOST_REQUIRE(store->save(g, metadata_for(g)));
  BOOST_TEST(store->save(g, metadata_for(g)).err().code == errc::busy);
  BOOST_TEST(store->save(make_state(0, rng), {}).err().code == errc::invalid_argument);
  BOOST_TEST(store->save(global_state{10, 1, {}, {}}, {}).err().code == errc::invalid_argument);
  auto dangling = make_state(11, rng);
  dangling.channels[channel_id{2, 99}];
  BOOST_TEST(store->save(dangling, {}).err().code == errc::invalid_argument);
  BOOST_TEST((ids_of(*store) == std::vector<checkpoint_id>{9}));
}

BOOST_AUTO_TEST_CASE(the_memory_store_injects_failed_saves_and_damaged_parts) {
  memory_checkpoint_store store;
  std::uint64_t rng = 59;
  const auto g = make_state(12, rng);
  store.fail_next_saves(1);
  const auto failed = store.save(g, metadata_for(g));
  BOOST_REQUIRE(!failed);
  BOOST_TEST(failed.err().code == errc::io);
  BOOST_TEST(store.list().value().empty());  // nothing of a failed save
  BOOST_REQUIRE(store.save(g, metadata_for(g)));
  store.damage(12, 3);
  const auto loaded = store.load(12);
  BOOST_REQUIRE(!loaded);
  BOOST_TEST(loaded.err().code == errc::corrupt);
  BOOST_TEST(contains(loaded.err().message, "checkpoint 12: participant 3"), loaded.err().message);
  BOOST_TEST(store.plan(12).err().code == errc::corrupt);
}
