// The checkpoint store: round trip, list / show / remove / retention, aborted and partial
// checkpoints, restore refusals, and damaged parts found on load.
#define BOOST_TEST_MODULE checkpoint_store
#include <boost/test/unit_test.hpp>

#include "runtime/storage/fault_vfs.hpp"
#include "snapshot/store/sqlite_checkpoint_store.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/checkpoint_store/fixtures.hpp"
#include "tests/unit/checkpoint_store/raw_file.hpp"
#include "tests/unit/storage/printers.hpp"

using namespace troupe;
using namespace troupe::checkpoint;
using namespace troupe::checkpoint::store;
using troupe::checkpoint::store_test::make_state;
using troupe::checkpoint::store_test::metadata_for;
using troupe::checkpoint::store_test::open_raw;
using troupe::checkpoint::store_test::open_store;
using troupe::checkpoint::store_test::contains;
using troupe::checkpoint::store_test::count_rows;

namespace {

checkpoint_metadata aborted(checkpoint_status status, std::string reason) {
  checkpoint_metadata meta;
  meta.status = status;
  meta.reason = std::move(reason);
  meta.participants = {{1, {"node-a", ""}}, {2, {"node-b", ""}}, {3, {"node-c", ""}}};
  return meta;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_saved_global_state_loads_back_equal_and_verified) {
  std::uint64_t rng = store_test::seed_for("round_trip", 7);
  troupe::test::temp_dir dir;
  const auto path = dir.file("checkpoints.db");
  const auto first = make_state(3, rng, 5, 4);
  const auto second = make_state(4, rng, 3, 2);
  {
    auto store = open_store(path);
    BOOST_REQUIRE(store.save(first, metadata_for(first)));
    BOOST_REQUIRE(store.save(second, metadata_for(second)));
  }
  auto store = open_store(path);  // from the file, not from a cache
  auto loaded = store.load(3);
  BOOST_REQUIRE_MESSAGE(loaded, why(loaded));
  BOOST_TEST((*loaded == first));
  BOOST_TEST(loaded->recorded_message_count() == 16u);
  BOOST_TEST(loaded->channels.at(channel_id{1, 5}).empty());  // an empty channel survives too
  auto other = store.load(4);
  BOOST_REQUIRE_MESSAGE(other, why(other));
  BOOST_TEST((*other == second));

  auto shown = store.show(3);
  BOOST_REQUIRE_MESSAGE(shown, why(shown));
  const auto& m = shown->summary;
  BOOST_TEST(m.id == 3u);
  BOOST_TEST(m.initiator == 1u);
  BOOST_TEST(m.complete());
  BOOST_TEST(m.participant_count == 5u);
  BOOST_TEST(m.state_count == 5u);
  BOOST_TEST(m.channel_count == 5u);
  BOOST_TEST(m.message_count == 16u);
  BOOST_TEST(m.state_bytes + m.message_bytes == first.byte_count());
  BOOST_TEST(m.started_unix_ms == metadata_for(first).started_unix_ms);
  BOOST_TEST(m.finished_unix_ms == metadata_for(first).finished_unix_ms);
  BOOST_REQUIRE(shown->participants.size() == 5u);
  const auto& p2 = shown->participants[1];
  BOOST_TEST(p2.participant == 2u);
  BOOST_TEST(p2.where.node == "node-2");
  BOOST_TEST(p2.where.location == "account-2");
  BOOST_TEST(p2.has_state);
  BOOST_TEST(p2.state_bytes == first.local_states.at(2).size());
  BOOST_TEST(p2.channels_in == 1u);
  BOOST_TEST(p2.messages_in == 4u);
  BOOST_TEST(shown->participants[4].channels_in == 2u);  // 4 -> 5 and the empty 1 -> 5

  auto plans = store.plan(3);
  BOOST_REQUIRE_MESSAGE(plans, why(plans));
  BOOST_TEST(plans->size() == 5u);
  BOOST_TEST(plans->at(1).deliveries.size() == 4u);
  BOOST_TEST((plans->at(1).deliveries == first.channels.at(channel_id{1, 2})));
}

BOOST_AUTO_TEST_CASE(list_is_newest_first_and_remove_deletes_every_part) {
  std::uint64_t rng = 11;
  troupe::test::temp_dir dir;
  auto store = open_store(dir.file("c.db"), retention{0, 0});
  for (checkpoint_id id : {2, 5, 9}) {
    const auto g = make_state(id, rng);
    BOOST_REQUIRE(store.save(g, metadata_for(g)));
  }
  BOOST_REQUIRE(
      store.save(global_state{7, 2, {}, {}}, aborted(checkpoint_status::timeout, "late")));
  auto all = store.list();
  BOOST_REQUIRE_MESSAGE(all, why(all));
  std::vector<checkpoint_id> ids;
  for (const auto& m : *all) ids.push_back(m.id);
  BOOST_TEST((ids == std::vector<checkpoint_id>{9, 7, 5, 2}));
  BOOST_TEST(all->at(1).status == checkpoint_status::timeout);
  BOOST_TEST(!all->at(1).complete());
  BOOST_TEST(all->at(0).message_bytes > 0u);

  BOOST_REQUIRE(store.remove(9));
  BOOST_TEST(store.load(9).err().code == errc::not_found);
  BOOST_TEST(store.show(9).err().code == errc::not_found);
  BOOST_TEST(store.remove(9).err().code == errc::not_found);
  auto latest = store.latest_complete();
  BOOST_REQUIRE(latest);
  BOOST_REQUIRE(latest->has_value());
  BOOST_TEST((*latest)->id == 5u);  // 7 is newer but aborted
  auto raw = open_raw(store.path());
  for (const char* table :
       {"part_runs", "participants", "local_states", "channels", "empty_channels", "messages"}) {
    BOOST_TEST(count_rows(raw, table, 9) == 0, table << " still holds rows of checkpoint 9");
  }
}

BOOST_AUTO_TEST_CASE(ids_are_never_reused_and_id_zero_is_refused) {
  std::uint64_t rng = 3;
  troupe::test::temp_dir dir;
  auto store = open_store(dir.file("c.db"));
  const auto g = make_state(4, rng);
  BOOST_REQUIRE(store.save(g, metadata_for(g)));
  const auto again = store.save(make_state(4, rng), metadata_for(g));
  BOOST_REQUIRE(!again);
  BOOST_TEST(again.err().code == errc::busy);
  BOOST_TEST((store.load(4).value() == g));  // the first one is untouched
  BOOST_TEST(store.save(make_state(0, rng), {}).err().code == errc::invalid_argument);
  BOOST_TEST(store.save(global_state{5, 1, {}, {}}, {}).err().code == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_damaged_newest_manifest_fails_list_but_not_the_highest_id) {
  // A coordinator continues above highest_id: were it taken from list(), one damaged manifest
  // would restart ids at 1 and every later save would be refused as "already stored".
  std::uint64_t rng = 5;
  troupe::test::temp_dir dir;
  auto store = open_store(dir.file("c.db"));
  for (checkpoint_id id : {7, 8}) {
    const auto g = make_state(id, rng);
    BOOST_REQUIRE(store.save(g, metadata_for(g)));
  }
  {
    auto raw = open_raw(store.path());
    BOOST_REQUIRE(raw.exec("UPDATE checkpoints SET message_count = message_count + 1 WHERE id = 8"));
  }
  BOOST_TEST(store.list().err().code == errc::corrupt);
  BOOST_TEST(store.highest_id().value() == 8u);
  const auto next = make_state(9, rng);
  BOOST_TEST(static_cast<bool>(store.save(next, metadata_for(next))));
}

BOOST_AUTO_TEST_CASE(a_deleted_newest_id_is_not_handed_out_again_after_a_reopen) {
  std::uint64_t rng = 7;
  troupe::test::temp_dir dir;
  const auto path = dir.file("c.db");
  {
    auto store = open_store(path);
    for (checkpoint_id id : {4, 5}) {
      const auto g = make_state(id, rng);
      BOOST_REQUIRE(store.save(g, metadata_for(g)));
    }
    BOOST_REQUIRE(store.remove(5));
  }
  auto store = open_store(path);  // the restarted node
  BOOST_TEST(store.highest_id().value() == 5u);
  BOOST_TEST((store.latest_complete().value()->id == 4u));
}

BOOST_AUTO_TEST_CASE(a_version_3_file_keeps_its_highest_id_through_the_migration) {
  std::uint64_t rng = 9;
  troupe::test::temp_dir dir;
  const auto path = dir.file("c.db");
  {
    auto store = open_store(path);
    for (checkpoint_id id : {6, 7}) {
      const auto g = make_state(id, rng);
      BOOST_REQUIRE(store.save(g, metadata_for(g)));
    }
  }
  {
    auto raw = open_raw(path);  // as version 3 left it: no high-water table
    BOOST_REQUIRE(raw.exec("DROP TABLE checkpoint_ids"));
    BOOST_REQUIRE(raw.exec("PRAGMA user_version = 3"));
  }
  {
    auto store = open_store(path);  // migrates: the mark starts at the highest stored id
    BOOST_REQUIRE(store.remove(7));
  }
  auto store = open_store(path);
  BOOST_TEST(store.highest_id().value() == 7u);
}

BOOST_AUTO_TEST_CASE(retention_keeps_the_last_n_complete_and_bounds_aborted_manifests) {
  std::uint64_t rng = 5;
  troupe::test::temp_dir dir;
  auto store = open_store(dir.file("c.db"), retention{2, 1});
  for (checkpoint_id id = 1; id <= 6; ++id) {
    if (id == 3 || id == 5) {
      BOOST_REQUIRE(store.save(global_state{id, 1, {}, {}},
                               aborted(checkpoint_status::peer_lost, "node-b died")));
      continue;
    }
    const auto g = make_state(id, rng);
    BOOST_REQUIRE(store.save(g, metadata_for(g)));
  }
  auto ids = [&store] {
    std::vector<checkpoint_id> out;
    const auto all = store.list();
    BOOST_REQUIRE_MESSAGE(all, why(all));
    for (const auto& m : *all) out.push_back(m.id);
    return out;
  };
  BOOST_TEST((ids() == std::vector<checkpoint_id>{6, 5, 4}));  // complete 6, 4; aborted 5
  BOOST_TEST(store.load(1).err().code == errc::not_found);
  BOOST_REQUIRE(store.keep_last(1));  // applied now, not at the next save
  BOOST_TEST((ids() == std::vector<checkpoint_id>{6, 5}));
  BOOST_TEST(store.kept().keep_last == 1u);
  auto raw = open_raw(store.path());
  auto rows = raw.prepare(
      "SELECT (SELECT count(*) FROM part_runs WHERE checkpoint_id NOT IN (5, 6)),"
      " (SELECT count(*) FROM part_runs WHERE checkpoint_id = 6)");
  BOOST_REQUIRE(rows);
  BOOST_REQUIRE(*rows->step());
  BOOST_TEST(rows->column_int64(0) == 0);  // parts of dropped checkpoints are gone too
  BOOST_TEST(rows->column_int64(1) > 0);   // those of the one kept are not
}

BOOST_AUTO_TEST_CASE(an_aborted_checkpoint_is_a_manifest_whose_restore_is_refused_with_its_reason) {
  troupe::test::temp_dir dir;
  auto store = open_store(dir.file("c.db"));
  BOOST_REQUIRE(store.save(global_state{8, 2, {}, {}},
                           aborted(checkpoint_status::timeout, "participant 3 did not report")));
  auto shown = store.show(8);
  BOOST_REQUIRE_MESSAGE(shown, why(shown));
  BOOST_TEST(shown->summary.status == checkpoint_status::timeout);
  BOOST_TEST(shown->summary.reason == "participant 3 did not report");
  BOOST_TEST(shown->summary.initiator == 2u);
  BOOST_TEST(shown->summary.message_count == 0u);
  BOOST_REQUIRE(shown->participants.size() == 3u);
  BOOST_TEST(!shown->participants[0].has_state);
  BOOST_TEST(shown->participants[2].where.node == "node-c");

  for (const auto& refused : {store.plan(8).err(), store.load(8).err()}) {
    BOOST_TEST(refused.code == errc::invalid_argument);
    BOOST_TEST(contains(refused.message, "checkpoint 8"), refused.message);
    BOOST_TEST(contains(refused.message, "aborted (timeout): participant 3 did not report"),
               refused.message);
  }
  auto latest = store.latest_complete();
  BOOST_REQUIRE(latest);
  BOOST_TEST(!latest->has_value());
}

BOOST_AUTO_TEST_CASE(a_partial_checkpoint_is_stored_but_its_restore_is_refused) {
  std::uint64_t rng = 9;
  troupe::test::temp_dir dir;
  auto store = open_store(dir.file("c.db"));
  const auto g = make_state(10, rng, 3, 1);
  auto meta = metadata_for(g);
  meta.participants[4] = {"node-1", "account-4"};  // started with 4, only 3 local states
  BOOST_REQUIRE(store.save(g, meta));
  const auto all = store.list();
  BOOST_REQUIRE_MESSAGE(all, why(all));
  const auto& m = all->at(0);
  BOOST_TEST(m.participant_count == 4u);
  BOOST_TEST(m.state_count == 3u);
  BOOST_TEST(!m.complete());
  const auto refused = store.plan(10).err();
  BOOST_TEST(refused.code == errc::invalid_argument);
  BOOST_TEST(contains(refused.message, "checkpoint 10: is partial: participant 4"),
             refused.message);
  BOOST_TEST(!store.latest_complete().value().has_value());
}

BOOST_AUTO_TEST_CASE(a_stored_state_that_plan_restore_rejects_is_refused_with_its_reason) {
  std::uint64_t rng = 13;
  troupe::test::temp_dir dir;
  auto store = open_store(dir.file("c.db"));
  auto g = make_state(12, rng, 3, 2);
  std::swap(g.channels.at(channel_id{1, 2})[0], g.channels.at(channel_id{1, 2})[1]);
  BOOST_REQUIRE(store.save(g, metadata_for(g)));
  BOOST_TEST((store.load(12).value() == g));  // stored as given, verified
  const auto refused = store.plan(12).err();
  BOOST_TEST(refused.code == errc::corrupt);
  BOOST_TEST(contains(refused.message, "out of channel order on 1->2"), refused.message);
}

BOOST_AUTO_TEST_CASE(participant_ids_above_two_to_the_63_round_trip) {
  std::uint64_t rng = 29;
  troupe::test::temp_dir dir;
  auto store = open_store(dir.file("c.db"));
  global_state g = make_state(30, rng, 2, 2);
  const participant_id big = 0xFFFF'FFFF'FFFF'FFF0ull;  // a negative int64 in SQLite
  g.local_states[big] = store_test::text_bytes("far");
  envelope e;
  e.from = big;
  e.to = 1;
  e.sequence = 1;
  e.payload = store_test::text_bytes("from far away");
  g.channels[channel_id{big, 1}].push_back(e);
  BOOST_REQUIRE(store.save(g, metadata_for(g)));
  auto loaded = store.load(30);
  BOOST_REQUIRE_MESSAGE(loaded, why(loaded));
  BOOST_TEST((*loaded == g));
  auto shown = store.show(30);
  BOOST_REQUIRE_MESSAGE(shown, why(shown));
  BOOST_TEST(shown->participants.back().participant == big);  // ascending as unsigned
}

BOOST_AUTO_TEST_CASE(a_state_that_could_not_be_loaded_back_as_given_is_refused_before_writing) {
  std::uint64_t rng = 31;
  troupe::test::temp_dir dir;
  auto store = open_store(dir.file("c.db"));
  auto misaddressed = make_state(40, rng, 3, 2);
  misaddressed.channels.at(channel_id{2, 3})[1].to = 1;
  const auto refused = store.save(misaddressed, metadata_for(misaddressed));
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.err().code == errc::invalid_argument);
  BOOST_TEST(contains(refused.err().message, "channel 2->3 is addressed 2->1"),
             refused.err().message);
  auto dangling = make_state(41, rng, 3, 2);
  dangling.channels[channel_id{3, 7}];
  const auto refused_too = store.save(dangling, metadata_for(dangling));
  BOOST_REQUIRE(!refused_too);
  BOOST_TEST(contains(refused_too.err().message, "channel 3->7 has an end without a local state"),
             refused_too.err().message);
  BOOST_TEST(store.list().value().empty());
}

BOOST_AUTO_TEST_CASE(a_read_only_store_lists_and_loads_a_file_another_connection_writes) {
  std::uint64_t rng = 37;
  troupe::test::temp_dir dir;
  auto writer = open_store(dir.file("c.db"));
  const auto g = make_state(50, rng);
  BOOST_REQUIRE(writer.save(g, metadata_for(g)));
  store_options opts;
  opts.database.read_only = true;
  opts.database.background_checkpoint = false;
  auto reader =
      sqlite_checkpoint_store::open(dir.file("c.db"), opts);  // what `troupe checkpoint` does
  BOOST_REQUIRE_MESSAGE(reader, why(reader));
  BOOST_TEST((reader->load(50).value() == g));
  const auto h = make_state(51, rng);
  BOOST_REQUIRE(writer.save(h, metadata_for(h)));  // not blocked by the reader between reads
  const auto all = reader->list();
  BOOST_REQUIRE_MESSAGE(all, why(all));
  BOOST_TEST(all->size() == 2u);
  BOOST_TEST(reader->save(make_state(52, rng), {}).err().code == errc::io);
}

BOOST_AUTO_TEST_CASE(a_save_that_hits_a_full_disk_stores_nothing_and_the_store_goes_on) {
  std::uint64_t rng = 61;
  troupe::test::temp_dir dir;
  auto vfs = storage::fault_vfs::install("ckstore-disk-full", rng);
  BOOST_REQUIRE(vfs);
  store_options opts;
  opts.database.vfs = (*vfs)->name();
  opts.database.background_checkpoint = false;
  const auto first = make_state(60, rng);
  const auto second = make_state(61, rng);
  {
    auto store = sqlite_checkpoint_store::open(dir.file("c.db"), opts);
    BOOST_REQUIRE_MESSAGE(store, why(store));
    BOOST_REQUIRE(store->save(first, metadata_for(first)));
    (*vfs)->fail_writes(storage::write_fault::disk_full);
    const auto full = store->save(second, metadata_for(second));
    BOOST_REQUIRE(!full);
    BOOST_TEST(full.err().code == errc::io);
    BOOST_TEST(contains(full.err().message, "disk full"), full.err().message);
    (*vfs)->clear_faults();
    const auto all = store->list();
    BOOST_REQUIRE_MESSAGE(all, why(all));
    BOOST_TEST(all->size() == 1u);
  }
  auto store = sqlite_checkpoint_store::open(dir.file("c.db"), opts);
  BOOST_REQUIRE_MESSAGE(store, why(store));
  BOOST_TEST(store->load(61).err().code == errc::not_found);
  BOOST_TEST((store->load(60).value() == first));
  BOOST_REQUIRE(store->save(second, metadata_for(second)));  // the id was never taken
}
