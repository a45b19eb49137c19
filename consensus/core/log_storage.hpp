#pragma once
/// The narrow storage interface the Raft core reads from and the shell writes to.
///
/// Ownership: the shell owns the storage and outlives the core. The core only calls the const read
/// functions, from within its own calls; the shell calls the write functions while carrying out a
/// `ready` batch (never concurrently with a core call). Implementations: `memory_log_storage`
/// (tests, simulation) and, later, the SQLite log store of the raft actor.

#include <algorithm>
#include <cstdint>
#include <string>
#include <span>
#include <vector>

#include "consensus/core/message.hpp"
#include "consensus/core/types.hpp"
#include "runtime/base/result.hpp"

namespace troupe::raft {

/// The argument check of `log_storage::entries` that every implementation owes its callers:
/// errc::invalid_argument when lo > hi, errc::not_found when [lo, hi) is not inside
/// [first, last + 1).
inline status check_entries_range(index_t lo, index_t hi, index_t first, index_t last) {
  if (lo > hi) return make_error(errc::invalid_argument, "entries: lo > hi");
  if (lo < first || hi > last + 1) {
    return make_error(errc::not_found, "entries: [" + std::to_string(lo) + ", " +
                                           std::to_string(hi) + ") outside the log");
  }
  return {};
}

class log_storage {
 public:
  virtual ~log_storage() = default;

  /// The durable hard state (term 0, no vote, commit 0 for a new node).
  /// Errors: errc::io, errc::corrupt — the node must not start.
  virtual result<hard_state> initial_hard_state() const = 0;

  /// Index of the first entry still held: last_snapshot().last_index + 1 (1 without a snapshot).
  /// Never fails.
  virtual index_t first_index() const = 0;

  /// Index of the last entry held (first_index() - 1 when empty). Never fails.
  virtual index_t last_index() const = 0;

  /// Term of the entry at `index`; term 0 for index 0; last_snapshot().last_term for
  /// first_index() - 1 (the snapshot's last entry, Raft §7).
  /// Errors: errc::not_found when `index` < first_index() - 1 (compacted) or > last_index()
  /// (unavailable); errc::io / errc::corrupt on a storage failure.
  virtual result<term_t> term(index_t index) const = 0;

  /// Entries in [lo, hi), at least one if lo < hi, then as many as fit in `max_bytes` of payload.
  /// Errors: errc::not_found when lo < first_index() or hi > last_index() + 1; errc::invalid_argument
  /// when lo > hi; errc::io / errc::corrupt.
  virtual result<std::vector<log_entry>> entries(index_t lo, index_t hi,
                                                 std::uint64_t max_bytes) const = 0;

  /// Appends `entries` (consecutive, the first at most last_index() + 1), first deleting every held
  /// entry at or after entries.front().index (the conflicting suffix, Raft §5.3). Not durable until
  /// sync(). Errors: errc::invalid_argument for a gap or non-consecutive entries; errc::io.
  virtual status append(std::span<const log_entry> entries) = 0;

  /// Records the hard state; not durable until sync(). Errors: errc::io.
  virtual status set_hard_state(const hard_state& hs) = 0;

  /// Makes every earlier append and set_hard_state durable, atomically. Errors: errc::io — the
  /// caller must stop the node (it cannot know what is durable).
  virtual status sync() = 0;

  /// The index of the last entry_type::config entry at or before `at_or_before` and at or after
  /// first_index(), 0 if there is none. The core calls it when it starts, to recover the
  /// configuration from the log (thesis §4.1). The default scans backwards through entries(); a store
  /// that can look entries up by type should override it. Errors: those of entries().
  virtual result<index_t> last_config_index(index_t at_or_before) const;

  // ---- snapshots and compaction (Raft §7) ----

  /// The snapshot the log starts after: last_index == first_index() - 1, its last_term and the
  /// configuration in effect at it (thesis §5.1). All zero / empty when the log was never
  /// compacted. Never fails (a store loads it when it opens).
  virtual snapshot_metadata last_snapshot() const;

  /// Makes the log start after the snapshot `meta` (the shell calls it for ready::compacted and
  /// ready::snapshot_to_restore, after the snapshot's image is durable in the shell's snapshot
  /// store). Figure 13 steps 6-7: if the entry at meta.last_index is held with meta.last_term, the
  /// entries after it are kept and those up to it dropped; otherwise every entry is dropped. A
  /// `meta.last_index` below first_index() - 1 changes nothing (an older snapshot). Afterwards
  /// first_index() == meta.last_index + 1, term(meta.last_index) == meta.last_term, last_snapshot()
  /// == meta and last_index() >= meta.last_index. Not durable until sync(), which makes it durable
  /// atomically with the appends and hard state of the same batch. Errors: errc::io;
  /// errc::unsupported from a store that cannot compact (the default).
  virtual status apply_snapshot(const snapshot_metadata& meta);
};

inline snapshot_metadata log_storage::last_snapshot() const { return {}; }

inline status log_storage::apply_snapshot(const snapshot_metadata&) {
  return make_error(errc::unsupported, "this log store cannot hold snapshots");
}

/// Where a leader's core reads the bytes of the snapshot it sends (the shell's snapshot store; a
/// memory one in tests). Called only from within node calls, on the node's thread.
class snapshot_source {
 public:
  virtual ~snapshot_source() = default;
  /// Size in bytes of the image of the snapshot `meta` describes. Errors: errc::not_found when the
  /// source no longer holds that snapshot (a newer one replaced it: the core starts over with the
  /// log's current snapshot); errc::io / errc::corrupt.
  virtual result<std::uint64_t> size(const snapshot_metadata& meta) const = 0;
  /// Up to `max_bytes` (> 0) of that image from `offset` (< size). Errors: those of size().
  virtual result<std::string> read(const snapshot_metadata& meta, std::uint64_t offset,
                                   std::uint64_t max_bytes) const = 0;
};

inline result<index_t> log_storage::last_config_index(index_t at_or_before) const {
  constexpr index_t chunk = 256;
  index_t hi = std::min(at_or_before, last_index());  // inclusive
  const index_t first = first_index();
  while (hi >= first && hi > 0) {
    const index_t lo = hi >= first + chunk ? hi + 1 - chunk : first;
    auto got = entries(lo, hi + 1, ~std::uint64_t{0});
    if (!got) return got.err();
    for (auto it = got->rbegin(); it != got->rend(); ++it) {
      if (it->type == entry_type::config) return it->index;
    }
    if (lo == first) break;
    hi = lo - 1;
  }
  return index_t{0};
}

}  // namespace troupe::raft
