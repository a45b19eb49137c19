#pragma once
/// The core's view of the replicated log: the durable part in `log_storage` plus the unstable tail the
/// shell has not persisted yet (etcd's raftLog/unstable), and the commit and applied indexes.
///
/// Owned by one `node`; not thread-safe. A storage read failure is fatal (the node stops: it cannot
/// know its own log), so functions here return plain values.

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "consensus/core/log_storage.hpp"

namespace troupe::raft {

class raft_log {
 public:
  /// `committed` comes from the durable hard state; it never exceeds the durable last index.
  raft_log(const log_storage& storage, index_t committed);

  /// The first index held: the snapshot's last index + 1. Kept in memory: after compact() or
  /// install_snapshot() the store catches up when the shell carries out the ready batch, and until
  /// then it still holds every entry the core may read.
  index_t first_index() const { return snap_index_ + 1; }
  index_t snapshot_index() const { return snap_index_; }
  term_t snapshot_term() const { return snap_term_; }
  index_t last_index() const;
  term_t last_term() const { return term(last_index()); }
  /// Term at `index`; 0 for index 0 or an index outside the log.
  term_t term(index_t index) const;
  bool match_term(index_t index, term_t t) const {
    return index <= last_index() && index >= first_index() - 1 && term(index) == t;
  }
  /// Raft §5.4.1: a candidate's log is at least as up-to-date as ours.
  bool is_up_to_date(index_t last_idx, term_t last_t) const {
    return last_t > last_term() || (last_t == last_term() && last_idx >= last_index());
  }

  index_t committed() const { return committed_; }
  /// How many times appended entries replaced existing ones (a conflicting suffix, Raft §5.3).
  std::uint64_t truncations() const { return truncations_; }
  index_t applied() const { return applied_; }
  /// The last index known durable (handed out in a ready and acknowledged by advance()).
  index_t stable_last_index() const { return unstable_offset_ - 1; }

  /// Follower side of AppendEntries (Raft §5.3): if (prev_index, prev_term) matches, truncate a
  /// conflicting suffix, append what is new and return the last index this message made match.
  std::optional<index_t> maybe_append(index_t prev_index, term_t prev_term,
                                      std::span<const log_entry> entries);
  /// Leader side: appends new entries at the end. Returns the new last index.
  index_t append(std::vector<log_entry> entries);

  /// First index in `entries` whose term differs from ours or that we lack; 0 if none.
  index_t find_conflict(std::span<const log_entry> entries) const;
  /// Largest index <= `index` whose term is <= `t`, with that term (fast backtracking).
  std::pair<index_t, term_t> find_conflict_by_term(index_t index, term_t t) const;

  /// Entries in [lo, hi) up to `max_bytes` of payload (at least one).
  std::vector<log_entry> entries(index_t lo, index_t hi, std::uint64_t max_bytes) const;

  /// Advances the commit index; never moves it back; `index` must be in the log.
  void commit_to(index_t index);
  void applied_to(index_t index);

  /// Compaction (Raft §7): the log now starts after `index` (<= applied(), in the log).
  void compact(index_t index);
  /// A complete received snapshot (Figure 13 steps 6-7): keeps the entries after (index, t) if the
  /// log holds that entry, else discards the log; commit becomes at least `index`. Returns whether
  /// the suffix was kept. applied() moves when the shell has restored the state machine.
  bool install_snapshot(index_t index, term_t t);
  /// Test-only planted bug path: the state machine was reset to an older snapshot.
  void reset_applied_for_bug(index_t index) { applied_ = index; committed_ = index; }

  /// Entries the shell has not been handed yet for persistence.
  const std::vector<log_entry>& unstable_entries() const { return unstable_; }
  /// The shell persisted everything up to (index, t): drop it from the unstable tail. Ignored if
  /// that entry was replaced in the meantime.
  void stable_to(index_t index, term_t t);

  /// Committed entries not yet handed out for applying, at most `max_count`, starting after
  /// `handed_out` (>= applied()).
  std::vector<log_entry> next_committed_entries(index_t handed_out, std::size_t max_count) const;

 private:
  term_t stored_term(index_t index) const;

  const log_storage& storage_;
  index_t snap_index_;
  term_t snap_term_;
  std::vector<log_entry> unstable_;  ///< unstable_[i].index == unstable_offset_ + i
  index_t unstable_offset_;
  index_t committed_;
  index_t applied_;
  std::uint64_t truncations_ = 0;
};

/// Stops the process with `what` (a broken invariant or a failed storage read).
[[noreturn]] void fatal(const char* what, const char* detail = "");

}  // namespace troupe::raft
