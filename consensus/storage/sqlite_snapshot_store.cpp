#include "consensus/storage/sqlite_snapshot_store.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "consensus/core/membership.hpp"
#include "consensus/storage/schema.hpp"
#include "runtime/base/crc32c.hpp"

namespace troupe::raft {
namespace {

std::int64_t to_sql(std::uint64_t v) noexcept { return static_cast<std::int64_t>(v); }
std::uint64_t from_sql(std::int64_t v) noexcept { return static_cast<std::uint64_t>(v); }

std::span<const std::byte> bytes_of(std::string_view s) noexcept {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}
std::string_view text_of(std::span<const std::byte> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::uint32_t row_checksum(std::int64_t id, bool complete, const snapshot_metadata& m, std::string_view membership,
                           std::uint64_t size, std::uint32_t crc) noexcept {
  return checksum_builder{}
      .u8('S')
      .i64(id)
      .u8(complete ? 1 : 0)
      .u64(m.last_index)
      .u64(m.last_term)
      .text(membership)
      .u64(size)
      .u64(crc)
      .value();
}

std::uint32_t chunk_checksum(std::int64_t id, std::uint64_t offset, std::string_view data) noexcept {
  return checksum_builder{}.u8('C').i64(id).u64(offset).text(data).value();
}

}  // namespace

sqlite_snapshot_store::sqlite_snapshot_store(storage::database db, sqlite_snapshot_store_options opts)
    : db_(std::move(db)), opts_(std::move(opts)) {}

sqlite_snapshot_store::~sqlite_snapshot_store() = default;

const std::string& sqlite_snapshot_store::path() const noexcept { return db_.path(); }

result<std::unique_ptr<sqlite_snapshot_store>> sqlite_snapshot_store::open(
    std::string path, const sqlite_snapshot_store_options& opts) {
  storage::options db_opts;
  db_opts.migrations = log_store::snapshot_schema_migrations();
  db_opts.synchronous = opts.synchronous;
  db_opts.background_checkpoint = opts.background_checkpoint;
  db_opts.vfs = opts.vfs;
  db_opts.page_size = opts.page_size;
  db_opts.secure_delete = opts.secure_delete;
  auto db = storage::database::open(std::move(path), db_opts);
  if (!db) return db.err();
  std::unique_ptr<sqlite_snapshot_store> store(new sqlite_snapshot_store(std::move(*db), opts));
  if (auto s = store->load(); !s) return s.err();
  return store;
}

error sqlite_snapshot_store::corrupt(const std::string& what) const {
  return make_error(errc::corrupt, db_.path() + ": corrupt: " + what);
}

status sqlite_snapshot_store::check_usable() const {
  if (failure_) return *failure_;
  return {};
}

status sqlite_snapshot_store::fail(error e) {
  // As the log store: after a failed commit what is durable is unknown; stop rather than guess.
  failure_ = e;
  return e;
}

status sqlite_snapshot_store::load() {
  auto st = db_.prepare(
      "SELECT id, complete, last_index, last_term, membership, size, crc, checksum FROM snapshots ORDER BY id");
  if (!st) return st.err();
  for (;;) {
    auto more = st->step();
    if (!more) return more.err();
    if (!*more) break;
    const std::int64_t id = st->column_int64(0);
    const bool complete = st->column_int64(1) != 0;
    snapshot_metadata meta;
    meta.last_index = from_sql(st->column_int64(2));
    meta.last_term = from_sql(st->column_int64(3));
    const std::string membership_bytes(text_of(st->column_blob(4)));
    const std::uint64_t size = from_sql(st->column_int64(5));
    const auto crc = static_cast<std::uint32_t>(st->column_int64(6));
    const auto sum = static_cast<std::uint32_t>(st->column_int64(7));
    const std::string which = "snapshot of index " + std::to_string(meta.last_index);
    if (sum != row_checksum(id, complete, meta, membership_bytes, size, crc)) {
      return corrupt(which + " fails its checksum");
    }
    auto m = decode_membership(membership_bytes);
    if (!m) return corrupt(which + ": membership: " + m.err().message);
    meta.membership = std::move(*m);
    if (complete) {
      if (latest_) return corrupt("two complete snapshots");
      latest_ = stored_snapshot{meta, size, crc};
      latest_id_ = id;
    } else {
      if (partial_) return corrupt("two partial snapshots");
      partial_ = partial_snapshot{meta, size};
      partial_id_ = id;
      partial_crc_ = crc;
    }
  }
  if (latest_) {
    if (auto s = verify_chunks(latest_id_, latest_->size); !s) return s;
  }
  if (partial_) {
    if (auto s = verify_chunks(partial_id_, partial_->written); !s) return s;
  }
  return {};
}

/// Checks that the chunks of snapshot `id` start at 0, follow each other without gap or overlap and
/// add up to `bytes` (lengths only; the data is verified when read).
status sqlite_snapshot_store::verify_chunks(std::int64_t id, std::uint64_t bytes) {
  auto st = db_.prepare("SELECT offset, length(data) FROM chunks WHERE snapshot_id = ?1 ORDER BY offset");
  if (!st) return st.err();
  if (auto s = st->bind_int64(1, id); !s) return s;
  std::uint64_t next = 0;
  for (;;) {
    auto more = st->step();
    if (!more) return more.err();
    if (!*more) break;
    const std::uint64_t offset = from_sql(st->column_int64(0));
    if (offset != next) {
      return corrupt("snapshot chunk at offset " + std::to_string(offset) + " where " + std::to_string(next) +
                     " was expected");
    }
    next += from_sql(st->column_int64(1));
  }
  if (next != bytes) {
    return corrupt("snapshot chunks hold " + std::to_string(next) + " bytes, its row says " + std::to_string(bytes));
  }
  return {};
}

result<std::string> sqlite_snapshot_store::read(std::uint64_t offset, std::uint64_t max_bytes) {
  if (!latest_) return make_error(errc::not_found, db_.path() + ": no snapshot");
  return read_range(latest_id_, latest_->size, offset, max_bytes);
}

result<std::pair<std::int64_t, std::uint64_t>> sqlite_snapshot_store::find_complete(const snapshot_metadata& metadata) {
  auto st = db_.prepare("SELECT id, size FROM snapshots WHERE complete = 1 AND last_index = ?1 AND last_term = ?2");
  if (!st) return st.err();
  if (auto s = st->bind_int64(1, to_sql(metadata.last_index)); !s) return s.err();
  if (auto s = st->bind_int64(2, to_sql(metadata.last_term)); !s) return s.err();
  auto row = st->step();
  if (!row) return row.err();
  if (!*row) {
    return make_error(errc::not_found, db_.path() + ": no complete snapshot of index " +
                                           std::to_string(metadata.last_index) + " term " +
                                           std::to_string(metadata.last_term));
  }
  return std::pair{st->column_int64(0), from_sql(st->column_int64(1))};
}

result<std::uint64_t> sqlite_snapshot_store::size_of(const snapshot_metadata& metadata) {
  auto found = find_complete(metadata);
  if (!found) return found.err();
  return found->second;
}

result<std::string> sqlite_snapshot_store::read_of(const snapshot_metadata& metadata, std::uint64_t offset,
                                                   std::uint64_t max_bytes) {
  auto found = find_complete(metadata);
  if (!found) return found.err();
  auto got = read_range(found->first, found->second, offset, max_bytes);
  if (!got && got.err().code == errc::corrupt) {
    // Another connection (the writer) may have replaced the snapshot between the two statements:
    // then its chunks are gone, which is not_found, not damage.
    auto again = find_complete(metadata);
    if (!again) return again.err();
  }
  return got;
}

result<std::string> sqlite_snapshot_store::read_range(std::int64_t id, std::uint64_t size, std::uint64_t offset,
                                                      std::uint64_t max_bytes) {
  if (max_bytes == 0) return make_error(errc::invalid_argument, "read: max_bytes is 0");
  if (offset > size) {
    return make_error(errc::not_found, "read: offset " + std::to_string(offset) + " past the snapshot's " +
                                           std::to_string(size) + " bytes");
  }
  const std::uint64_t end = offset + std::min(max_bytes, size - offset);
  std::string out;
  if (end == offset) return out;
  out.reserve(end - offset);
  // From the chunk that holds `offset` (the last one starting at or before it) to the one holding end - 1.
  auto st = db_.prepare(
      "SELECT offset, data, checksum FROM chunks WHERE snapshot_id = ?1 AND offset < ?3 AND "
      "offset >= (SELECT MAX(offset) FROM chunks WHERE snapshot_id = ?1 AND offset <= ?2) ORDER BY offset");
  if (!st) return st.err();
  if (auto s = st->bind_int64(1, id); !s) return s.err();
  if (auto s = st->bind_int64(2, to_sql(offset)); !s) return s.err();
  if (auto s = st->bind_int64(3, to_sql(end)); !s) return s.err();
  std::uint64_t at = offset;
  for (;;) {
    auto more = st->step();
    if (!more) return more.err();
    if (!*more) break;
    const std::uint64_t chunk_offset = from_sql(st->column_int64(0));
    const std::string_view data = text_of(st->column_blob(1));
    if (static_cast<std::uint32_t>(st->column_int64(2)) != chunk_checksum(id, chunk_offset, data)) {
      return corrupt("snapshot chunk at offset " + std::to_string(chunk_offset) + " fails its checksum");
    }
    if (chunk_offset > at || chunk_offset + data.size() <= at) {
      return corrupt("snapshot chunks do not cover offset " + std::to_string(at));
    }
    const std::uint64_t from = at - chunk_offset;
    const std::uint64_t take = std::min<std::uint64_t>(data.size() - from, end - at);
    out.append(data.substr(from, take));
    at += take;
  }
  if (at != end) return corrupt("snapshot chunks end at offset " + std::to_string(at));
  return out;
}

result<std::string> sqlite_snapshot_store::read_all() {
  if (!latest_) return make_error(errc::not_found, db_.path() + ": no snapshot");
  auto all = read(0, std::max<std::uint64_t>(latest_->size, 1));
  if (!all) return all;
  if (all->size() != latest_->size || crc32c(*all) != latest_->checksum) {
    return corrupt("snapshot of index " + std::to_string(latest_->metadata.last_index) +
                   " does not match its size and checksum");
  }
  return all;
}

status sqlite_snapshot_store::insert_snapshot_row(std::int64_t id, bool complete, const snapshot_metadata& metadata,
                                                  std::string_view membership, std::uint64_t size, std::uint32_t crc) {
  auto st = db_.prepare(
      "INSERT INTO snapshots(id, complete, last_index, last_term, membership, size, crc, checksum) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!st) return st.err();
  status s = st->bind_int64(1, id);
  if (s) s = st->bind_int64(2, complete ? 1 : 0);
  if (s) s = st->bind_int64(3, to_sql(metadata.last_index));
  if (s) s = st->bind_int64(4, to_sql(metadata.last_term));
  if (s) s = st->bind_blob(5, bytes_of(membership));
  if (s) s = st->bind_int64(6, to_sql(size));
  if (s) s = st->bind_int64(7, crc);
  if (s) s = st->bind_int64(8, row_checksum(id, complete, metadata, membership, size, crc));
  if (s) s = st->run();
  return s;
}

status sqlite_snapshot_store::insert_chunk(std::int64_t id, std::uint64_t offset, std::string_view data) {
  auto ins = db_.prepare("INSERT INTO chunks(snapshot_id, offset, data, checksum) VALUES (?1, ?2, ?3, ?4)");
  if (!ins) return ins.err();
  status s = ins->bind_int64(1, id);
  if (s) s = ins->bind_int64(2, to_sql(offset));
  // No copy: the row is written by run(), while `data` is alive.
  if (s) s = ins->bind_blob_view(3, bytes_of(data));
  if (s) s = ins->bind_int64(4, chunk_checksum(id, offset, data));
  if (s) s = ins->run();
  return s;
}

status sqlite_snapshot_store::delete_snapshot(std::int64_t id) {
  for (const char* sql : {"DELETE FROM chunks WHERE snapshot_id = ?1", "DELETE FROM snapshots WHERE id = ?1"}) {
    auto st = db_.prepare(sql);
    if (!st) return st.err();
    if (auto s = st->bind_int64(1, id); !s) return s;
    if (auto s = st->run(); !s) return s;
  }
  return {};
}

result<std::uint64_t> sqlite_snapshot_store::begin_write(const snapshot_metadata& metadata) {
  if (auto s = check_usable(); !s) return s.err();
  if (partial_ && partial_->metadata == metadata) return partial_->written;  // resume (durable already)
  const std::string membership = encode_membership(metadata.membership);
  const std::int64_t id = std::max(latest_id_, partial_id_) + 1;
  auto tx = db_.begin();
  if (!tx) return fail(tx.err()).err();
  if (partial_) {
    if (auto s = delete_snapshot(partial_id_); !s) return fail(s.err()).err();
  }
  if (auto s = insert_snapshot_row(id, false, metadata, membership, 0, 0); !s) return fail(s.err()).err();
  if (auto c = tx->commit(); !c) return fail(c.err()).err();
  partial_ = partial_snapshot{metadata, 0};
  partial_id_ = id;
  partial_crc_ = 0;
  return std::uint64_t{0};
}

status sqlite_snapshot_store::write_chunk(std::uint64_t offset, std::string_view data) {
  if (auto s = check_usable(); !s) return s;
  if (!partial_) return make_error(errc::invalid_argument, "write_chunk: no snapshot is being written");
  if (offset != partial_->written) {
    return make_error(errc::invalid_argument, "write_chunk: offset " + std::to_string(offset) +
                                                  ", the snapshot holds " + std::to_string(partial_->written) +
                                                  " bytes");
  }
  if (data.empty()) return {};
  const std::uint64_t size = offset + data.size();
  const std::uint32_t crc = crc32c(data, partial_crc_);
  const std::string membership = encode_membership(partial_->metadata.membership);
  auto tx = db_.begin();
  if (!tx) return fail(tx.err());
  {
    status s = insert_chunk(partial_id_, offset, data);
    if (!s) return fail(s.err());
    auto upd = db_.prepare("UPDATE snapshots SET size = ?2, crc = ?3, checksum = ?4 WHERE id = ?1");
    if (!upd) return fail(upd.err());
    s = upd->bind_int64(1, partial_id_);
    if (s) s = upd->bind_int64(2, to_sql(size));
    if (s) s = upd->bind_int64(3, crc);
    if (s) s = upd->bind_int64(4, row_checksum(partial_id_, false, partial_->metadata, membership, size, crc));
    if (s) s = upd->run();
    if (!s) return fail(s.err());
  }
  if (auto c = tx->commit(); !c) return fail(c.err());
  partial_->written = size;
  partial_crc_ = crc;
  return {};
}

result<stored_snapshot> sqlite_snapshot_store::finalize(std::optional<std::uint64_t> expected_size,
                                                        std::optional<std::uint32_t> expected_checksum) {
  if (auto s = check_usable(); !s) return s.err();
  if (!partial_) return make_error(errc::invalid_argument, "finalize: no snapshot is being written");
  const stored_snapshot done{partial_->metadata, partial_->written, partial_crc_};
  if ((expected_size && *expected_size != done.size) || (expected_checksum && *expected_checksum != done.checksum)) {
    if (auto s = abort_write(); !s) return s.err();
    return make_error(errc::corrupt, db_.path() + ": received snapshot of index " +
                                         std::to_string(done.metadata.last_index) + " (" +
                                         std::to_string(done.size) + " bytes) does not match what the sender announced");
  }
  const std::string membership = encode_membership(done.metadata.membership);
  auto tx = db_.begin();
  if (!tx) return fail(tx.err()).err();
  // One transaction: the new snapshot becomes the latest and the previous one goes, together.
  if (latest_) {
    if (auto s = delete_snapshot(latest_id_); !s) return fail(s.err()).err();
  }
  auto upd = db_.prepare("UPDATE snapshots SET complete = 1, checksum = ?2 WHERE id = ?1");
  if (!upd) return fail(upd.err()).err();
  status s = upd->bind_int64(1, partial_id_);
  if (s) s = upd->bind_int64(2, row_checksum(partial_id_, true, done.metadata, membership, done.size, done.checksum));
  if (s) s = upd->run();
  if (!s) return fail(s.err()).err();
  if (auto c = tx->commit(); !c) return fail(c.err()).err();
  latest_ = done;
  latest_id_ = partial_id_;
  partial_.reset();
  partial_crc_ = 0;
  return done;
}

status sqlite_snapshot_store::abort_write() {
  if (auto s = check_usable(); !s) return s;
  if (!partial_) return {};
  auto tx = db_.begin();
  if (!tx) return fail(tx.err());
  if (auto s = delete_snapshot(partial_id_); !s) return fail(s.err());
  if (auto c = tx->commit(); !c) return fail(c.err());
  partial_.reset();
  partial_crc_ = 0;
  return {};
}

result<stored_snapshot> sqlite_snapshot_store::save(const snapshot_metadata& metadata, std::string_view image) {
  if (auto s = check_usable(); !s) return s.err();
  // ONE transaction, where a received snapshot takes one per chunk (write_chunk: a transfer must
  // survive a restart and resume): a local image is all in memory, so nothing is gained by making
  // a prefix of it durable. One fsync instead of one per chunk, and the pages every chunk's commit
  // rewrote (the snapshots row, the b-tree leaves, the freelist trunk, the header: up to 5 pages
  // of 64 KiB per 1 MiB chunk) go to the WAL once. A crash before the commit leaves the file as it
  // was (the previous snapshot, and any received partial); after it, the new one alone (Raft §7:
  // never without a snapshot).
  const std::string membership = encode_membership(metadata.membership);
  const std::int64_t id = std::max(latest_id_, partial_id_) + 1;
  const std::size_t step = std::max<std::size_t>(opts_.chunk_bytes, 1);
  std::uint32_t crc = 0;
  auto tx = db_.begin();
  if (!tx) return fail(tx.err()).err();
  // A local snapshot replaces any partial (an incoming transfer it is newer than, or a restart's
  // leftover), and the previous complete one.
  for (const auto& gone : {partial_ ? partial_id_ : 0, latest_ ? latest_id_ : 0}) {
    if (gone == 0) continue;
    if (auto s = delete_snapshot(gone); !s) return fail(s.err()).err();
  }
  for (std::uint64_t offset = 0; offset < image.size(); offset += step) {
    const std::string_view data = image.substr(offset, step);
    crc = crc32c(data, crc);
    if (auto s = insert_chunk(id, offset, data); !s) return fail(s.err()).err();
  }
  const stored_snapshot done{metadata, image.size(), crc};
  if (auto s = insert_snapshot_row(id, true, metadata, membership, done.size, done.checksum); !s) {
    return fail(s.err()).err();
  }
  if (auto c = tx->commit(); !c) return fail(c.err()).err();
  latest_ = done;
  latest_id_ = id;
  partial_.reset();
  partial_id_ = 0;
  partial_crc_ = 0;
  return done;
}

status sqlite_snapshot_store::check_integrity() {
  if (auto s = db_.check_integrity(storage::check_depth::full); !s) return s;
  auto st = db_.prepare("SELECT snapshot_id, offset, data, checksum FROM chunks");
  if (!st) return st.err();
  for (;;) {
    auto more = st->step();
    if (!more) return more.err();
    if (!*more) break;
    const std::int64_t id = st->column_int64(0);
    const std::uint64_t offset = from_sql(st->column_int64(1));
    if (static_cast<std::uint32_t>(st->column_int64(3)) != chunk_checksum(id, offset, text_of(st->column_blob(2)))) {
      return corrupt("snapshot chunk at offset " + std::to_string(offset) + " fails its checksum");
    }
  }
  if (latest_) {
    if (auto all = read_all(); !all) return all.err();
  }
  return {};
}

}  // namespace troupe::raft
