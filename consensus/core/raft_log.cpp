#include "consensus/core/raft_log.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>

namespace troupe::raft {

void fatal(const char* what, const char* detail) {
  std::fprintf(stderr, "raft: fatal: %s %s\n", what, detail);
  std::abort();
}

raft_log::raft_log(const log_storage& storage, index_t committed)
    : storage_(storage),
      snap_index_(storage.first_index() - 1),
      snap_term_(0),
      unstable_offset_(storage.last_index() + 1),
      committed_(std::max(committed, snap_index_)),  // a snapshot holds only committed entries
      applied_(snap_index_) {
  if (snap_index_ > 0) snap_term_ = stored_term(snap_index_);
  if (committed_ > storage.last_index()) fatal("hard state commit is beyond the durable log");
}

index_t raft_log::last_index() const {
  return unstable_.empty() ? unstable_offset_ - 1 : unstable_.back().index;
}

term_t raft_log::stored_term(index_t index) const {
  auto t = storage_.term(index);
  if (!t) fatal("storage term() failed:", t.err().message.c_str());
  return *t;
}

term_t raft_log::term(index_t index) const {
  if (index == 0 || index > last_index() || index < snap_index_) return 0;
  if (index == snap_index_) return snap_term_;
  if (index >= unstable_offset_) return unstable_[index - unstable_offset_].term;
  return stored_term(index);
}

index_t raft_log::find_conflict(std::span<const log_entry> entries) const {
  for (const auto& e : entries) {
    if (!match_term(e.index, e.term)) return e.index;
  }
  return 0;
}

std::pair<index_t, term_t> raft_log::find_conflict_by_term(index_t index, term_t t) const {
  index = std::min(index, last_index());
  for (; index >= first_index(); --index) {
    const term_t ours = term(index);
    if (ours <= t) return {index, ours};
  }
  return {index, term(index)};
}

std::optional<index_t> raft_log::maybe_append(index_t prev_index, term_t prev_term,
                                              std::span<const log_entry> entries) {
  if (!match_term(prev_index, prev_term)) return std::nullopt;
  const index_t last_new = prev_index + entries.size();
  const index_t conflict = find_conflict(entries);
  if (conflict != 0) {
    // Raft §5.3 step 3: a committed entry never conflicts; if it did, the log matching property broke.
    if (conflict <= committed_) fatal("AppendEntries conflicts with a committed entry");
    const auto from = entries.begin() + static_cast<std::ptrdiff_t>(conflict - prev_index - 1);
    append(std::vector<log_entry>(from, entries.end()));
  }
  assert(last_new <= last_index());
  return last_new;
}

index_t raft_log::append(std::vector<log_entry> entries) {
  if (entries.empty()) return last_index();
  const index_t first = entries.front().index;
  assert(first > committed_ && first <= last_index() + 1);
  if (first <= last_index()) ++truncations_;
  if (first == unstable_offset_ + unstable_.size()) {
    // plain append at the end of the unstable tail
  } else if (first <= unstable_offset_) {
    // the new entries replace part of the durable log: the shell truncates it when persisting
    unstable_offset_ = first;
    unstable_.clear();
  } else {
    unstable_.resize(first - unstable_offset_);
  }
  for (auto& e : entries) unstable_.push_back(std::move(e));
  assert(unstable_.front().index == unstable_offset_);
  return last_index();
}

std::vector<log_entry> raft_log::entries(index_t lo, index_t hi, std::uint64_t max_bytes) const {
  std::vector<log_entry> out;
  if (lo >= hi) return out;
  assert(lo >= first_index() && hi <= last_index() + 1);
  std::uint64_t bytes = 0;
  if (lo < unstable_offset_) {
    auto stored = storage_.entries(lo, std::min(hi, unstable_offset_), max_bytes);
    if (!stored) fatal("storage entries() failed:", stored.err().message.c_str());
    out = std::move(*stored);
    for (const auto& e : out) bytes += e.data.size();
    if (out.empty() || out.back().index + 1 < std::min(hi, unstable_offset_)) return out;
  }
  // One allocation for a batch's worth (an AppendEntries, the committed entries handed out) rather
  // than a reallocation and a move of every entry so far at each doubling; capped, since max_bytes
  // may stop the copy long before hi.
  if (const index_t from = std::max(lo, unstable_offset_); from < hi) {
    out.reserve(out.size() + static_cast<std::size_t>(std::min<index_t>(hi - from, 256)));
  }
  for (index_t i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const auto& e = unstable_[i - unstable_offset_];
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

void raft_log::commit_to(index_t index) {
  if (index <= committed_) return;
  if (index > last_index()) fatal("commit beyond the last index");
  committed_ = index;
}

void raft_log::applied_to(index_t index) {
  assert(index <= committed_);
  assert(index >= applied_);
  applied_ = index;
}

void raft_log::compact(index_t index) {
  if (index <= snap_index_) return;
  assert(index <= applied_ && index < unstable_offset_);
  snap_term_ = term(index);
  snap_index_ = index;
}

bool raft_log::install_snapshot(index_t index, term_t t) {
  const bool keep = match_term(index, t);
  if (keep) {
    if (index >= unstable_offset_) {
      unstable_.erase(unstable_.begin(), unstable_.begin() + static_cast<std::ptrdiff_t>(index + 1 - unstable_offset_));
      unstable_offset_ = index + 1;
    }
  } else {
    unstable_.clear();
    unstable_offset_ = index + 1;
  }
  snap_index_ = index;
  snap_term_ = t;
  committed_ = std::max(committed_, index);
  return keep;
}

void raft_log::stable_to(index_t index, term_t t) {
  if (index < unstable_offset_ || index > last_index()) return;
  if (term(index) != t) return;  // replaced by a newer leader's entries meanwhile
  unstable_.erase(unstable_.begin(), unstable_.begin() + static_cast<std::ptrdiff_t>(
                                                              index - unstable_offset_ + 1));
  unstable_offset_ = index + 1;
}

std::vector<log_entry> raft_log::next_committed_entries(index_t handed_out,
                                                        std::size_t max_count) const {
  assert(handed_out >= applied_);
  if (handed_out >= committed_) return {};
  const index_t hi = std::min<index_t>(committed_ + 1, handed_out + 1 + max_count);
  return entries(handed_out + 1, hi, ~std::uint64_t{0});
}

}  // namespace troupe::raft
