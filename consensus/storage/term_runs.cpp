#include "consensus/storage/term_runs.hpp"

#include <algorithm>
#include <cassert>

namespace troupe::raft::log_store {

term_t term_runs::term_at(index_t index) const noexcept {
  assert(index >= first_index_ && index <= last_index_);
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

void term_runs::drop_before(index_t first) {
  assert(first >= first_index_ && first <= last_index_ + 1);
  // Keep the run that covers `first` (the last run starting at or before it), with its start moved up.
  auto it = std::upper_bound(runs_.begin(), runs_.end(), first,
                             [](index_t i, const run& r) { return i < r.first; });
  if (it != runs_.begin()) --it;
  runs_.erase(runs_.begin(), it);
  if (!runs_.empty() && runs_.front().first < first) runs_.front().first = first;
  if (first > last_index_) runs_.clear();
  first_index_ = first;
}

void term_runs::reset(index_t last) {
  runs_.clear();
  last_index_ = last;
  first_index_ = last + 1;
}

void term_runs::truncate_from(index_t index) {
  if (index > last_index_) return;
  assert(index >= first_index_);
  while (!runs_.empty() && runs_.back().first >= index) runs_.pop_back();
  last_index_ = index - 1;
}

}  // namespace troupe::raft::log_store
