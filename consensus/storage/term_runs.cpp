#include "consensus/storage/term_runs.hpp"

#include <algorithm>
#include <cassert>

namespace troupe::raft::log_store {

term_t term_runs::term_at(index_t index) const noexcept {
  assert(index >= 1 && index <= last_index_);
  // The last run whose first index is <= index.
  auto it = std::upper_bound(runs_.begin(), runs_.end(), index,
                             [](index_t i, const run& r) { return i < r.first; });
  assert(it != runs_.begin());
  return std::prev(it)->term;
}

void term_runs::push_back(index_t index, term_t term) {
  assert(index == last_index_ + 1);
  if (runs_.empty() || term != runs_.back().term) runs_.push_back(run{index, term});
  last_index_ = index;
}

void term_runs::truncate_from(index_t index) {
  if (index > last_index_) return;
  assert(index >= 1);
  while (!runs_.empty() && runs_.back().first >= index) runs_.pop_back();
  last_index_ = index - 1;
}

}  // namespace troupe::raft::log_store
