// The snapshot store's contract (consensus/storage/sqlite_snapshot_store.hpp): complete snapshots
// read back by any (offset, max bytes); the previous snapshot stays until the next is finalized; an
// incoming snapshot resumes after a reopen from its durable byte count; a mismatch against what the
// sender announced, a damaged chunk or row is errc::corrupt naming the file.
#define BOOST_TEST_MODULE raft_snapshot_store
#include <boost/test/unit_test.hpp>

#include "consensus/storage/schema.hpp"
#include "consensus/storage/sqlite_snapshot_store.hpp"
#include "runtime/base/crc32c.hpp"
#include "runtime/storage/database.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/raft_log_store/test_support.hpp"

using namespace troupe;
using namespace troupe::raft;
using namespace troupe::raft::test;

namespace {

snapshot_metadata meta(index_t index, term_t term, std::vector<node_id> voters = {1, 2, 3}) {
  snapshot_metadata m;
  m.last_index = index;
  m.last_term = term;
  m.membership.voters = std::move(voters);
  return m;
}

sqlite_snapshot_store_options small_chunks() {
  sqlite_snapshot_store_options o;
  o.background_checkpoint = false;
  o.chunk_bytes = 1000;
  return o;
}

std::unique_ptr<sqlite_snapshot_store> open_ok(const std::string& path,
                                               const sqlite_snapshot_store_options& o = small_chunks()) {
  auto s = sqlite_snapshot_store::open(path, o);
  BOOST_TEST_REQUIRE(s.ok(), why(s));
  return std::move(*s);
}

/// Runs `sql` on the file directly (to damage it on purpose).
void raw_exec(const std::string& path, const std::string& sql) {
  storage::options o;
  o.migrations = log_store::snapshot_schema_migrations();
  o.background_checkpoint = false;
  auto db = storage::database::open(path, o);
  BOOST_TEST_REQUIRE(db.ok(), why(db));
  BOOST_TEST_REQUIRE(db->exec(sql).ok());
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_empty_store_has_no_snapshot_and_says_so) {
  troupe::test::temp_dir dir{"snapstore"};
  auto store = open_ok(dir.file("snap.db"));
  BOOST_TEST(!store->latest().has_value());
  BOOST_TEST(!store->partial().has_value());
  auto r = store->read(0, 10);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::not_found);
  BOOST_TEST((store->finalize().err().code == errc::invalid_argument));
  BOOST_TEST((store->write_chunk(0, "x").err().code == errc::invalid_argument));
}

BOOST_AUTO_TEST_CASE(a_saved_snapshot_reads_back_by_any_offset_and_size_and_survives_a_reopen) {
  const auto seed = seed_for("a_saved_snapshot_reads_back");
  std::uint64_t rng = seed;
  troupe::test::temp_dir dir{"snapstore"};
  const auto path = dir.file("snap.db");
  const std::string image = random_bytes(rng, 10'500);
  const auto m = meta(42, 7, {1, 2, 3});
  {
    auto store = open_ok(path);
    auto saved = store->save(m, image);
    BOOST_TEST_REQUIRE(saved.ok(), why(saved));
    BOOST_TEST((saved->metadata == m));
    BOOST_TEST(saved->size == image.size());
    BOOST_TEST(saved->checksum == crc32c(image));
  }
  auto store = open_ok(path);
  BOOST_TEST_REQUIRE(store->latest().has_value());
  BOOST_TEST((store->latest()->metadata == m));
  BOOST_TEST(*store->read_all() == image);
  for (int i = 0; i < 300; ++i) {
    const std::uint64_t offset = splitmix(rng) % (image.size() + 1);
    const std::uint64_t max = 1 + splitmix(rng) % 3000;
    auto got = store->read(offset, max);
    BOOST_TEST_REQUIRE(got.ok(), why(got));
    BOOST_TEST_REQUIRE(*got == image.substr(offset, max), "offset " << offset << " max " << max);
  }
  BOOST_TEST(store->read(image.size(), 10)->empty());
  BOOST_TEST((store->read(image.size() + 1, 10).err().code == errc::not_found));
  BOOST_TEST((store->read(0, 0).err().code == errc::invalid_argument));
  BOOST_TEST(store->check_integrity().ok());
}

BOOST_AUTO_TEST_CASE(the_previous_snapshot_stays_until_the_next_is_finalized_and_then_goes) {
  troupe::test::temp_dir dir{"snapstore"};
  const auto path = dir.file("snap.db");
  std::uint64_t rng = 5;
  const std::string a = random_bytes(rng, 2500), b = random_bytes(rng, 3100);
  {
    auto store = open_ok(path);
    BOOST_TEST_REQUIRE(store->save(meta(10, 1), a).ok());
    BOOST_TEST_REQUIRE(*store->begin_write(meta(20, 2, {1, 2, 3, 4})) == 0u);
    BOOST_TEST_REQUIRE(store->write_chunk(0, b.substr(0, 1200)).ok());
    BOOST_TEST(store->latest()->metadata.last_index == 10u);
    BOOST_TEST(*store->read_all() == a);
  }
  // A restart in the middle of a transfer: the old snapshot is still the latest, and the new one
  // resumes from its durable bytes.
  auto store = open_ok(path);
  BOOST_TEST(store->latest()->metadata.last_index == 10u);
  BOOST_TEST(*store->read_all() == a);
  BOOST_TEST_REQUIRE(store->partial().has_value());
  BOOST_TEST(store->partial()->written == 1200u);
  BOOST_TEST((store->partial()->metadata == meta(20, 2, {1, 2, 3, 4})));
  auto resume = store->begin_write(meta(20, 2, {1, 2, 3, 4}));
  BOOST_TEST_REQUIRE(resume.ok());
  BOOST_TEST(*resume == 1200u);
  // A chunk at any other offset is refused and changes nothing.
  BOOST_TEST((store->write_chunk(0, b.substr(0, 10)).err().code == errc::invalid_argument));
  BOOST_TEST((store->write_chunk(1300, b.substr(1300, 10)).err().code == errc::invalid_argument));
  BOOST_TEST_REQUIRE(store->write_chunk(1200, b.substr(1200)).ok());
  auto done = store->finalize(b.size(), crc32c(b));
  BOOST_TEST_REQUIRE(done.ok(), why(done));
  BOOST_TEST(store->latest()->metadata.last_index == 20u);
  BOOST_TEST(!store->partial().has_value());
  BOOST_TEST(*store->read_all() == b);
  BOOST_TEST(store->check_integrity().ok());
  store.reset();
  store = open_ok(path);
  BOOST_TEST(*store->read_all() == b);
  BOOST_TEST((store->latest()->metadata.membership.voters == std::vector<node_id>{1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(a_transfer_for_another_snapshot_discards_the_partial_one) {
  troupe::test::temp_dir dir{"snapstore"};
  auto store = open_ok(dir.file("snap.db"));
  BOOST_TEST_REQUIRE(store->begin_write(meta(5, 1)).ok());
  BOOST_TEST_REQUIRE(store->write_chunk(0, "abcdef").ok());
  // Same index, another term (a new leader's snapshot): starts over.
  BOOST_TEST(*store->begin_write(meta(5, 2)) == 0u);
  BOOST_TEST_REQUIRE(store->write_chunk(0, "xyz").ok());
  BOOST_TEST_REQUIRE(store->finalize().ok());
  BOOST_TEST(*store->read_all() == "xyz");
  BOOST_TEST(store->check_integrity().ok());
}

BOOST_AUTO_TEST_CASE(a_received_snapshot_that_differs_from_what_was_announced_is_corrupt_and_dropped) {
  troupe::test::temp_dir dir{"snapstore"};
  auto store = open_ok(dir.file("snap.db"));
  BOOST_TEST_REQUIRE(store->save(meta(3, 1), "old").ok());
  BOOST_TEST_REQUIRE(store->begin_write(meta(9, 2)).ok());
  BOOST_TEST_REQUIRE(store->write_chunk(0, "new image").ok());
  auto r = store->finalize(9, crc32c("new imagf"));
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::corrupt);
  BOOST_TEST(!store->partial().has_value());
  BOOST_TEST(*store->read_all() == "old");
  BOOST_TEST_REQUIRE(store->begin_write(meta(9, 2)).ok());
  BOOST_TEST_REQUIRE(store->write_chunk(0, "new image").ok());
  BOOST_TEST((store->finalize(10).err().code == errc::corrupt));
}

BOOST_AUTO_TEST_CASE(a_damaged_chunk_or_row_is_reported_as_corrupt_naming_the_file) {
  troupe::test::temp_dir dir{"snapstore"};
  const auto path = dir.file("snap.db");
  std::uint64_t rng = 9;
  const std::string image = random_bytes(rng, 4000);
  open_ok(path)->save(meta(100, 4), image).value();
  // A flipped byte in the second chunk's data (same length: open's length check passes).
  raw_exec(path, "UPDATE chunks SET data = zeroblob(1000) WHERE offset = 1000");
  {
    auto store = open_ok(path);
    auto all = store->read_all();
    BOOST_TEST_REQUIRE(!all.ok());
    BOOST_TEST(all.err().code == errc::corrupt);
    BOOST_TEST(all.err().message.find(path) != std::string::npos);
    BOOST_TEST((store->read(1500, 10).err().code == errc::corrupt));
    BOOST_TEST(store->read(0, 1000).ok());  // the first chunk is fine
    BOOST_TEST((store->check_integrity().err().code == errc::corrupt));
  }
  // A missing chunk: the open refuses it.
  raw_exec(path, "DELETE FROM chunks WHERE offset = 2000");
  auto missing = sqlite_snapshot_store::open(path, small_chunks());
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.err().code == errc::corrupt);
  // A changed term in the snapshot row: its checksum fails.
  troupe::test::temp_dir dir2{"snapstore"};
  const auto path2 = dir2.file("snap.db");
  open_ok(path2)->save(meta(100, 4), image).value();
  raw_exec(path2, "UPDATE snapshots SET last_term = 5");
  auto bad_row = sqlite_snapshot_store::open(path2, small_chunks());
  BOOST_TEST_REQUIRE(!bad_row.ok());
  BOOST_TEST(bad_row.err().code == errc::corrupt);
  BOOST_TEST(bad_row.err().message.find("index 100") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_leaders_snapshot_source_reports_each_corrupt_read_for_the_metric) {
  // A leader reads chunks to send through sqlite_snapshot_source while the node keeps running;
  // the raft actor counts what it reports in troupe_storage_corruption_detected_total.
  troupe::test::temp_dir dir{"snapstore"};
  const auto path = dir.file("snap.db");
  std::uint64_t rng = 13;
  const std::string image = random_bytes(rng, 3000);
  open_ok(path)->save(meta(50, 2), image).value();
  raw_exec(path, "UPDATE chunks SET data = zeroblob(1000) WHERE offset = 1000");
  auto reader = open_ok(path);
  sqlite_snapshot_source source(*reader);
  std::vector<errc> reported;
  source.on_corrupt([&](const error& e) { reported.push_back(e.code); });
  const snapshot_source& core_view = source;
  BOOST_TEST(core_view.read(meta(50, 2), 0, 1000).ok());
  BOOST_TEST((core_view.size(meta(50, 3)).err().code == errc::not_found));  // not damage
  BOOST_TEST(reported.empty());
  BOOST_TEST((core_view.read(meta(50, 2), 1000, 1000).err().code == errc::corrupt));
  BOOST_TEST((core_view.read(meta(50, 2), 1500, 10).err().code == errc::corrupt));
  BOOST_TEST(reported.size() == 2u);
}

BOOST_AUTO_TEST_CASE(an_empty_snapshot_is_a_snapshot) {
  troupe::test::temp_dir dir{"snapstore"};
  const auto path = dir.file("snap.db");
  open_ok(path)->save(meta(1, 1), "").value();
  auto store = open_ok(path);
  BOOST_TEST_REQUIRE(store->latest().has_value());
  BOOST_TEST(store->latest()->size == 0u);
  BOOST_TEST(store->read_all()->empty());
}

BOOST_AUTO_TEST_CASE(a_second_store_object_on_the_file_reads_what_the_writer_finalized_by_metadata) {
  // The raft actor's thread reads (snapshot_source) while its storage thread writes: two objects,
  // two connections, one file.
  troupe::test::temp_dir dir{"snapstore"};
  const auto path = dir.file("snap.db");
  auto writer = open_ok(path);
  auto reader = open_ok(path);
  std::uint64_t rng = 11;
  const std::string a = random_bytes(rng, 3500), b = random_bytes(rng, 1200);
  BOOST_TEST((reader->size_of(meta(10, 1)).err().code == errc::not_found));
  BOOST_TEST_REQUIRE(writer->save(meta(10, 1), a).ok());
  BOOST_TEST(*reader->size_of(meta(10, 1)) == a.size());
  BOOST_TEST(*reader->read_of(meta(10, 1), 1000, 2000) == a.substr(1000, 2000));
  BOOST_TEST((reader->size_of(meta(10, 2)).err().code == errc::not_found));  // another term
  // A partial one is not readable; once finalized it replaces the old one.
  BOOST_TEST_REQUIRE(writer->begin_write(meta(30, 2)).ok());
  BOOST_TEST_REQUIRE(writer->write_chunk(0, b).ok());
  BOOST_TEST((reader->size_of(meta(30, 2)).err().code == errc::not_found));
  BOOST_TEST_REQUIRE(writer->finalize().ok());
  BOOST_TEST(*reader->read_of(meta(30, 2), 0, 5000) == b);
  BOOST_TEST((reader->read_of(meta(10, 1), 0, 10).err().code == errc::not_found));
  BOOST_TEST((reader->read_of(meta(30, 2), 0, 0).err().code == errc::invalid_argument));
  // The same through the core's interface.
  const sqlite_snapshot_source source(*reader);
  const snapshot_source& core_view = source;
  BOOST_TEST(*core_view.size(meta(30, 2)) == b.size());
  BOOST_TEST(*core_view.read(meta(30, 2), 100, 50) == b.substr(100, 50));
  BOOST_TEST((core_view.size(meta(10, 1)).err().code == errc::not_found));
}
