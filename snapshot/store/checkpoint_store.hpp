#pragma once
/// The checkpoint store (issue 5): the narrow storage interface the checkpoint coordinator needs.
/// Implementations: `sqlite_checkpoint_store` (the node's, on runtime/storage) and
/// `memory_checkpoint_store` (simulation and tests, with injected faults). Both follow the same
/// rules (rules.hpp) and pass the same contract tests (tests/unit/checkpoint_store/).
/// See snapshot/store/README.md for where the parts live and what survives the loss of a disk.
///
/// Thread-safety: an implementation is used by one thread at a time. The SQLite one blocks on
/// I/O and fsync: call it from a detached actor or a thread of its own, never from a CAF scheduler
/// thread (DESIGN.md 1).

#include <cstddef>
#include <optional>
#include <vector>

#include "runtime/base/result.hpp"
#include "snapshot/core/global_state.hpp"
#include "snapshot/core/restore.hpp"
#include "snapshot/store/manifest.hpp"

namespace troupe::checkpoint::store {

/// Retention: how many checkpoints `save` keeps. Applied inside the save itself (the SQLite
/// store: in its transaction), so a crash never leaves a checkpoint saved without its retention
/// applied, or the reverse.
struct retention {
  /// Complete checkpoints kept, newest first (0: keep all). The newest complete checkpoint is what
  /// a restore uses; older ones are for a restore that must go further back.
  std::size_t keep_last = 5;
  /// Manifests of aborted or partial checkpoints kept (0: keep all): kept for `list` and `show`
  /// (why did checkpoint 41 abort?), bounded so a run of aborts cannot fill the disk.
  std::size_t keep_last_incomplete = 20;
};

class checkpoint_store {
 public:
  virtual ~checkpoint_store() = default;

  /// Stores `state` and `meta` all or nothing: the manifest, every participant's location and
  /// local state, every recorded channel and message, then applies retention. On success all of
  /// it is durable; on any error none of it was stored.
  /// For a checkpoint whose `meta.status` is not ok only the manifest is stored (status, reason,
  /// participants), no parts: pass the outcome's (empty) state, whose `id` and `initiator` count.
  /// Errors: invalid_argument for id 0 or above INT64_MAX, an ok checkpoint with no participant,
  /// a channel with an end that has no local state, or a message not addressed as its channel
  /// (load could not give those back as given); busy ("already stored") when the id exists (ids
  /// are never reused); io when the storage fails (nothing of this checkpoint is stored).
  virtual status save(const global_state& state, const checkpoint_metadata& meta) = 0;

  /// Every stored checkpoint, newest (highest id) first. corrupt when a manifest fails its
  /// check (the message names the checkpoint).
  virtual result<std::vector<checkpoint_summary>> list() = 0;
  /// The highest id ever stored (0 when none), deleted checkpoints included (a deleted newest id
  /// is never handed out again, also after a restart), read without checking any manifest: a
  /// coordinator continues above it, so one damaged manifest cannot make ids start again at 1
  /// (every later save would be refused as "already stored"). io when the storage fails.
  virtual result<checkpoint_id> highest_id() = 0;
  /// The manifest and per-participant summary. not_found for an unknown id; corrupt as list.
  virtual result<manifest> show(checkpoint_id id) = 0;
  /// The global state, every part verified. not_found for an unknown id; invalid_argument (with
  /// the reason) for an aborted or partial checkpoint, which has no complete global state; corrupt
  /// naming the checkpoint and the participant (and channel) whose part is damaged or missing.
  virtual result<global_state> load(checkpoint_id id) = 0;
  /// Deletes the checkpoint and all its parts, all or nothing. not_found for an unknown id.
  virtual status remove(checkpoint_id id) = 0;
  /// Sets how many complete checkpoints to keep from now on and applies it now.
  virtual status keep_last(std::size_t complete) = 0;
  virtual const retention& kept() const noexcept = 0;

  /// The newest complete checkpoint's summary, nullopt when there is none.
  result<std::optional<checkpoint_summary>> latest_complete();
  /// What a restore of checkpoint `id` needs, or the reason it is refused: load's errors, then
  /// plan_restore's (snapshot/core/restore.hpp). A restore never proceeds from part of a
  /// checkpoint.
  result<std::vector<restore_plan>> plan(checkpoint_id id);

 protected:
  checkpoint_store() = default;
  checkpoint_store(const checkpoint_store&) = default;
  checkpoint_store(checkpoint_store&&) = default;
  checkpoint_store& operator=(const checkpoint_store&) = default;
  checkpoint_store& operator=(checkpoint_store&&) = default;
};

}  // namespace troupe::checkpoint::store
