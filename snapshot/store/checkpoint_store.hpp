#pragma once
/// The checkpoint store (issue 5): persists what the coordinator assembles, one checkpoint per
/// SQLite transaction, and gives it back verified. See snapshot/store/README.md for where the file
/// lives, what survives the loss of a node's disk, retention and the schema.
///
/// Ownership and threading: a `checkpoint_store` owns its `storage::database` and is used by one
/// thread at a time (it may move between threads). Every call blocks on SQLite, and `save`,
/// `remove` and `keep_last` wait for an fsync: call them from a detached actor or a thread of
/// their own, never from a CAF scheduler thread (DESIGN.md 1).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/storage/database.hpp"
#include "snapshot/core/global_state.hpp"
#include "snapshot/core/restore.hpp"
#include "snapshot/store/manifest.hpp"

namespace troupe::checkpoint::store {

/// Retention: how many checkpoints `save` keeps. Applied inside the save's own transaction, so a
/// crash never leaves a checkpoint saved without its retention applied, or the reverse.
struct retention {
  /// Complete checkpoints kept, newest first (0: keep all). The newest complete checkpoint is what
  /// a restore uses; older ones are for a restore that must go further back.
  std::size_t keep_last = 5;
  /// Manifests of aborted or partial checkpoints kept (0: keep all): kept for `list` and `show`
  /// (why did checkpoint 41 abort?), bounded so a run of aborts cannot fill the disk.
  std::size_t keep_last_incomplete = 20;
};

struct store_options {
  retention keep;
  /// The SQLite options; the store adds its migrations to them. Tests set `vfs` (fault_vfs.hpp).
  storage::options database;
};

class checkpoint_store {
 public:
  /// Opens (or creates) the store's SQLite file at `path` and brings its schema up to date.
  /// Errors are storage::database::open's (they name the file and the cause).
  static result<checkpoint_store> open(std::string path, store_options opts = {});

  checkpoint_store(checkpoint_store&&) noexcept = default;
  checkpoint_store& operator=(checkpoint_store&&) noexcept = default;

  /// Writes `state` and `meta` in ONE transaction: the manifest, every participant's location
  /// and local state, every recorded channel and message, each with its checksum, then applies
  /// retention. On success everything is on stable storage; on any error nothing was written.
  /// For a checkpoint whose `meta.status` is not ok only the manifest is written (status, reason,
  /// participants), no parts: pass the outcome's (empty) state, whose `id` and `initiator` count.
  /// Errors: invalid_argument for id 0 or above INT64_MAX, an ok checkpoint with no participant,
  /// a channel with an end that has no local state, or a message not addressed as its channel
  /// (load could not give those back as given); busy ("already stored") when the id exists (ids are
  /// never reused); storage's io errors (disk full, I/O error), after which nothing of this
  /// checkpoint is stored.
  status save(const global_state& state, const checkpoint_metadata& meta);

  /// Every stored checkpoint, newest (highest id) first. corrupt when a manifest fails its
  /// checksum (the message names the checkpoint).
  result<std::vector<checkpoint_summary>> list();
  /// The manifest and per-participant summary. not_found for an unknown id; corrupt as list.
  result<manifest> show(checkpoint_id id);
  /// The newest complete checkpoint's summary, nullopt when there is none.
  result<std::optional<checkpoint_summary>> latest_complete();

  /// The global state, every part verified against its checksum and the manifest's counts.
  /// not_found for an unknown id; invalid_argument (with the reason) for an aborted or partial
  /// checkpoint, which has no complete global state; corrupt naming the checkpoint and the
  /// participant (and channel) whose part is damaged or missing.
  result<global_state> load(checkpoint_id id);
  /// What a restore of checkpoint `id` needs, or the reason it is refused: load's errors, then
  /// plan_restore's (snapshot/core/restore.hpp). A restore never proceeds from part of a
  /// checkpoint.
  result<std::vector<restore_plan>> plan(checkpoint_id id);

  /// Deletes the checkpoint and all its parts in one transaction. not_found for an unknown id.
  status remove(checkpoint_id id);
  /// Sets how many complete checkpoints to keep from now on and applies it now.
  status keep_last(std::size_t complete);
  const retention& kept() const noexcept { return keep_; }

  const std::string& path() const noexcept { return db_.path(); }

 private:
  checkpoint_store(storage::database db, retention keep) noexcept
      : db_(std::move(db)), keep_(keep) {}
  storage::database db_;
  retention keep_;
};

}  // namespace troupe::checkpoint::store
