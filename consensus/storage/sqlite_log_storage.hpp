#pragma once
/// The durable Raft log store: `log_storage` on a SQLite file (runtime/storage), with a checksum
/// on every entry and on the hard state, the applied index, and an in-memory tail.
///
/// Durability contract
/// - append(), set_hard_state() and set_applied() only buffer. sync() writes everything buffered in
///   ONE transaction (delete the conflicting suffix, insert the new entries, write the hard state
///   and applied index) and commits it with synchronous=FULL: when sync() returns success it is on
///   stable storage. Reopening after a crash gives exactly the state of the last successful sync;
///   writes buffered since are gone.
/// - A failed sync() leaves the store failed for good: every later write and sync returns the same
///   error (after a failed fsync the kernel may have dropped the pages, so what is durable is
///   unknown; DESIGN.md: a node whose storage fails stops rather than guessing).
/// - open() reads and verifies every entry, the hard state and the applied index against their
///   checksums, and that the indexes are 1..N without a hole; any mismatch refuses the open with
///   errc::corrupt naming the file and the index (or "hard state" / "applied index").
///
/// Memory and hot path
/// - The term of every index is held in memory (run-length encoded, term_runs.hpp), so term(),
///   last_index() and first_index() never touch SQLite.
/// - The most recent entries are held in memory (the "tail", bounded after each sync by
///   `tail_max_entries` and `tail_max_bytes`; unsynced entries always stay in it). entries() reads
///   from the tail and only goes to SQLite (verifying checksums) for older entries, which is what a
///   lagging follower needs.
///
/// Threading: the store is used by ONE thread at a time (it is not internally synchronized).
/// The raft shell may hand it from thread to thread (the actor thread for the core's reads and for
/// append/set_hard_state, a dedicated I/O thread for sync()) as long as each hand-over has a
/// happens-before edge (a message, a mutex, a future) and the two never overlap: in particular the
/// core must not call term()/entries() while sync() runs on the I/O thread. sync() is the only
/// call that always blocks on the disk; entries() may read the file for indexes older than the
/// tail; the rest are memory-only. When the background checkpointer is on, it runs on its own
/// thread with its own connection (runtime/storage).

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "consensus/core/log_storage.hpp"
#include "consensus/storage/term_runs.hpp"
#include "runtime/storage/database.hpp"

namespace troupe::raft {

struct sqlite_log_storage_options {
  /// Bounds on the in-memory tail after each sync (the unsynced entries are never dropped).
  std::size_t tail_max_entries = 4096;
  std::uint64_t tail_max_bytes = 16u << 20;
  /// FULL is the durability contract; NORMAL loses the last syncs at power loss (tests, benches).
  storage::synchronous_mode synchronous = storage::synchronous_mode::full;
  /// Passive WAL checkpoints on a background thread (runtime/storage). Tests that want one seed to
  /// replay one run exactly turn it off.
  bool background_checkpoint = true;
  /// Also run PRAGMA integrity_check at open (O(file size)); the checksums are always verified.
  bool integrity_check_on_open = false;
  /// SQLite VFS name (tests pass a storage::fault_vfs); empty for the default.
  std::string vfs;
  /// Compaction drops the log prefix from the file at most this many entries per sync (the rest
  /// with the following syncs): deleting a prefix of 100,000 entries in one transaction made the
  /// sync that carried it last seconds, long enough for an election (no heartbeats during a sync).
  std::size_t prune_entries_per_sync = 5'000;
};

class sqlite_log_storage final : public log_storage {
 public:
  /// Opens or creates the log file at `path` (its directory must exist) and loads it.
  /// Errors: those of storage::database::open (busy when another process holds the file, io,
  /// unsupported schema, ...) and errc::corrupt naming the file and the first bad index, or
  /// "hard state" / "applied index".
  static result<std::unique_ptr<sqlite_log_storage>> open(
      std::string path, const sqlite_log_storage_options& opts = {});

  sqlite_log_storage(const sqlite_log_storage&) = delete;
  sqlite_log_storage& operator=(const sqlite_log_storage&) = delete;
  /// Closes the file. Buffered writes that were not synced are dropped, as a crash would.
  ~sqlite_log_storage() override;

  // ---- log_storage (see log_storage.hpp for each contract) ----
  result<hard_state> initial_hard_state() const override;
  index_t first_index() const override;
  index_t last_index() const override;
  result<term_t> term(index_t index) const override;
  result<std::vector<log_entry>> entries(index_t lo, index_t hi,
                                         std::uint64_t max_bytes) const override;
  status append(std::span<const log_entry> entries) override;
  status set_hard_state(const hard_state& hs) override;
  status sync() override;
  /// Uses the partial index on configuration entries (schema version 2) and the tail.
  result<index_t> last_config_index(index_t at_or_before) const override;

  // ---- log compaction (Raft §7; the contract of log_storage::apply_snapshot) ----

  /// The snapshot the log starts after (all zero / empty when never compacted). Memory only.
  snapshot_metadata last_snapshot() const override { return snapshot_; }
  /// Makes the log start after the snapshot `meta`. Figure 13 (InstallSnapshot receiver, steps 6
  /// and 7): if the log holds meta.last_index with meta.last_term, the entries after it are kept;
  /// otherwise (a conflicting or shorter log) every entry is dropped and last_index() ==
  /// meta.last_index. Afterwards first_index() == meta.last_index + 1, term(meta.last_index) ==
  /// meta.last_term, last_snapshot() == meta. A meta.last_index below first_index() - 1 changes
  /// nothing. Buffered like append(): durable with the next sync(), in its one transaction (the
  /// prefix delete and the compaction point with the snapshot's membership).
  /// Errors: errc::invalid_argument for a last index or term of 0.
  status apply_snapshot(const snapshot_metadata& meta) override;

  // ---- applied index (recorded by the shell after applying) ----

  /// Records that the state machine reflects every entry up to `index`; durable with the next
  /// sync(). errc::invalid_argument when `index` is below the current applied index.
  status set_applied(index_t index);
  /// The applied index as last set (the durable one right after open).
  index_t applied() const noexcept { return applied_; }

  // ---- tools and tests ----

  const std::string& path() const noexcept;
  /// True when writes are buffered, waiting for sync().
  bool has_unsynced_writes() const noexcept;
  /// PRAGMA integrity_check, then every entry, the hard state and the applied index against
  /// their checksums (what is in the file: buffered writes are not checked).
  /// errc::corrupt names the file and the index. Reads the whole file.
  status check_integrity();
  /// Entries held in the in-memory tail now (for tests of the cache bound).
  std::size_t tail_size() const noexcept { return tail_.size(); }

 private:
  sqlite_log_storage(storage::database db, sqlite_log_storage_options opts);
  status load();
  status verify_single_rows(bool assign);
  status verify_all_entries(bool rebuild_terms);
  status read_from_file(index_t lo, index_t hi, std::uint64_t max_bytes, std::uint64_t& bytes,
                        std::vector<log_entry>& out) const;
  status write_batch();
  void trim_tail();
  error corrupt(const std::string& what) const;
  error failed_error() const;

  // The database is mutable because const reads (entries() of old indexes) prepare statements.
  mutable storage::database db_;
  sqlite_log_storage_options opts_;

  log_store::term_runs terms_;      ///< term of every index in [1, last_index()]
  std::deque<log_entry> tail_;      ///< the entries [tail_first_, last_index()], contiguous
  index_t tail_first_ = 1;          ///< last_index() + 1 when the tail is empty
  std::uint64_t tail_bytes_ = 0;    ///< payload bytes held in tail_

  index_t first_ = 1;               ///< first index held (snapshot_.last_index + 1)
  snapshot_metadata snapshot_;      ///< the log starts after it (as last set, durable or not)
  bool start_dirty_ = false;        ///< the compaction point changed since the last sync
  index_t file_first_ = 1;          ///< the compaction point as last read from the file
  /// Rows below first_ may remain in the file from here up (compacted, not deleted yet): each
  /// sync deletes up to opts_.prune_entries_per_sync of them. Reads never reach them.
  index_t prune_from_ = 1;

  hard_state hard_state_;           ///< as last set (durable or not)
  index_t applied_ = 0;             ///< as last set

  /// The lowest index where the log in memory differs from the file: sync() deletes the file's
  /// entries from there and inserts the tail's. Always >= tail_first_ (dirty entries are in the
  /// tail). nullopt when the entries are in sync.
  std::optional<index_t> dirty_from_;
  bool hard_state_dirty_ = false;
  bool applied_dirty_ = false;
  std::optional<error> failure_;    ///< set by a failed sync: the store is unusable for good
};

}  // namespace troupe::raft
