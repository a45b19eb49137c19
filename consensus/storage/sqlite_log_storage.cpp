#include "consensus/storage/sqlite_log_storage.hpp"

#include <algorithm>
#include <cassert>
#include <functional>
#include <string>
#include <utility>

#include "consensus/core/membership.hpp"
#include "consensus/storage/checksum.hpp"
#include "consensus/storage/schema.hpp"

namespace troupe::raft {
namespace {

// SQLite integers are signed 64-bit; terms, indexes and node ids keep their bit pattern.
std::int64_t to_sql(std::uint64_t v) noexcept { return static_cast<std::int64_t>(v); }
std::uint64_t from_sql(std::int64_t v) noexcept { return static_cast<std::uint64_t>(v); }

std::span<const std::byte> bytes_of(const std::string& s) noexcept {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

constexpr std::int64_t max_entry_type = static_cast<std::int64_t>(entry_type::config);

/// Runs `sql` (no parameters) and calls `row` for each row until it returns an error.
status for_each_row(storage::database& db, std::string_view sql,
                    const std::function<status(storage::statement&)>& row) {
  auto st = db.prepare(sql);
  if (!st) return st.err();
  for (;;) {
    auto more = st->step();
    if (!more) return more.err();
    if (!*more) return {};
    if (auto s = row(*st); !s) return s;
  }
}

}  // namespace

// ---- open and load ----

sqlite_log_storage::sqlite_log_storage(storage::database db, sqlite_log_storage_options opts)
    : db_(std::move(db)), opts_(std::move(opts)) {}

sqlite_log_storage::~sqlite_log_storage() = default;

result<std::unique_ptr<sqlite_log_storage>> sqlite_log_storage::open(
    std::string path, const sqlite_log_storage_options& opts) {
  storage::options db_opts;
  db_opts.migrations = log_store::schema_migrations();
  db_opts.synchronous = opts.synchronous;
  db_opts.background_checkpoint = opts.background_checkpoint;
  db_opts.check_on_open = opts.integrity_check_on_open;
  db_opts.open_check = storage::check_depth::full;
  db_opts.vfs = opts.vfs;
  auto db = storage::database::open(std::move(path), db_opts);
  if (!db) return db.err();
  std::unique_ptr<sqlite_log_storage> store(new sqlite_log_storage(std::move(*db), opts));
  if (auto s = store->load(); !s) return s.err();
  return store;
}

error sqlite_log_storage::corrupt(const std::string& what) const {
  return make_error(errc::corrupt, db_.path() + ": corrupt: " + what);
}

status sqlite_log_storage::load() {
  if (auto s = verify_single_rows(/*assign=*/true); !s) return s;
  // Compacted rows the syncs before the restart had not deleted yet (prune_entries_per_sync).
  prune_from_ = first_;
  auto low = for_each_row(db_, "SELECT MIN(idx) FROM entries WHERE idx < " + std::to_string(to_sql(first_)),
                          [&](storage::statement& st) -> status {
                            if (st.column_int64(0) > 0) prune_from_ = from_sql(st.column_int64(0));
                            return {};
                          });
  if (!low) return low;
  return verify_all_entries(/*rebuild_terms=*/true);
}

/// Reads the hard state and applied index rows and checks their checksums; with `assign` (open)
/// they become the store's values.
status sqlite_log_storage::verify_single_rows(bool assign) {
  auto hs = for_each_row(
      db_, "SELECT term, voted_for, commit_index, checksum FROM hard_state WHERE id = 0",
      [&](storage::statement& st) -> status {
        const hard_state read{from_sql(st.column_int64(0)), from_sql(st.column_int64(1)),
                              from_sql(st.column_int64(2))};
        if (from_sql(st.column_int64(3)) != log_store::hard_state_checksum(read)) {
          return corrupt("hard state fails its checksum (term " + std::to_string(read.term) + ")");
        }
        if (assign) hard_state_ = read;
        return {};
      });
  if (!hs) return hs;
  file_first_ = 1;
  auto start = for_each_row(
      db_, "SELECT first_index, prev_term, membership, checksum FROM log_start WHERE id = 0",
      [&](storage::statement& st) -> status {
        const index_t first = from_sql(st.column_int64(0));
        const term_t prev = from_sql(st.column_int64(1));
        const auto blob = st.column_blob(2);
        const std::string conf(reinterpret_cast<const char*>(blob.data()), blob.size());
        if (from_sql(st.column_int64(3)) != log_store::log_start_checksum(first, prev, conf) || first < 2) {
          return corrupt("log start (compaction point) fails its checksum");
        }
        snapshot_metadata meta{first - 1, prev, {}};
        if (!conf.empty()) {
          auto m = decode_membership(conf);
          if (!m) return corrupt("log start (compaction point): membership: " + m.err().message);
          meta.membership = std::move(*m);
        }
        file_first_ = first;
        if (assign) {
          first_ = first;
          snapshot_ = std::move(meta);
        }
        return {};
      });
  if (!start) return start;
  return for_each_row(db_, "SELECT applied_index, checksum FROM applied WHERE id = 0",
                      [&](storage::statement& st) -> status {
                        const index_t read = from_sql(st.column_int64(0));
                        if (from_sql(st.column_int64(1)) != log_store::applied_checksum(read)) {
                          return corrupt("applied index fails its checksum");
                        }
                        if (assign) applied_ = read;
                        return {};
                      });
}

/// Reads every entry in index order, verifying checksum, type and that the indexes run from the
/// first index held without a hole. With `rebuild_terms` (open), also builds the term runs and the tail.
status sqlite_log_storage::verify_all_entries(bool rebuild_terms) {
  // The file's own compaction point: an unsynced apply_snapshot() has not reached it yet.
  index_t expected = file_first_;
  if (rebuild_terms) terms_.reset(first_ - 1);
  auto s = for_each_row(
      db_, "SELECT idx, term, type, data, checksum FROM entries WHERE idx >= " + std::to_string(to_sql(file_first_)) +
               " ORDER BY idx",
      [&](storage::statement& st) -> status {
        const index_t index = from_sql(st.column_int64(0));
        if (index != expected) {
          return corrupt("entry at index " + std::to_string(expected) + " is missing (next is " +
                         std::to_string(index) + ")");
        }
        const std::int64_t type = st.column_int64(2);
        if (type < 0 || type > max_entry_type) {
          return corrupt("entry at index " + std::to_string(index) + " has unknown type " +
                         std::to_string(type));
        }
        const auto blob = st.column_blob(3);
        log_entry e{from_sql(st.column_int64(1)), index, static_cast<entry_type>(type),
                    std::string(reinterpret_cast<const char*>(blob.data()), blob.size())};
        const auto stored = from_sql(st.column_int64(4));
        const auto computed = log_store::entry_checksum(e);
        if (stored != computed) {
          return corrupt("entry at index " + std::to_string(index) + " fails its checksum");
        }
        ++expected;
        if (!rebuild_terms) return {};
        terms_.push_back(index, e.term);
        tail_bytes_ += e.data.size();
        tail_.push_back(std::move(e));
        trim_tail();  // keeps memory bounded while loading a long log
        return {};
      });
  if (!s) return s;
  if (rebuild_terms) tail_first_ = terms_.last_index() + 1 - tail_.size();
  assert(!rebuild_terms || tail_first_ + tail_.size() == terms_.last_index() + 1);
  return {};
}

// ---- reads (memory first) ----

result<hard_state> sqlite_log_storage::initial_hard_state() const { return hard_state_; }

index_t sqlite_log_storage::first_index() const { return first_; }

index_t sqlite_log_storage::last_index() const { return terms_.last_index(); }

result<term_t> sqlite_log_storage::term(index_t index) const {
  if (index == 0) return term_t{0};
  if (index + 1 == first_) return snapshot_.last_term;
  if (index < first_) {
    return make_error(errc::not_found, "term: index " + std::to_string(index) + " compacted");
  }
  if (index > last_index()) {
    return make_error(errc::not_found, "term: index " + std::to_string(index) + " unavailable");
  }
  return terms_.term_at(index);
}

result<std::vector<log_entry>> sqlite_log_storage::entries(index_t lo, index_t hi,
                                                           std::uint64_t max_bytes) const {
  if (auto st = check_entries_range(lo, hi, first_index(), last_index()); !st) return st.err();
  std::vector<log_entry> out;
  std::uint64_t bytes = 0;
  if (lo < tail_first_) {
    const index_t file_hi = std::min(hi, tail_first_);
    if (auto s = read_from_file(lo, file_hi, max_bytes, bytes, out); !s) return s.err();
    if (out.size() < file_hi - lo) return out;  // stopped by max_bytes
    lo = file_hi;
  }
  for (index_t i = lo; i < hi; ++i) {
    const log_entry& e = tail_[i - tail_first_];
    assert(e.index == i);
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

/// Entries [lo, hi) from the file, all older than the tail (so the file holds them as synced),
/// verified against their checksums; stops early at `max_bytes` (at least one entry overall).
status sqlite_log_storage::read_from_file(index_t lo, index_t hi, std::uint64_t max_bytes,
                                          std::uint64_t& bytes, std::vector<log_entry>& out) const {
  assert(hi <= tail_first_ && (!dirty_from_ || hi <= *dirty_from_));
  auto st = db_.prepare(
      "SELECT idx, term, type, data, checksum FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx");
  if (!st) return st.err();
  if (auto s = st->bind_int64(1, to_sql(lo)); !s) return s;
  if (auto s = st->bind_int64(2, to_sql(hi)); !s) return s;
  for (index_t expected = lo; expected < hi; ++expected) {
    auto row = st->step();
    if (!row) return row.err();
    if (!*row || from_sql(st->column_int64(0)) != expected) {
      return corrupt("entry at index " + std::to_string(expected) + " is missing");
    }
    const auto blob = st->column_blob(3);
    if (!out.empty() && bytes + blob.size() > max_bytes) return {};
    const std::int64_t type = st->column_int64(2);
    log_entry e{from_sql(st->column_int64(1)), expected, static_cast<entry_type>(type),
                std::string(reinterpret_cast<const char*>(blob.data()), blob.size())};
    if (type < 0 || type > max_entry_type ||
        from_sql(st->column_int64(4)) != log_store::entry_checksum(e)) {
      return corrupt("entry at index " + std::to_string(expected) + " fails its checksum");
    }
    // What the file returns must agree with the term kept in memory since open or the last sync.
    if (e.term != terms_.term_at(expected)) {
      return corrupt("entry at index " + std::to_string(expected) + " has term " +
                     std::to_string(e.term) + ", expected " +
                     std::to_string(terms_.term_at(expected)));
    }
    bytes += e.data.size();
    out.push_back(std::move(e));
  }
  return {};
}

// ---- buffered writes ----

error sqlite_log_storage::failed_error() const {
  assert(failure_);
  return make_error(failure_->code, "log store failed by an earlier sync: " + failure_->message);
}

status sqlite_log_storage::append(std::span<const log_entry> entries) {
  if (failure_) return failed_error();
  // Entries a snapshot already covers are committed (Raft §7), so they match: skip them.
  while (!entries.empty() && entries.front().index != 0 && entries.front().index < first_) {
    entries = entries.subspan(1);
  }
  if (entries.empty()) return {};
  const index_t first = entries.front().index;
  if (first == 0 || first > last_index() + 1) {
    return make_error(errc::invalid_argument, "append: gap before index " + std::to_string(first));
  }
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].index != first + i) {
      return make_error(errc::invalid_argument, "append: entries not consecutive");
    }
  }
  // Raft §5.3: delete the existing entry that conflicts and all that follow it.
  terms_.truncate_from(first);
  if (first < tail_first_) {
    tail_.clear();
    tail_bytes_ = 0;
    tail_first_ = first;
  }
  while (tail_first_ + tail_.size() > first) {
    tail_bytes_ -= tail_.back().data.size();
    tail_.pop_back();
  }
  for (const log_entry& e : entries) {
    terms_.push_back(e.index, e.term);
    tail_bytes_ += e.data.size();
    tail_.push_back(e);
  }
  dirty_from_ = std::min(dirty_from_.value_or(first), first);
  assert(tail_first_ <= *dirty_from_ && tail_first_ + tail_.size() == last_index() + 1);
  return {};
}

status sqlite_log_storage::set_hard_state(const hard_state& hs) {
  if (failure_) return failed_error();
  assert(hs.term >= hard_state_.term);  // terms never go back (Raft Figure 2)
  hard_state_ = hs;
  hard_state_dirty_ = true;
  return {};
}

status sqlite_log_storage::set_applied(index_t index) {
  if (failure_) return failed_error();
  if (index < applied_) {
    return make_error(errc::invalid_argument, "set_applied: " + std::to_string(index) +
                                                  " is below the applied index " +
                                                  std::to_string(applied_));
  }
  if (index != applied_) applied_dirty_ = true;
  applied_ = index;
  return {};
}

bool sqlite_log_storage::has_unsynced_writes() const noexcept {
  return dirty_from_.has_value() || hard_state_dirty_ || applied_dirty_ || start_dirty_;
}

status sqlite_log_storage::apply_snapshot(const snapshot_metadata& meta) {
  if (failure_) return failed_error();
  const index_t through = meta.last_index;
  if (through == 0 || meta.last_term == 0) {
    return make_error(errc::invalid_argument, "apply_snapshot: last index and term must be > 0");
  }
  if (through + 1 < first_) return {};  // an older snapshot than the one the log starts after
  auto held = term(through);
  const bool keep_suffix = held && *held == meta.last_term && through <= last_index();
  if (keep_suffix && through >= first_) {
    // Step 6: the log holds the snapshot's last entry; keep what follows it.
    terms_.drop_before(through + 1);
    while (!tail_.empty() && tail_.front().index <= through) {
      tail_bytes_ -= tail_.front().data.size();
      tail_.pop_front();
    }
    tail_first_ = std::max(tail_first_, through + 1);
    if (dirty_from_ && *dirty_from_ <= through) {
      // The dropped dirty entries were never written; what stays dirty starts at the new first.
      dirty_from_ = tail_.empty() ? std::nullopt : std::optional<index_t>(through + 1);
    }
  } else if (!keep_suffix) {
    // Step 7: discard the entire log; the file's entries after the snapshot go too.
    terms_.reset(through);
    tail_.clear();
    tail_bytes_ = 0;
    tail_first_ = through + 1;
    dirty_from_ = through + 1;
  }
  first_ = through + 1;
  snapshot_ = meta;
  start_dirty_ = true;
  assert(tail_first_ + tail_.size() == last_index() + 1 && first_ <= tail_first_);
  return {};
}

result<index_t> sqlite_log_storage::last_config_index(index_t at_or_before) const {
  const index_t hi = std::min(at_or_before, last_index());
  if (hi < first_) return index_t{0};
  // The tail first (it holds what is not in the file yet), newest first.
  for (index_t i = hi + 1; i > std::max(tail_first_, first_); --i) {
    if (tail_[i - 1 - tail_first_].type == entry_type::config) return i - 1;
  }
  if (tail_first_ <= first_) return index_t{0};
  // Below the tail the file holds exactly the synced log (dirty entries are all in the tail).
  static_assert(static_cast<int>(entry_type::config) == 2, "the partial index entries_config says type = 2");
  auto st = db_.prepare("SELECT MAX(idx) FROM entries WHERE type = 2 AND idx >= ?1 AND idx <= ?2");
  if (!st) return st.err();
  if (auto s = st->bind_int64(1, to_sql(first_)); !s) return s.err();
  if (auto s = st->bind_int64(2, to_sql(std::min(hi, tail_first_ - 1))); !s) return s.err();
  auto row = st->step();
  if (!row) return row.err();
  if (!*row || st->column_is_null(0)) return index_t{0};
  return from_sql(st->column_int64(0));
}

// ---- sync: one transaction ----

status sqlite_log_storage::sync() {
  if (failure_) return failed_error();
  if (!has_unsynced_writes()) return {};
  if (auto s = write_batch(); !s) {
    failure_ = s.err();
    return s;
  }
  dirty_from_.reset();
  hard_state_dirty_ = false;
  applied_dirty_ = false;
  start_dirty_ = false;
  prune_from_ = std::min<index_t>(first_, prune_from_ + opts_.prune_entries_per_sync);
  trim_tail();
  return {};
}

/// Writes every buffered change in one transaction and commits it (fsync with synchronous=FULL).
status sqlite_log_storage::write_batch() {
  auto tx = db_.begin();
  if (!tx) return tx.err();
  const index_t prune_to = std::min<index_t>(first_, prune_from_ + opts_.prune_entries_per_sync);
  if (prune_from_ < first_) {
    // The compacted prefix goes a bounded slice per sync (see the option): rows below the
    // compaction point are never read, and open() skips and later syncs delete what is left.
    auto del = db_.prepare("DELETE FROM entries WHERE idx < ?");
    if (!del) return del.err();
    if (auto s = del->bind_int64(1, to_sql(prune_to)); !s) return s;
    if (auto s = del->run(); !s) return s;
  }
  if (start_dirty_) {
    // The compaction point, in the same transaction as the rest.
    auto st = db_.prepare(
        "INSERT OR REPLACE INTO log_start(id, first_index, prev_term, membership, checksum) VALUES (0,?,?,?,?)");
    if (!st) return st.err();
    const std::string conf = encode_membership(snapshot_.membership);
    if (auto s = st->bind_int64(1, to_sql(first_)); !s) return s;
    if (auto s = st->bind_int64(2, to_sql(snapshot_.last_term)); !s) return s;
    if (auto s = st->bind_blob(3, bytes_of(conf)); !s) return s;
    if (auto s = st->bind_int64(4, log_store::log_start_checksum(first_, snapshot_.last_term, conf)); !s) return s;
    if (auto s = st->run(); !s) return s;
  }
  if (dirty_from_) {
    auto del = db_.prepare("DELETE FROM entries WHERE idx >= ?");
    if (!del) return del.err();
    if (auto s = del->bind_int64(1, to_sql(*dirty_from_)); !s) return s;
    if (auto s = del->run(); !s) return s;
    auto ins = db_.prepare("INSERT INTO entries(idx, term, type, data, checksum) VALUES (?,?,?,?,?)");
    if (!ins) return ins.err();
    for (std::size_t i = *dirty_from_ - tail_first_; i < tail_.size(); ++i) {
      const log_entry& e = tail_[i];
      assert(e.index == tail_first_ + i && e.index == terms_.last_index() - (tail_.size() - 1 - i));
      ins->reset();
      if (auto s = ins->bind_int64(1, to_sql(e.index)); !s) return s;
      if (auto s = ins->bind_int64(2, to_sql(e.term)); !s) return s;
      if (auto s = ins->bind_int64(3, static_cast<std::int64_t>(e.type)); !s) return s;
      // Not copied: the tail holds the entry, unchanged, until after the statement is released.
      if (auto s = ins->bind_blob_view(4, bytes_of(e.data)); !s) return s;
      if (auto s = ins->bind_int64(5, log_store::entry_checksum(e)); !s) return s;
      if (auto s = ins->run(); !s) return s;
    }
  }
  if (hard_state_dirty_) {
    auto st = db_.prepare(
        "INSERT OR REPLACE INTO hard_state(id, term, voted_for, commit_index, checksum) "
        "VALUES (0,?,?,?,?)");
    if (!st) return st.err();
    if (auto s = st->bind_int64(1, to_sql(hard_state_.term)); !s) return s;
    if (auto s = st->bind_int64(2, to_sql(hard_state_.voted_for)); !s) return s;
    if (auto s = st->bind_int64(3, to_sql(hard_state_.commit)); !s) return s;
    if (auto s = st->bind_int64(4, log_store::hard_state_checksum(hard_state_)); !s) return s;
    if (auto s = st->run(); !s) return s;
  }
  if (applied_dirty_) {
    auto st = db_.prepare("INSERT OR REPLACE INTO applied(id, applied_index, checksum) VALUES (0,?,?)");
    if (!st) return st.err();
    if (auto s = st->bind_int64(1, to_sql(applied_)); !s) return s;
    if (auto s = st->bind_int64(2, log_store::applied_checksum(applied_)); !s) return s;
    if (auto s = st->run(); !s) return s;
  }
  return tx->commit();
}

void sqlite_log_storage::trim_tail() {
  while (!tail_.empty() &&
         (tail_.size() > opts_.tail_max_entries || tail_bytes_ > opts_.tail_max_bytes) &&
         (!dirty_from_ || tail_.front().index < *dirty_from_)) {
    tail_bytes_ -= tail_.front().data.size();
    tail_.pop_front();
    ++tail_first_;
  }
}

// ---- tools ----

const std::string& sqlite_log_storage::path() const noexcept { return db_.path(); }

status sqlite_log_storage::check_integrity() {
  if (auto s = db_.check_integrity(storage::check_depth::full); !s) return s;
  if (auto s = verify_single_rows(/*assign=*/false); !s) return s;
  return verify_all_entries(/*rebuild_terms=*/false);
}

}  // namespace troupe::raft
