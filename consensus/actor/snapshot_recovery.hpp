#pragma once
/// Restart from a snapshot (Raft §7): before the core is created, the state machine is restored from
/// the group's latest durable snapshot and only the log after it is replayed. Pure of CAF (the raft
/// actor's spawn calls it on the spawning thread; it blocks on the disk while it reads the image).

#include <memory>
#include <string>

#include "consensus/core/state_machine.hpp"
#include "consensus/core/types.hpp"
#include "consensus/storage/sqlite_log_storage.hpp"
#include "consensus/storage/sqlite_snapshot_store.hpp"
#include "runtime/base/result.hpp"

namespace troupe::raft {

/// The snapshot file beside a group's log file: "<dir>/raft-1.db" -> "<dir>/raft-1-snapshots.db".
std::string snapshot_path_for(const std::string& log_path);

struct recovered_state {
  std::unique_ptr<sqlite_snapshot_store> snapshots;  ///< the opened store, for the actor to keep
  index_t applied = 0;  ///< what the state machine reflects now: config.applied for the core
};

/// Opens the snapshot store at `snapshot_path` and, if it holds a complete snapshot, reads it
/// (verified against its size and CRC-32C) and restores `sm` from it. The log must start at or
/// before the snapshot's next index: the order is always "snapshot durable, then log prefix
/// dropped", so a log compacted past the latest snapshot (or compacted with no snapshot at all)
/// means a lost or foreign snapshot file, errc::corrupt naming both files. Errors also: those of the
/// store's open and read_all, and the state machine's restore (prefixed with the file's path).
result<recovered_state> recover_from_snapshot(const std::string& snapshot_path, const sqlite_log_storage& log,
                                              state_machine& sm, const sqlite_snapshot_store_options& opts = {});

}  // namespace troupe::raft
