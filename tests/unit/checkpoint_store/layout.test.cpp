// The checkpoint store's layouts in the file: version 3's runs (a checkpoint's rows packed into a
// few blobs), damage to them found on load and named, and files of versions 1 and 2 migrated,
// their checkpoints still loading and their damage still found.
#define BOOST_TEST_MODULE checkpoint_store_layout
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <span>
#include <vector>

#include "runtime/base/crc32c.hpp"
#include "snapshot/store/sqlite_checkpoint_store.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/checkpoint_store/fixtures.hpp"
#include "tests/unit/checkpoint_store/raw_file.hpp"
#include "tests/unit/storage/printers.hpp"

using namespace troupe;
using namespace troupe::checkpoint;
using namespace troupe::checkpoint::store;
using troupe::checkpoint::store_test::contains;
using troupe::checkpoint::store_test::count_rows;
using troupe::checkpoint::store_test::make_state;
using troupe::checkpoint::store_test::metadata_for;
using troupe::checkpoint::store_test::open_raw;
using troupe::checkpoint::store_test::open_store;
using troupe::checkpoint::store_test::rewrite_as_version_2;

namespace {

/// The checksum version 1 of the store gave a `channels` row of an empty channel (parts.cpp:
/// tag 4, checkpoint, sender, receiver, message count, payload bytes), written out here so that
/// the test pins the old format rather than whatever parts.cpp computes today.
std::int64_t crc32c_channel_row_v1(checkpoint_id id, const channel_id& c) {
  checksum_builder b;
  b.u64(4).u64(id).u64(c.from).u64(c.to).u64(0).u64(0);
  return static_cast<std::int64_t>(b.value());
}

/// Overwrites, in checkpoint `id`'s runs, the first occurrence of `find` with `with` (same
/// length): damage to one field of one entry, behind the store's back.
void patch_runs(storage::database& raw, checkpoint_id id, std::span<const std::byte> find,
                std::span<const std::byte> with) {
  BOOST_REQUIRE(find.size() == with.size());
  auto select = raw.prepare("SELECT run, body FROM part_runs WHERE checkpoint_id = ? ORDER BY run");
  BOOST_REQUIRE(select);
  BOOST_REQUIRE(select->bind_int64(1, static_cast<std::int64_t>(id)));
  while (*select->step()) {
    const auto blob = select->column_blob(1);
    std::vector<std::byte> body(blob.begin(), blob.end());
    auto at = std::search(body.begin(), body.end(), find.begin(), find.end());
    if (at == body.end()) continue;
    std::copy(with.begin(), with.end(), at);
    const auto run = select->column_int64(0);
    auto update = raw.prepare("UPDATE part_runs SET body = ? WHERE checkpoint_id = ? AND run = ?");
    BOOST_REQUIRE(update);
    BOOST_REQUIRE(update->bind_blob(1, body) &&
                  update->bind_int64(2, static_cast<std::int64_t>(id)) &&
                  update->bind_int64(3, run));
    BOOST_REQUIRE(update->run());
    return;
  }
  BOOST_FAIL("the bytes to damage are in no run");
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_checkpoint_is_a_few_runs_and_loads_back_equal) {
  std::uint64_t rng = store_test::seed_for("runs_round_trip", 23);
  troupe::test::temp_dir dir;
  const auto path = dir.file("c.db");
  // 40 participants of 64 KiB each: 2.5 MiB of states, so the participants take several runs.
  const auto big = make_state(5, rng, 40, 4, 64 * 1024);
  const auto small = make_state(6, rng, 4, 3);
  {
    auto store = open_store(path);
    BOOST_REQUIRE(store.save(big, metadata_for(big)));
    BOOST_REQUIRE(store.save(small, metadata_for(small)));
  }
  auto store = open_store(path);
  BOOST_TEST((store.load(5).value() == big));
  BOOST_TEST((store.load(6).value() == small));
  auto shown = store.show(5);
  BOOST_REQUIRE_MESSAGE(shown, why(shown));
  BOOST_TEST(shown->participants.size() == 40u);
  BOOST_TEST(shown->participants[1].channels_in == 1u);  // 1 -> 2, 4 messages
  BOOST_TEST(shown->participants[1].messages_in == 4u);
  BOOST_TEST(shown->participants[1].where.location == "account-2");
  auto raw = open_raw(path);
  for (const char* table : {"participants", "local_states", "channels", "messages"}) {
    BOOST_TEST(count_rows(raw, table, 5) == 0, table << " holds rows of a version 3 checkpoint");
  }
  auto runs = raw.prepare(
      "SELECT kind, count(*), max(length(body)) FROM part_runs WHERE checkpoint_id = 5"
      " GROUP BY kind ORDER BY kind");
  BOOST_REQUIRE(runs);
  BOOST_REQUIRE(*runs->step());
  BOOST_TEST(runs->column_int64(0) == 0);  // participants
  BOOST_TEST(runs->column_int64(1) >= 2);  // cut near runs::body_bytes_target
  BOOST_TEST(runs->column_int64(2) <
             static_cast<std::int64_t>(runs::body_bytes_target + 65 * 1024));
  BOOST_REQUIRE(*runs->step());
  BOOST_TEST(runs->column_int64(0) == 1);  // channels holding messages
  BOOST_TEST(runs->column_int64(1) == 1);
}

BOOST_AUTO_TEST_CASE(a_damaged_run_fails_load_naming_checkpoint_and_participant) {
  std::uint64_t rng = 17;
  const auto neighbour = make_state(20, rng, 4, 3);
  const auto victim = make_state(21, rng, 4, 3);
  const auto zeros = [](const bytes& b) { return bytes(b.size(), 0); };
  const bytes account_4 = store_test::text_bytes("account-4");
  const bytes account_9 = store_test::text_bytes("account-9");
  struct damage {
    std::string what;
    std::function<void(storage::database&)> apply;
    std::string expected;  // part of the error message
  };
  const std::vector<damage> cases = {
      {"participant 3's state zeroed",
       [&](storage::database& raw) {
         const auto& state = victim.local_states.at(3);
         patch_runs(raw, 21, parts::as_span(state), parts::as_span(zeros(state)));
       },
       "checkpoint 21: participant 3: local state fails its checksum"},
      {"the payload of message 1 on 2->3 zeroed",
       [&](storage::database& raw) {
         const auto& payload = victim.channels.at(channel_id{2, 3}).at(1).payload;
         patch_runs(raw, 21, parts::as_span(payload), parts::as_span(zeros(payload)));
       },
       "checkpoint 21: participant 3: channel 2->3 message 1 fails its checksum"},
      {"participant 4's location changed",
       [&](storage::database& raw) {
         patch_runs(raw, 21, parts::as_span(account_4), parts::as_span(account_9));
       },
       "checkpoint 21: participant 4: its manifest entry fails its checksum"},
      {"the channels run cut short",
       [](storage::database& raw) {
         BOOST_REQUIRE(raw.exec("UPDATE part_runs SET body = substr(body, 1, length(body) - 5)"
                                " WHERE checkpoint_id = 21 AND kind = 1"));
       },
       "checkpoint 21: part run 1 is damaged: the entry at byte"},
      {"the channels run deleted",
       [](storage::database& raw) {
         BOOST_REQUIRE(raw.exec("DELETE FROM part_runs WHERE checkpoint_id = 21 AND kind = 1"));
       },
       "checkpoint 21: the manifest lists 4 channels, 1 are stored"},
      {"the participants run deleted",
       [](storage::database& raw) {
         BOOST_REQUIRE(raw.exec("DELETE FROM part_runs WHERE checkpoint_id = 21 AND kind = 0"));
       },
       "checkpoint 21: the manifest lists 4 participants (4 with a state), 0 (0) are stored"},
      {"the participants run stored twice",
       [](storage::database& raw) {
         BOOST_REQUIRE(raw.exec("INSERT INTO part_runs SELECT checkpoint_id, 7, kind, body, checksum"
                                " FROM part_runs WHERE checkpoint_id = 21 AND kind = 0"));
       },
       "checkpoint 21: participant 1 is stored twice"},
      {"a run's kind changed",
       [](storage::database& raw) {
         BOOST_REQUIRE(raw.exec("UPDATE part_runs SET kind = 5 WHERE checkpoint_id = 21 AND kind = 1"));
       },
       "checkpoint 21: part run 1 is damaged: unknown kind 5"},
      {"a run's checksum changed",
       [](storage::database& raw) {
         BOOST_REQUIRE(raw.exec("UPDATE part_runs SET checksum = checksum + 1"
                                " WHERE checkpoint_id = 21 AND run = 0"));
       },
       "checkpoint 21: part run 0 fails its checksum"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      troupe::test::temp_dir dir;
      auto store = open_store(dir.file("c.db"));
      BOOST_REQUIRE(store.save(neighbour, metadata_for(neighbour)));
      BOOST_REQUIRE(store.save(victim, metadata_for(victim)));
      {
        auto raw = open_raw(store.path());
        c.apply(raw);
      }
      const auto loaded = store.load(21);
      BOOST_REQUIRE(!loaded);
      BOOST_TEST(loaded.err().code == errc::corrupt);
      BOOST_TEST(contains(loaded.err().message, c.expected), loaded.err().message);
      BOOST_TEST(store.plan(21).err().code == errc::corrupt);
      BOOST_TEST((store.load(20).value() == neighbour));
    }
  }
}

BOOST_AUTO_TEST_CASE(any_byte_of_a_run_damaged_is_refused_as_corrupt_never_loaded) {
  std::uint64_t rng = store_test::seed_for("random_run_damage", 31);
  troupe::test::temp_dir dir;
  auto store = open_store(dir.file("c.db"));
  const auto neighbour = make_state(20, rng, 4, 3);
  const auto victim = make_state(21, rng, 5, 4);
  BOOST_REQUIRE(store.save(neighbour, metadata_for(neighbour)));
  BOOST_REQUIRE(store.save(victim, metadata_for(victim)));
  auto raw = open_raw(store.path());
  std::vector<std::vector<std::byte>> bodies;
  {
    auto select = raw.prepare("SELECT body FROM part_runs WHERE checkpoint_id = 21 ORDER BY run");
    BOOST_REQUIRE(select);
    while (*select->step()) {
      const auto blob = select->column_blob(0);
      bodies.emplace_back(blob.begin(), blob.end());
    }
  }
  BOOST_REQUIRE(bodies.size() == 2u);
  const auto put = [&](std::size_t run, const std::vector<std::byte>& body) {
    auto update = raw.prepare("UPDATE part_runs SET body = ? WHERE checkpoint_id = 21 AND run = ?");
    BOOST_REQUIRE(update);
    BOOST_REQUIRE(update->bind_blob(1, body) &&
                  update->bind_int64(2, static_cast<std::int64_t>(run)));
    BOOST_REQUIRE(update->run());
  };
  for (int i = 0; i < 300; ++i) {
    const auto run = store_test::splitmix(rng) % bodies.size();
    auto damaged = bodies[run];
    const auto at = store_test::splitmix(rng) % damaged.size();
    damaged[at] ^= static_cast<std::byte>(1 + store_test::splitmix(rng) % 255);
    put(run, damaged);
    const auto loaded = store.load(21);
    BOOST_TEST_CONTEXT("run " << run << " byte " << at) {
      BOOST_REQUIRE(!loaded);
      BOOST_TEST(loaded.err().code == errc::corrupt);
      BOOST_TEST(contains(loaded.err().message, "checkpoint 21: "), loaded.err().message);
    }
    put(run, bodies[run]);
  }
  BOOST_TEST((store.load(21).value() == victim));
  BOOST_TEST((store.load(20).value() == neighbour));
}

BOOST_AUTO_TEST_CASE(a_version_2_file_migrates_and_its_checkpoints_still_load) {
  std::uint64_t rng = 37;
  troupe::test::temp_dir dir;
  const auto path = dir.file("c.db");
  const auto old = make_state(50, rng, 5, 3);
  {
    auto store = open_store(path);
    BOOST_REQUIRE(store.save(old, metadata_for(old)));
    auto raw = open_raw(path);
    rewrite_as_version_2(raw, 50);
    BOOST_TEST(count_rows(raw, "participants", 50) == 5);
    BOOST_TEST(count_rows(raw, "messages", 50) == 12);  // 4 channels of 3
    BOOST_REQUIRE(raw.exec("DROP TABLE part_runs"));
    BOOST_REQUIRE(raw.exec("DROP TABLE checkpoint_ids"));  // version 4's
    BOOST_REQUIRE(raw.exec("PRAGMA user_version = 2"));
  }
  auto store = open_store(path);  // migrates to versions 3 and 4
  BOOST_TEST((store.load(50).value() == old));
  auto shown = store.show(50);
  BOOST_REQUIRE_MESSAGE(shown, why(shown));
  BOOST_TEST(shown->participants.size() == 5u);
  BOOST_TEST(shown->participants[4].messages_in == 3u);  // 4 -> 5
  const auto next = make_state(51, rng, 3, 2);
  BOOST_REQUIRE(store.save(next, metadata_for(next)));
  BOOST_TEST((store.load(51).value() == next));
  auto list = store.list();
  BOOST_REQUIRE(list);
  BOOST_TEST(list->size() == 2u);
  BOOST_REQUIRE(store.remove(50));  // an old checkpoint's rows go too
  auto raw = open_raw(path);
  BOOST_TEST(count_rows(raw, "participants", 50) == 0);
  BOOST_TEST(count_rows(raw, "messages", 50) == 0);
  BOOST_TEST(count_rows(raw, "part_runs", 51) == 2);
}

BOOST_AUTO_TEST_CASE(a_damaged_part_of_a_version_2_checkpoint_fails_load_naming_checkpoint_and_participant) {
  struct damage {
    const char* sql;
    const char* expected;  // part of the error message
  };
  // Checkpoint 21 is damaged, 20 beside it must still load.
  const damage cases[] = {
      {"UPDATE local_states SET state = zeroblob(length(state)) WHERE checkpoint_id = 21 AND "
       "participant = 3",
       "checkpoint 21: participant 3: local state fails its checksum"},
      {"DELETE FROM local_states WHERE checkpoint_id = 21 AND participant = 2",
       "checkpoint 21: participant 2: local state missing"},
      {"UPDATE messages SET payload = zeroblob(length(payload)) WHERE checkpoint_id = 21 AND "
       "sender = 2 AND position = 1",
       "checkpoint 21: participant 3: channel 2->3 message 1 fails its checksum"},
      {"UPDATE messages SET sequence = sequence + 1 WHERE checkpoint_id = 21 AND sender = 3 AND "
       "position = 0",
       "checkpoint 21: participant 4: channel 3->4 message 0 fails its checksum"},
      {"DELETE FROM messages WHERE checkpoint_id = 21 AND sender = 1 AND position = 2",
       "checkpoint 21: participant 2: channel 1->2 has 2 of its 3 messages"},
      {"DELETE FROM messages WHERE checkpoint_id = 21 AND sender = 1 AND position = 0",
       "checkpoint 21: participant 2: channel 1->2 message 1: a message before it is missing"},
      {"UPDATE channels SET message_count = 2 WHERE checkpoint_id = 21 AND sender = 2",
       "checkpoint 21: participant 3: channel 2->3 fails its checksum"},
      {"DELETE FROM channels WHERE checkpoint_id = 21 AND sender = 1 AND receiver = 2",
       "checkpoint 21: the manifest lists 4 channels, 3 are stored"},
      // The empty channel 1->4 lives in the checkpoint's empty_channels row (schema version 2).
      {"DELETE FROM empty_channels WHERE checkpoint_id = 21",
       "checkpoint 21: the manifest lists 4 channels, 3 are stored"},
      {"UPDATE empty_channels SET channels = zeroblob(length(channels)) WHERE checkpoint_id = 21",
       "checkpoint 21: the list of empty channels fails its checksum"},
      {"INSERT INTO channels VALUES (21, 1, 4, 0, 0, 0)",
       "checkpoint 21: participant 4: channel 1->4 fails its checksum"},
      {"UPDATE participants SET node = 'elsewhere' WHERE checkpoint_id = 21 AND participant = 4",
       "checkpoint 21: participant 4: its manifest entry fails its checksum"},
      {"DELETE FROM participants WHERE checkpoint_id = 21 AND participant = 4",
       "checkpoint 21: the manifest lists 4 participants (4 with a state), 3 (3) are stored"},
      {"UPDATE checkpoints SET message_count = 8 WHERE id = 21",
       "checkpoint 21: the manifest fails its checksum"},
  };
  std::uint64_t rng = 17;
  const auto neighbour = make_state(20, rng, 4, 3);
  const auto victim = make_state(21, rng, 4, 3);
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.sql) {
      troupe::test::temp_dir dir;
      auto store = open_store(dir.file("c.db"));
      BOOST_REQUIRE(store.save(neighbour, metadata_for(neighbour)));
      BOOST_REQUIRE(store.save(victim, metadata_for(victim)));
      {
        auto raw = open_raw(store.path());
        rewrite_as_version_2(raw, 20);
        rewrite_as_version_2(raw, 21);
        BOOST_REQUIRE(raw.exec(c.sql));
      }
      const auto loaded = store.load(21);
      BOOST_REQUIRE(!loaded);
      BOOST_TEST(loaded.err().code == errc::corrupt);
      BOOST_TEST(contains(loaded.err().message, c.expected), loaded.err().message);
      const auto refused = store.plan(21);
      BOOST_REQUIRE(!refused);
      BOOST_TEST(refused.err().code == errc::corrupt);
      BOOST_TEST((store.load(20).value() == neighbour));
    }
  }
}

BOOST_AUTO_TEST_CASE(empty_channels_are_one_row_per_checkpoint_and_a_version_1_file_still_loads) {
  std::uint64_t rng = 19;
  troupe::test::temp_dir dir;
  const auto path = dir.file("c.db");
  auto g = make_state(40, rng, 6, 2);
  for (participant_id p = 2; p <= 6; ++p) g.channels[channel_id{p, 1}];  // five more, empty
  {
    auto store = open_store(path);
    BOOST_REQUIRE(store.save(g, metadata_for(g)));
    auto raw = open_raw(path);
    auto count = raw.prepare("SELECT (SELECT count(*) FROM empty_channels),"
                             " (SELECT length(channels) FROM empty_channels)");
    BOOST_REQUIRE(count);
    BOOST_REQUIRE(*count->step());
    BOOST_TEST(count->column_int64(0) == 1);   // the six empty ones: one row
    BOOST_TEST(count->column_int64(1) == 6 * 16);
  }
  {
    // Rewrite the file as version 1 wrote it (a row per participant, state, channel and message,
    // a `channels` row per empty channel too, with the checksum version 1 gave it; neither an
    // empty_channels nor a part_runs table), then open it with the store.
    auto raw = open_raw(path);
    rewrite_as_version_2(raw, 40);
    BOOST_TEST(count_rows(raw, "channels", 40) == 5);  // the channels with messages: a row each
    BOOST_REQUIRE(raw.exec("DELETE FROM empty_channels"));
    for (const auto& [c, messages] : g.channels) {
      if (!messages.empty()) continue;
      auto insert = raw.prepare(
          "INSERT INTO channels(checkpoint_id, sender, receiver, message_count, message_bytes,"
          " checksum) VALUES (40, ?, ?, 0, 0, ?)");
      BOOST_REQUIRE(insert);
      BOOST_REQUIRE(insert->bind_int64(1, static_cast<std::int64_t>(c.from)));
      BOOST_REQUIRE(insert->bind_int64(2, static_cast<std::int64_t>(c.to)));
      BOOST_REQUIRE(insert->bind_int64(3, crc32c_channel_row_v1(40, c)));
      BOOST_REQUIRE(insert->run());
    }
    BOOST_REQUIRE(raw.exec("DROP TABLE empty_channels"));
    BOOST_REQUIRE(raw.exec("DROP TABLE part_runs"));
    BOOST_REQUIRE(raw.exec("DROP TABLE checkpoint_ids"));  // version 4's
    BOOST_REQUIRE(raw.exec("PRAGMA user_version = 1"));
  }
  auto store = open_store(path);  // migrates to versions 2, 3 and 4
  auto loaded = store.load(40);
  BOOST_REQUIRE_MESSAGE(loaded, why(loaded));
  BOOST_TEST((*loaded == g));
  auto shown = store.show(40);
  BOOST_REQUIRE_MESSAGE(shown, why(shown));
  BOOST_TEST(shown->summary.channel_count == g.channels.size());
  BOOST_TEST(shown->participants[0].channels_in == 5u);  // 2..6 -> 1, all empty
  // New saves in the migrated file use the compact form again.
  auto next = make_state(41, rng, 3, 1);
  BOOST_REQUIRE(store.save(next, metadata_for(next)));
  BOOST_TEST((store.load(41).value() == next));
  auto raw = open_raw(path);
  BOOST_TEST(count_rows(raw, "part_runs", 41) == 2);  // participants, channels
  BOOST_TEST(count_rows(raw, "empty_channels", 41) == 1);
}

