#pragma once
/// The durable store of Raft state-machine snapshots (Raft §7): complete snapshots with their
/// metadata, and the one snapshot being written (taken locally, or received by InstallSnapshot chunk
/// by chunk), on a SQLite file of its own (runtime/storage), beside the log store's file.
///
/// Why a sibling file and not the log's: a snapshot of tens of megabytes is written while the log
/// keeps committing; with its own connection, the writer (a background thread) never holds the
/// log's write lock nor makes the log's fsyncs wait for its pages. Nothing needs both in one
/// transaction: the order "snapshot finalized (durable), then log prefix dropped" is enough, and a
/// crash in between leaves a complete snapshot and a log that still starts below it (the restart
/// skips the entries the snapshot covers).
///
/// Contract
/// - At most one complete snapshot and at most one partial one exist. finalize() marks the partial
///   complete and deletes the previous complete one in ONE transaction: until then the previous one
///   stays readable (Raft §7: never be without a snapshot once the log prefix is gone).
/// - begin_write(meta) opens a partial for `meta` or, if one for the same last index and term is
///   already there (a transfer interrupted by a restart or a broken connection), resumes it and
///   returns the bytes already durable: the caller asks the sender to continue from there.
/// - write_chunk(offset, data) appends at `offset`, which must be exactly the durable byte count;
///   when it returns success the chunk is durable (one transaction, synchronous=FULL).
/// - save(meta, image), a snapshot this node took, is ONE transaction: previous snapshot and any
///   partial deleted, chunk rows written, the new one complete. A crash leaves one or the other.
/// - Every chunk row carries a CRC-32C over (snapshot id, offset, data); every snapshot row one over
///   its fields; the image has a running CRC-32C of all its bytes, fixed at finalize() and checked
///   by read_all(). A mismatch is errc::corrupt naming the file and what failed.
/// - open() verifies the snapshot rows and that each one's chunks are contiguous and add up to its
///   byte count (SQL over lengths: the data itself is verified when read).
///
/// Threading: one thread at a time, no internal lock (as sqlite_log_storage). The raft shell uses it
/// from its storage thread; reads of chunks to send may come from that same thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/core/log_storage.hpp"
#include "consensus/core/message.hpp"
#include "runtime/base/result.hpp"
#include "runtime/storage/database.hpp"

namespace troupe::raft {

struct sqlite_snapshot_store_options {
  storage::synchronous_mode synchronous = storage::synchronous_mode::full;
  bool background_checkpoint = true;
  /// SQLite VFS name (tests pass a storage::fault_vfs); empty for the default.
  std::string vfs;
  /// save() splits an image into rows of this many bytes, all in its one transaction (received
  /// chunks, write_chunk, commit one at a time).
  std::size_t chunk_bytes = 1u << 20;
  /// Page size of a file this open creates (storage::options::page_size); an existing file keeps
  /// its own. 64 KiB (SQLite's largest): an image is megabytes of overflow pages, and every page
  /// costs its own WAL frame (two writes), checkpoint copy, and read-back when the snapshot is
  /// deleted (README.md, "The snapshot store's cost per compaction").
  int page_size = 65536;
  /// PRAGMA secure_delete (runtime/storage/options.hpp). FAST: a replaced image's freed pages are
  /// not zeroed and written (the image it replaced them with is the state the cluster holds).
  storage::secure_delete_mode secure_delete = storage::secure_delete_mode::fast;
};

/// A complete snapshot: what it covers, and its bytes' size and CRC-32C.
struct stored_snapshot {
  snapshot_metadata metadata;
  std::uint64_t size = 0;
  std::uint32_t checksum = 0;
  friend bool operator==(const stored_snapshot&, const stored_snapshot&) = default;
};

/// The snapshot being written: what it will cover and the bytes durable so far.
struct partial_snapshot {
  snapshot_metadata metadata;
  std::uint64_t written = 0;
  friend bool operator==(const partial_snapshot&, const partial_snapshot&) = default;
};

class sqlite_snapshot_store {
 public:
  /// Opens or creates the file at `path` (its directory must exist) and verifies it.
  /// Errors: those of storage::database::open, and errc::corrupt naming the file and the problem.
  static result<std::unique_ptr<sqlite_snapshot_store>> open(std::string path,
                                                             const sqlite_snapshot_store_options& opts = {});
  sqlite_snapshot_store(const sqlite_snapshot_store&) = delete;
  sqlite_snapshot_store& operator=(const sqlite_snapshot_store&) = delete;
  ~sqlite_snapshot_store();

  /// The latest complete snapshot, nullopt if there is none. Memory only.
  const std::optional<stored_snapshot>& latest() const noexcept { return latest_; }
  /// The snapshot being written, nullopt if none. Memory only.
  const std::optional<partial_snapshot>& partial() const noexcept { return partial_; }

  /// Up to `max_bytes` (at least 1) of the latest complete snapshot from `offset`; empty at its end.
  /// Each chunk row read is verified. Errors: errc::not_found (no snapshot, or offset past its
  /// end), errc::invalid_argument (max_bytes 0), errc::corrupt, errc::io.
  result<std::string> read(std::uint64_t offset, std::uint64_t max_bytes);
  /// The whole latest complete snapshot, verified against its size and CRC-32C.
  result<std::string> read_all();

  /// For a leader's core (consensus/core/log_storage.hpp, snapshot_source): the size of the
  /// complete snapshot `metadata` names, looked up in the FILE, not in this object's memory, so a
  /// second store object opened on the same file (the reader of the raft actor's thread) sees what
  /// the writer (the storage thread) finalized. Errors: errc::not_found when the file holds no
  /// complete snapshot with that last index and term (a newer one replaced it); errc::io.
  result<std::uint64_t> size_of(const snapshot_metadata& metadata);
  /// Up to `max_bytes` (> 0) of that snapshot from `offset` (< its size), each chunk row verified.
  /// Errors: those of size_of, errc::invalid_argument, errc::corrupt.
  result<std::string> read_of(const snapshot_metadata& metadata, std::uint64_t offset, std::uint64_t max_bytes);

  /// Starts writing the snapshot `metadata` describes, or resumes it (see the contract); returns
  /// the durable byte count to continue from (0 for a new one). A different partial is discarded.
  /// Durable when it returns. Errors: errc::io (the store is failed for good after an I/O error).
  result<std::uint64_t> begin_write(const snapshot_metadata& metadata);
  /// Appends `data` at `offset` to the partial, durably. Errors: errc::invalid_argument when no
  /// partial exists or `offset` is not its durable byte count (nothing written); errc::io.
  status write_chunk(std::uint64_t offset, std::string_view data);
  /// Makes the partial the latest complete snapshot and deletes the previous one, in one durable
  /// transaction. With `expected_size` / `expected_checksum` (a sender that announced them) a
  /// mismatch discards the partial and returns errc::corrupt. Errors: errc::invalid_argument when
  /// no partial exists; errc::io.
  result<stored_snapshot> finalize(std::optional<std::uint64_t> expected_size = std::nullopt,
                                   std::optional<std::uint32_t> expected_checksum = std::nullopt);
  /// Discards the partial, if any (durably).
  status abort_write();
  /// A snapshot taken by this node: rows of `chunk_bytes`, made the latest complete snapshot, the
  /// previous one and any partial deleted, all in ONE durable transaction (a crash leaves the
  /// previous snapshot or this one, never a partial of it). Errors: errc::io (the store is failed
  /// for good, as after any failed write).
  result<stored_snapshot> save(const snapshot_metadata& metadata, std::string_view image);

  /// PRAGMA integrity_check, every row's checksum, and the complete snapshot's image checksum.
  status check_integrity();
  const std::string& path() const noexcept;

 private:
  sqlite_snapshot_store(storage::database db, sqlite_snapshot_store_options opts);
  status load();
  status verify_chunks(std::int64_t id, std::uint64_t bytes);
  /// Id and size of the complete snapshot (last_index, last_term) in the file.
  result<std::pair<std::int64_t, std::uint64_t>> find_complete(const snapshot_metadata& metadata);
  result<std::string> read_range(std::int64_t id, std::uint64_t size, std::uint64_t offset, std::uint64_t max_bytes);
  status delete_snapshot(std::int64_t id);
  /// One chunk row (no transaction of its own).
  status insert_chunk(std::int64_t id, std::uint64_t offset, std::string_view data);
  /// The snapshots row of `id`, its checksum computed here (begin_write: partial, 0 bytes; save:
  /// complete).
  status insert_snapshot_row(std::int64_t id, bool complete, const snapshot_metadata& metadata,
                             std::string_view membership, std::uint64_t size, std::uint32_t crc);
  status fail(error e);
  status check_usable() const;
  error corrupt(const std::string& what) const;

  storage::database db_;
  sqlite_snapshot_store_options opts_;
  std::optional<stored_snapshot> latest_;
  std::int64_t latest_id_ = 0;
  std::optional<partial_snapshot> partial_;
  std::int64_t partial_id_ = 0;
  std::uint32_t partial_crc_ = 0;  ///< running CRC-32C of the partial's durable bytes
  std::optional<error> failure_;
};

/// A leader's core reads the snapshots it sends through this (consensus/core/log_storage.hpp,
/// snapshot_source), answered from the FILE by `store` (size_of / read_of): give it a store object
/// of its own, opened on the same file as the writer's, used only from the core's thread.
/// `store` must outlive it. Thread-safety: as the store (one thread at a time).
class sqlite_snapshot_source final : public snapshot_source {
 public:
  explicit sqlite_snapshot_source(sqlite_snapshot_store& store) : store_(&store) {}
  result<std::uint64_t> size(const snapshot_metadata& meta) const override { return seen(store_->size_of(meta)); }
  result<std::string> read(const snapshot_metadata& meta, std::uint64_t offset,
                           std::uint64_t max_bytes) const override {
    return seen(store_->read_of(meta, offset, max_bytes));
  }
  /// Called with every errc::corrupt a read answers (a chunk failing its checksum while the leader
  /// sends the snapshot: the node keeps running, the core retries later), on the reading thread,
  /// for a metric (troupe_storage_corruption_detected_total). Must not throw.
  void on_corrupt(std::function<void(const error&)> f) { on_corrupt_ = std::move(f); }

 private:
  template <class R>
  R seen(R r) const {
    if (!r.ok() && r.err().code == errc::corrupt && on_corrupt_) on_corrupt_(r.err());
    return r;
  }
  sqlite_snapshot_store* store_;  // the reads prepare statements: not const, though they change nothing
  std::function<void(const error&)> on_corrupt_;
};

}  // namespace troupe::raft
