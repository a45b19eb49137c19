#pragma once
/// Options for opening a SQLite database (see database.hpp). Plain data: copy freely.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/base/result.hpp"

namespace troupe::storage {

/// PRAGMA synchronous. OFF is deliberately not offered: it acknowledges commits that a power loss
/// can erase. FULL (the default) syncs the WAL at every commit, so a commit that returned success
/// survives a crash or power loss. NORMAL may lose the last commits at power loss (not at a process
/// crash); use it only for data that can be rebuilt.
enum class synchronous_mode : int { normal = 1, full = 2, extra = 3 };

/// The steps that bring the schema from `version - 1` to `version`, run in order inside the
/// migration transaction. Versions of a migration list start at 1 and increase by exactly 1.
struct migration {
  int version = 0;
  std::vector<std::string> steps;
};

/// How deep `database::check_integrity` looks: `quick` is PRAGMA quick_check (O(N), skips index
/// consistency), `full` is PRAGMA integrity_check.
enum class check_depth { quick, full };

/// What the background checkpointer reports after each passive checkpoint it runs.
struct checkpoint_report {
  double duration_seconds = 0;
  int wal_frames = 0;           ///< frames in the WAL when the checkpoint ran (-1 if unknown)
  int checkpointed_frames = 0;  ///< frames copied back into the database file (-1 if unknown)
  status outcome;               ///< an error names the file; the WAL still holds the data
};

/// PRAGMA secure_delete for the connections of a database. `library_default` keeps what SQLite was
/// built with: Debian 12's libsqlite3 is built with SECURE_DELETE, so every page a delete frees is
/// zeroed and written (to the WAL, then by the checkpoint to the file), as much I/O as writing the
/// deleted data again. `fast` (SQLite's FAST) zeroes deleted content only in pages that are written
/// anyway and leaves freed pages as they are: for files whose deleted content needs no erasing
/// (data still held elsewhere in the file or the cluster, like a compacted Raft log prefix).
enum class secure_delete_mode { library_default, fast };

struct options {
  /// Create the file when it does not exist. The directory must exist in any case.
  bool create_if_missing = true;
  /// Open read-only: no lock file, no migrations, no checkpointer; writes fail with a clear error.
  bool read_only = false;
  synchronous_mode synchronous = synchronous_mode::full;
  /// How long a statement waits for a lock held by another connection of this process.
  std::chrono::milliseconds busy_timeout{5000};
  /// The schema: applied at open, in one transaction, from PRAGMA user_version + 1 to the last.
  std::vector<migration> migrations;
  /// Run PRAGMA quick_check / integrity_check at open and refuse a corrupt file (costs O(size)).
  bool check_on_open = false;
  check_depth open_check = check_depth::quick;

  /// Background passive WAL checkpoints (wal_autocheckpoint is always 0). The checkpointer is a
  /// thread with its own connection; it runs every `checkpoint_interval`, and sooner each time the
  /// WAL grew by `checkpoint_wal_pages` pages since it was last asked. Once the WAL holds
  /// `checkpoint_restart_wal_pages` pages (0: never), the committing thread runs one passive
  /// checkpoint itself right after its commit, which lets the next transaction restart the WAL
  /// from its beginning (checkpointer.hpp says why). Both thresholds count pages of 4 KiB, i.e.
  /// WAL bytes / 4096, whatever the file's page size (a file of 64 KiB pages reaches 1,024 after
  /// 64 frames). Disable only for a connection that does not write.
  bool background_checkpoint = true;
  std::chrono::milliseconds checkpoint_interval{1000};
  int checkpoint_wal_pages = 1024;
  int checkpoint_restart_wal_pages = 4096;
  /// Called after each checkpoint (metrics), on the checkpointer thread or, for the one that lets
  /// the WAL restart, on the committing thread. Must be thread-safe and must not throw.
  std::function<void(const checkpoint_report&)> on_checkpoint;

  /// Page size of a file this open creates (PRAGMA page_size: a power of two, 512 to 65536); 0
  /// for SQLite's default (4096). An existing file keeps the page size its header records: it
  /// is fixed at creation (and in WAL mode cannot change).
  int page_size = 0;

  secure_delete_mode secure_delete = secure_delete_mode::library_default;

  /// SQLite VFS name; empty for the default. Tests pass a fault_vfs name (fault_vfs.hpp).
  std::string vfs;
  /// Bound on prepared statements kept idle in the per-database cache.
  std::size_t statement_cache_capacity = 64;
};

}  // namespace troupe::storage
