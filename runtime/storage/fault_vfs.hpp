#pragma once
/// A fault-injecting SQLite VFS for tests and simulation (library troupe_storage_fault_vfs; never
/// linked into the node).
///
/// What it models. It wraps the default ("unix") VFS and stands in for the operating system's page
/// cache between SQLite and the disk:
/// - A write to a named file (database, WAL, journal) is kept in memory as "unsynced" and is
///   visible to every later read of that file through this VFS, from any connection (like the
///   page cache). Only xSync of that file writes the unsynced writes, in order, to the real file
///   (fsyncing it too when set_real_fsync(true)): data synced is durable. Temporary files pass
///   straight through.
/// - crash() models a power loss or kernel crash: every unsynced write of every file is dropped.
///   With tearing on (the default), for each file the most recent unsynced write is instead torn:
///   a random prefix of it (0 to all of its bytes, from the seeded generator) reaches the disk and
///   the rest keeps the old contents. Bytes outside a write's range are never touched (SQLite's
///   "powersafe overwrite" assumption). After a crash every I/O of the open connections fails
///   (the process is dead), files cannot be opened, deleted or truncated, until restart().
/// - crash_after(n) arms a crash at the n-th next write or sync (counting both). A write that
///   triggers the crash counts as started: it is the most recent write, so it may be torn.
/// - Injected errors: writes failing with EIO (SQLITE_IOERR_WRITE) or disk full (SQLITE_FULL),
///   syncs failing with EIO (SQLITE_IOERR_FSYNC; the unsynced writes stay unsynced), and a
///   read-only file system (files open read-only, as SQLite does after EROFS/EACCES).
/// - Optionally (set_crash_keep_percent) a crash keeps each other unsynced write whole with some
///   probability, so an arbitrary subset of them reaches the disk.
/// What it does not model: a torn write other than the last one per file, lost directory entries
/// (file creation, deletion and truncation are durable at once), bit rot of synced data, and the
/// shared-memory wal-index (it lives in the real -shm file; SQLite rebuilds it from the WAL when
/// the first connection opens after a crash).
///
/// Thread-safety: all methods and all file operations are serialized by one mutex; connections on
/// several threads may use the VFS at once.

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/base/result.hpp"

namespace troupe::storage {

/// What an injected write fault looks like to SQLite.
enum class write_fault { io_error, disk_full };

class fault_vfs {
 public:
  /// Registers a VFS named `name` (not the default) wrapping the default VFS. `seed` drives every
  /// random choice (torn prefixes, kept writes), so one seed replays one run.
  /// errc::invalid_argument when a VFS of that name exists.
  static result<std::unique_ptr<fault_vfs>> install(const std::string& name, std::uint64_t seed);
  /// Unregisters. Every connection using the VFS must be closed before.
  ~fault_vfs();
  fault_vfs(const fault_vfs&) = delete;
  fault_vfs& operator=(const fault_vfs&) = delete;

  /// The name to put into storage::options::vfs.
  const std::string& name() const noexcept;

  /// Simulates a crash now (see the header comment).
  void crash();
  /// Arms a crash at the `operations`-th next write or sync (1 = the next one). 0 disarms.
  void crash_after(std::uint64_t operations);
  /// Whether crash() tears the most recent unsynced write of each file (default true).
  void set_tear_on_crash(bool tear);
  /// Each unsynced write other than a file's most recent one survives a crash whole with this
  /// probability (percent, 0 to 100; default 0: all dropped). Models a disk that had written back
  /// some dirty pages, in any order, before the power went.
  void set_crash_keep_percent(unsigned percent);
  bool crashed() const;
  /// After a crash, once every connection is closed: the machine is back; files open again.
  void restart();

  /// Every write after the next `after` writes fails with `fault`, until clear_faults().
  void fail_writes(write_fault fault, std::uint64_t after = 0);
  /// Every sync fails with EIO until clear_faults().
  void fail_syncs();
  /// Files open read-only, as on a read-only file system, until clear_faults().
  void set_read_only(bool read_only);
  void clear_faults();

  /// Whether xSync also fsyncs the real file (default false). The VFS itself decides what a crash
  /// keeps, so a real fsync only matters if the test machine itself loses power; off, tests run
  /// at memory speed.
  void set_real_fsync(bool enabled);

  struct counters {
    std::uint64_t writes = 0;  ///< xWrite calls that reached the VFS (including failed ones)
    std::uint64_t syncs = 0;
    std::uint64_t unsynced_bytes = 0;  ///< held in memory now
    std::uint64_t dropped_writes = 0;  ///< discarded by crashes
    std::uint64_t torn_writes = 0;     ///< writes of which a strict prefix survived a crash
  };
  counters stats() const;

  struct state;  // internal; public so the C callbacks of the .cpp file can name it

 private:
  explicit fault_vfs(std::unique_ptr<state> s) noexcept;
  std::unique_ptr<state> state_;
};

}  // namespace troupe::storage
