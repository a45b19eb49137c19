#pragma once
/// The raft shell's snapshot I/O (Raft §7; consensus/README.md, "What the shell does with a ready
/// batch"): received chunks made durable, compaction snapshots stored, images read back for a
/// restore, and a received snapshot the log missed at a crash installed at restart. Pure of CAF: the
/// raft actor calls these on its storage thread (chunks), its snapshot saver thread (compaction) or
/// its own thread (reads); every function blocks on the disk.
///
/// Thread-safety: none; each store object is used by one thread at a time (the actor serializes
/// the writer's two threads with a mutex, sqlite_snapshot_store.hpp).

#include <string>
#include <string_view>
#include <vector>

#include "consensus/core/types.hpp"
#include "consensus/storage/sqlite_log_storage.hpp"
#include "consensus/storage/sqlite_snapshot_store.hpp"
#include "runtime/base/result.hpp"

namespace troupe::raft {

/// Makes received InstallSnapshot chunks durable, in order: offset 0 starts a partial snapshot
/// (discarding any other, also an older partial of the same snapshot), a later chunk must continue
/// the partial exactly (the core hands out only such chunks, resuming from config::partial after a
/// restart), and the `done` chunk finalizes it into the latest complete snapshot. Durable when it
/// returns. Errors: those of the store, and errc::corrupt when a chunk does not continue the
/// partial (the store lost what the core believes durable: the group must stop).
status persist_chunks(sqlite_snapshot_store& store, const std::vector<snapshot_chunk>& chunks);

/// Stores a compaction snapshot the state machine took at `meta.last_index`, unless the store
/// already holds a complete snapshot at or beyond that index, or is receiving a newer one (a
/// partial above that index: saving would discard it). true: stored and durable; false: skipped.
/// A partial at or below the index is obsolete (the core never installs a snapshot at or below its
/// commit index, Figure 13) and is discarded. Errors: those of the store's save.
result<bool> save_if_newer(sqlite_snapshot_store& store, const snapshot_metadata& meta, std::string_view image);

/// The whole image of the complete snapshot `meta` names, read from the file (any store object
/// on it: size_of / read_of), each chunk row verified. Errors: those of size_of and read_of.
result<std::string> read_image(sqlite_snapshot_store& store, const snapshot_metadata& meta);

/// Restart after a crash between a snapshot's finalize and the log's apply_snapshot (a received
/// snapshot, or a compaction): when the store's latest complete snapshot is beyond the log's start,
/// the log is made to start after it (Figure 13 steps 6-7: its suffix kept if it matches), its
/// commit index raised to it (a snapshot covers only committed entries), its current term raised to
/// the snapshot's term if below it (then with no vote), and synced. Returns
/// whether it changed the log. Errors: those of the log store.
result<bool> install_latest_in_log(sqlite_log_storage& log, const sqlite_snapshot_store& store);

}  // namespace troupe::raft
