#pragma once
/// The term of every index of a log, run-length encoded: terms change only at elections, so a log
/// of millions of entries has a handful of runs. Lets the log store answer term(i) from memory in
/// O(log runs) without touching SQLite. Not thread-safe (owned by one store).

#include <vector>

#include "consensus/core/message.hpp"

namespace troupe::raft::log_store {

class term_runs {
 public:
  /// Index of the last entry described (0 when empty).
  index_t last_index() const noexcept { return last_index_; }

  /// Term at `index`, for first_index() <= index <= last_index() (asserted).
  term_t term_at(index_t index) const noexcept;

  /// First index described (1 until drop_before() or reset()).
  index_t first_index() const noexcept { return first_index_; }

  /// Forgets every index < `first` (log compaction); first <= last_index() + 1 (asserted).
  void drop_before(index_t first);

  /// Forgets everything: the log is empty and the next index to push is `last + 1`.
  void reset(index_t last);

  /// Adds the entry after last_index() (asserted: index == last_index() + 1).
  void push_back(index_t index, term_t term);

  /// Forgets every index >= `index` (no-op past the end).
  void truncate_from(index_t index);

 private:
  struct run {
    index_t first;  ///< first index with `term`; sorted by first, adjacent terms differ
    term_t term;
  };
  std::vector<run> runs_;
  index_t last_index_ = 0;
  index_t first_index_ = 1;
};

}  // namespace troupe::raft::log_store
