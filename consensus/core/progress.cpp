#include "consensus/core/progress.hpp"

#include <algorithm>
#include <cassert>

namespace troupe::raft {

void inflights::add(index_t last_index, std::uint64_t bytes) {
  assert(items_.empty() || items_.back().last_index <= last_index);
  items_.push_back({last_index, bytes});
  bytes_ += bytes;
}

void inflights::free_le(index_t index) {
  while (!items_.empty() && items_.front().last_index <= index) {
    assert(bytes_ >= items_.front().bytes);
    bytes_ -= items_.front().bytes;
    items_.pop_front();
  }
}

bool progress::paused() const {
  switch (state_) {
    case state::probe: return probe_sent_;
    case state::replicate: return inflights_.full();
    case state::snapshot: return true;  // AppendEntries wait until the snapshot is installed
  }
  return false;
}

void progress::sent_entries(index_t last_index, std::uint64_t bytes, bool had_entries) {
  if (state_ == state::replicate) {
    if (had_entries) {
      assert(last_index + 1 >= next_);
      next_ = last_index + 1;  // optimistic: assume it will be accepted
      inflights_.add(last_index, bytes);
    }
  } else {
    probe_sent_ = true;  // wait for an answer (or a heartbeat answer) before probing again
  }
}

bool progress::maybe_update(index_t index) {
  bool updated = false;
  if (index > match_) {
    match_ = index;
    updated = true;
    probe_sent_ = false;
  }
  next_ = std::max(next_, index + 1);
  inflights_.free_le(index);
  assert(next_ > match_);
  return updated;
}

bool progress::maybe_decrease_to(index_t rejected, index_t hint) {
  if (state_ == state::replicate) {
    // A rejection at or below match is stale (it answers an earlier message).
    if (rejected <= match_) return false;
    become_probe();
    return true;
  }
  // In probe only the answer to the current probe (prev index next - 1) counts.
  if (next_ == 0 || next_ - 1 != rejected) return false;
  next_ = std::max<index_t>(std::min(rejected, hint + 1), match_ + 1);
  probe_sent_ = false;
  assert(next_ >= 1);
  return true;
}

void progress::become_snapshot(snapshot_metadata metadata, std::uint64_t size) {
  state_ = state::snapshot;
  probe_sent_ = false;
  inflights_.reset();
  transfer_ = snapshot_transfer{};
  transfer_.metadata = std::move(metadata);
  transfer_.size = size;
}

void progress::become_probe() {
  transfer_ = snapshot_transfer{};
  state_ = state::probe;
  probe_sent_ = false;
  inflights_.reset();
  next_ = match_ + 1;  // resume right after what is known to match
}

void progress::become_replicate() {
  transfer_ = snapshot_transfer{};
  state_ = state::replicate;
  probe_sent_ = false;
  inflights_.reset();
  next_ = match_ + 1;
}

}  // namespace troupe::raft
