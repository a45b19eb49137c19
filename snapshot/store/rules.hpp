#pragma once
/// Internal to the store: the rules every implementation follows (SQLite and in-memory), in one
/// place so that they cannot drift apart: what save accepts, what the manifest says, which
/// checkpoints retention drops, and why a checkpoint cannot be loaded whole.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/base/result.hpp"
#include "snapshot/core/global_state.hpp"
#include "snapshot/store/checkpoint_store.hpp"
#include "snapshot/store/manifest.hpp"

namespace troupe::checkpoint::store::rules {

/// Whether save stores the parts (a complete checkpoint) or the manifest alone (an aborted one).
inline bool stores_parts(const checkpoint_metadata& meta) {
  return meta.status == checkpoint_status::ok;
}

/// What save refuses before writing anything (see checkpoint_store::save).
status check_save(const global_state& state, const checkpoint_metadata& meta);

/// The manifest's per-participant lines, ascending id, without channels_in / messages_in (what
/// the SQLite store writes; it counts those on reading). One merge of the two maps.
std::vector<participant_summary> participant_rows(const global_state& state,
                                                  const checkpoint_metadata& meta);

/// participant_rows with channels_in / messages_in filled (a binary search per channel).
std::vector<participant_summary> participants_of(const global_state& state,
                                                 const checkpoint_metadata& meta);

/// The manifest of a save: counts and sizes from the parts themselves; `rows` is
/// participant_rows or participants_of (state, meta), computed once by the caller.
checkpoint_summary summarize(const global_state& state, const checkpoint_metadata& meta,
                             const std::vector<participant_summary>& rows);

/// Given every stored checkpoint as (id, complete), newest first, the ids retention drops.
std::vector<checkpoint_id> expired(const std::vector<std::pair<checkpoint_id, bool>>& newest_first,
                                   const retention& keep);

/// Why checkpoint `m` has no complete global state to load (aborted, partial, empty), or nullopt.
std::optional<std::string> incomplete_reason(const checkpoint_summary& m,
                                             const std::vector<participant_summary>& members);

}  // namespace troupe::checkpoint::store::rules
