// The snapshot store's contract (consensus/storage/sqlite_snapshot_store.hpp): complete snapshots
// read back by any (offset, max bytes); the previous snapshot stays until the next is finalized; an
// incoming snapshot resumes after a reopen from its durable byte count; a mismatch against what the
// sender announced, a damaged chunk or row is errc::corrupt naming the file.
#define BOOST_TEST_MODULE raft_snapshot_store
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "consensus/core/membership.hpp"
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

/// The value of PRAGMA `name` of the file at `path`, read through a connection of its own.
std::string pragma_of(const std::string& path, const std::string& name) {
  storage::options o;
  o.migrations = log_store::snapshot_schema_migrations();
  o.background_checkpoint = false;
  auto db = storage::database::open(path, o);
  BOOST_TEST_REQUIRE(db.ok(), why(db));
  auto st = db->prepare("PRAGMA " + name);
  BOOST_TEST_REQUIRE(st.ok(), why(st));
  auto row = st->step();
  BOOST_TEST_REQUIRE((row.ok() && *row));
  return std::string(st->column_text(0));
}

/// Writes, with plain SQL on a file of schema version 1 and SQLite's default 4 KiB pages (what
/// every file was before version 2 and the 64 KiB default), one snapshot row and its chunk rows
/// of `chunk` bytes. The checksums follow the store's layout, spelled out here on purpose: files
/// written by older builds must keep verifying.
void write_version_1_rows(storage::database& db, std::int64_t id, bool complete, const snapshot_metadata& m,
                          std::string_view bytes, std::size_t chunk) {
  const std::string membership = encode_membership(m.membership);
  const std::uint32_t crc = crc32c(bytes);
  const std::uint32_t row_sum = checksum_builder{}
                                    .u8('S')
                                    .i64(id)
                                    .u8(complete ? 1 : 0)
                                    .u64(m.last_index)
                                    .u64(m.last_term)
                                    .text(membership)
                                    .u64(bytes.size())
                                    .u64(crc)
                                    .value();
  auto row = db.prepare(
      "INSERT INTO snapshots(id, complete, last_index, last_term, membership, size, crc, checksum) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  BOOST_TEST_REQUIRE(row.ok(), why(row));
  BOOST_TEST_REQUIRE(row->bind_int64(1, id).ok());
  BOOST_TEST_REQUIRE(row->bind_int64(2, complete ? 1 : 0).ok());
  BOOST_TEST_REQUIRE(row->bind_int64(3, static_cast<std::int64_t>(m.last_index)).ok());
  BOOST_TEST_REQUIRE(row->bind_int64(4, static_cast<std::int64_t>(m.last_term)).ok());
  BOOST_TEST_REQUIRE(row->bind_blob(5, std::as_bytes(std::span(membership.data(), membership.size()))).ok());
  BOOST_TEST_REQUIRE(row->bind_int64(6, static_cast<std::int64_t>(bytes.size())).ok());
  BOOST_TEST_REQUIRE(row->bind_int64(7, crc).ok());
  BOOST_TEST_REQUIRE(row->bind_int64(8, row_sum).ok());
  BOOST_TEST_REQUIRE(row->run().ok());
  for (std::size_t offset = 0; offset < bytes.size(); offset += chunk) {
    const std::string_view data = bytes.substr(offset, chunk);
    auto ins = db.prepare("INSERT INTO chunks(snapshot_id, offset, data, checksum) VALUES (?1, ?2, ?3, ?4)");
    BOOST_TEST_REQUIRE(ins.ok(), why(ins));
    BOOST_TEST_REQUIRE(ins->bind_int64(1, id).ok());
    BOOST_TEST_REQUIRE(ins->bind_int64(2, static_cast<std::int64_t>(offset)).ok());
    BOOST_TEST_REQUIRE(ins->bind_blob(3, std::as_bytes(std::span(data.data(), data.size()))).ok());
    BOOST_TEST_REQUIRE(
        ins->bind_int64(4, checksum_builder{}.u8('C').i64(id).u64(offset).text(data).value()).ok());
    BOOST_TEST_REQUIRE(ins->run().ok());
  }
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

BOOST_AUTO_TEST_CASE(a_new_file_has_64_kib_pages_and_the_rowid_chunk_table) {
  troupe::test::temp_dir dir{"snapstore"};
  const auto path = dir.file("snap.db");
  std::uint64_t rng = 21;
  const std::string image = random_bytes(rng, 200'000);
  {
    auto store = open_ok(path);
    BOOST_TEST_REQUIRE(store->save(meta(10, 1), image).ok());
  }
  BOOST_TEST(pragma_of(path, "page_size") == "65536");
  BOOST_TEST(pragma_of(path, "user_version") == std::to_string(log_store::snapshot_schema_version));
  auto store = open_ok(path);
  BOOST_TEST(*store->read_all() == image);
  BOOST_TEST(store->check_integrity().ok());
}

BOOST_AUTO_TEST_CASE(a_file_of_schema_version_1_and_4_kib_pages_opens_migrated_and_keeps_working) {
  // Files made before version 2: chunks in a WITHOUT ROWID table, SQLite's default page size.
  const auto seed = seed_for("a_file_of_schema_version_1");
  std::uint64_t rng = seed;
  troupe::test::temp_dir dir{"snapstore"};
  const auto path = dir.file("snap.db");
  const std::string image = random_bytes(rng, 10'500);
  const std::string incoming = random_bytes(rng, 7'300);
  const auto complete_meta = meta(400, 3);
  const auto partial_meta = meta(900, 4, {1, 2, 3, 4});
  {
    storage::options o;
    o.migrations = {log_store::snapshot_schema_migrations().front()};
    o.background_checkpoint = false;
    auto db = storage::database::open(path, o);
    BOOST_TEST_REQUIRE(db.ok(), why(db));
    auto tx = db->begin();
    BOOST_TEST_REQUIRE(tx.ok());
    write_version_1_rows(*db, 4, true, complete_meta, image, 1000);
    write_version_1_rows(*db, 5, false, partial_meta, std::string_view(incoming).substr(0, 2'500), 800);
    BOOST_TEST_REQUIRE(tx->commit().ok());
  }
  BOOST_TEST_REQUIRE(pragma_of(path, "page_size") == "4096");  // (pragma_of migrates the file)
  BOOST_TEST(pragma_of(path, "user_version") == std::to_string(log_store::snapshot_schema_version));
  {
    auto store = open_ok(path);
    BOOST_TEST_REQUIRE(store->latest().has_value());
    BOOST_TEST((store->latest()->metadata == complete_meta));
    BOOST_TEST(store->latest()->checksum == crc32c(image));
    BOOST_TEST(*store->read_all() == image);
    BOOST_TEST(*store->read(999, 1002) == image.substr(999, 1002));
    BOOST_TEST(store->check_integrity().ok());
    // The transfer the old file held resumes from its durable bytes and completes.
    BOOST_TEST_REQUIRE(store->partial().has_value());
    auto from = store->begin_write(partial_meta);
    BOOST_TEST_REQUIRE(from.ok(), why(from));
    BOOST_TEST(*from == 2'500u);
    BOOST_TEST_REQUIRE(store->write_chunk(*from, std::string_view(incoming).substr(*from)).ok());
    BOOST_TEST_REQUIRE(store->finalize(incoming.size(), crc32c(incoming)).ok());
  }
  {
    auto store = open_ok(path);
    BOOST_TEST(*store->read_all() == incoming);
    const std::string next = random_bytes(rng, 5'000);
    BOOST_TEST_REQUIRE(store->save(meta(1000, 4), next).ok());
    BOOST_TEST(*store->read_all() == next);
    BOOST_TEST(store->check_integrity().ok());
  }
  BOOST_TEST(pragma_of(path, "page_size") == "4096");  // an existing file keeps its page size
  // Damage is still found in the migrated file (in a chunk of the save above).
  raw_exec(path, "UPDATE chunks SET data = zeroblob(1000) WHERE offset = 1000");
  BOOST_TEST((open_ok(path)->read_all().err().code == errc::corrupt));
}

BOOST_AUTO_TEST_CASE(saves_that_replace_each_other_keep_the_file_the_size_of_one_image) {
  // Each save deletes the previous snapshot in the same transaction, before writing, so the new
  // rows reuse the freed pages: the file holds one image, not one per compaction nor two.
  troupe::test::temp_dir dir{"snapstore"};
  const auto path = dir.file("snap.db");
  std::uint64_t rng = 33;
  std::string image = random_bytes(rng, 1'000'000);
  sqlite_snapshot_store_options o;  // the node's defaults: 1 MiB rows, 64 KiB pages, checkpointer
  {
    auto store = open_ok(path, o);
    for (int i = 1; i <= 20; ++i) {
      image[static_cast<std::size_t>(i)] ^= 1;
      auto saved = store->save(meta(100 * static_cast<index_t>(i), 2), image);
      BOOST_TEST_REQUIRE(saved.ok(), why(saved));
    }
    BOOST_TEST(*store->read_all() == image);
  }  // closing the last connection copies the WAL into the file and removes it
  const auto bytes = std::filesystem::file_size(path);
  BOOST_TEST(bytes <= image.size() + 8 * 65536, "file " << bytes << " bytes for a " << image.size() << "-byte image");
  auto store = open_ok(path, o);
  BOOST_TEST(*store->read_all() == image);
  BOOST_TEST(store->check_integrity().ok());
}
