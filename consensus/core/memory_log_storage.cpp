#include "consensus/core/memory_log_storage.hpp"

#include <cassert>
#include <string>

namespace troupe::raft {

result<hard_state> memory_log_storage::initial_hard_state() const { return live_.hard; }

index_t memory_log_storage::first_index() const { return live_.snapshot.last_index + 1; }

index_t memory_log_storage::last_index() const { return live_.snapshot.last_index + live_.entries.size(); }

result<term_t> memory_log_storage::term(index_t index) const {
  if (index == 0) return term_t{0};
  if (index == live_.snapshot.last_index) return live_.snapshot.last_term;
  if (index > last_index() || index < first_index()) {
    return make_error(errc::not_found, "term: index " + std::to_string(index) + " unavailable");
  }
  const auto& e = live_.entries[index - first_index()];
  assert(e.index == index);
  return e.term;
}

result<std::vector<log_entry>> memory_log_storage::entries(index_t lo, index_t hi,
                                                           std::uint64_t max_bytes) const {
  if (auto st = check_entries_range(lo, hi, first_index(), last_index()); !st) return st.err();
  std::vector<log_entry> out;
  std::uint64_t bytes = 0;
  for (index_t i = lo; i < hi; ++i) {
    const auto& e = live_.entries[i - first_index()];
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

status memory_log_storage::append(std::span<const log_entry> entries) {
  if (entries.empty()) return {};
  const index_t first = entries.front().index;
  if (first < first_index() || first > last_index() + 1) {
    return make_error(errc::invalid_argument, "append: gap before index " + std::to_string(first));
  }
  for (std::size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].index != first + i) {
      return make_error(errc::invalid_argument, "append: entries not consecutive");
    }
  }
  // Raft §5.3: delete the existing entry that conflicts and all that follow it.
  live_.entries.resize(first - first_index());
  live_.entries.insert(live_.entries.end(), entries.begin(), entries.end());
  unsynced_ = true;
  assert(live_.entries.back().index == last_index());
  return {};
}

status memory_log_storage::apply_snapshot(const snapshot_metadata& meta) {
  if (meta.last_index + 1 < first_index()) return {};  // older than what we hold
  auto held = term(meta.last_index);
  if (held && *held == meta.last_term && meta.last_index <= last_index()) {
    // Figure 13, step 6: the log holds the snapshot's last entry: keep what follows it.
    live_.entries.erase(live_.entries.begin(),
                        live_.entries.begin() + static_cast<std::ptrdiff_t>(meta.last_index + 1 - first_index()));
  } else {
    live_.entries.clear();  // step 7: discard the entire log
  }
  live_.snapshot = meta;
  unsynced_ = true;
  return {};
}

status memory_log_storage::set_hard_state(const hard_state& hs) {
  assert(hs.term >= live_.hard.term);  // terms never go back (Raft Figure 2)
  live_.hard = hs;
  unsynced_ = true;
  return {};
}

status memory_log_storage::sync() {
  if (failing_syncs_ > 0) {
    --failing_syncs_;
    return make_error(errc::io, "sync: injected failure");
  }
  durable_ = live_;
  unsynced_ = false;
  ++sync_count_;
  return {};
}

void memory_log_storage::crash() {
  live_ = durable_;
  unsynced_ = false;
}

}  // namespace troupe::raft
