#pragma once
/// `troupe node --restore-from=FILE`: a backup (backup_file.hpp) becomes the group files of a new
/// one-node cluster, before the group starts (docs/operations.md, "Backup and restore").
///
/// What it writes, into a data directory that holds no group files yet:
/// - the snapshot file (snapshot_recovery.hpp's snapshot_path_for): the backup's image as the
///   latest complete snapshot at the backup's index and term, recording the NEW configuration
///   (this node the only voter, with its address), so that a follower later sent this snapshot
///   learns the cluster it joins, not the one the backup came from;
/// - the log: it starts after that snapshot (log_storage::apply_snapshot), then one configuration
///   entry naming this node the only voter, in a new term (one above the backup's: as for
///   --force-new-cluster, a term of its own so that no entry of the old cluster can be mistaken
///   for one of this cluster, Raft §5.3), committed (hard state: that term, no vote, commit at
///   the entry).
/// The node then starts as usual: recover_from_snapshot restores the state machine from the image,
/// the core finds the one-node configuration as the latest in the log (thesis §4.1) and elects
/// itself; `troupe cluster add` grows it. Pure of CAF; blocks on the disk (two files, fsync).

#include <string>

#include "consensus/actor/backup_file.hpp"
#include "consensus/core/message.hpp"
#include "runtime/base/result.hpp"

namespace troupe::raft {

struct restored_cluster {
  index_t snapshot_index = 0;  ///< the backup's index: the state machine starts there
  index_t config_index = 0;    ///< the new one-node configuration entry (snapshot_index + 1)
  term_t term = 0;             ///< its term
};

/// Reads the backup file at `path` whole and verifies it (decode_backup). Errors name the file:
/// errc::io (cannot read it), and those of backup_verifier (bad magic, version, truncated,
/// checksum).
result<std::string> read_backup_file(const std::string& path);

/// A restore needs a data directory that holds nothing yet: errc::invalid_argument naming a file
/// found in `dir` (a missing `dir` is fine: the node creates it).
status check_empty_directory(const std::string& dir);

/// Writes the group files of `group` at `log_path` (and its snapshot file beside it) from `backup`
/// for a one-node cluster of `self` listening at `self_address`, durably.
/// Errors: errc::invalid_argument when either file already exists (nothing is touched: the data
/// directory already holds data), when the backup is of another group, or when it holds no
/// applied entry (index 0); errc::io and the stores' open errors otherwise (the node must not
/// start; remove the files it wrote before trying again).
result<restored_cluster> restore_backup(const std::string& log_path, group_id group, node_id self,
                                        const std::string& self_address, const decoded_backup& backup);

}  // namespace troupe::raft
