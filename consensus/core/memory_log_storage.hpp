#pragma once
/// In-memory `log_storage` with fault injection, for unit, scenario and simulation tests.
///
/// It keeps two copies: what the process sees (every write) and what a disk would keep (writes up to
/// the last successful sync). `crash()` drops every unsynced write, as a power loss would; a sync can
/// be made to fail. Not thread-safe.

#include <cstdint>
#include <vector>

#include "consensus/core/log_storage.hpp"

namespace troupe::raft {

class memory_log_storage final : public log_storage {
 public:
  memory_log_storage() = default;

  result<hard_state> initial_hard_state() const override;
  index_t first_index() const override;
  index_t last_index() const override;
  result<term_t> term(index_t index) const override;
  result<std::vector<log_entry>> entries(index_t lo, index_t hi,
                                         std::uint64_t max_bytes) const override;
  status append(std::span<const log_entry> entries) override;
  status set_hard_state(const hard_state& hs) override;
  status sync() override;
  snapshot_metadata last_snapshot() const override { return live_.snapshot; }
  status apply_snapshot(const snapshot_metadata& meta) override;

  // ---- fault injection (tests only) ----

  /// A power loss: every write since the last successful sync() is gone.
  void crash();
  /// The next `count` sync() calls fail with errc::io and make nothing durable.
  void fail_next_syncs(int count) { failing_syncs_ = count; }
  /// True when writes are pending a sync.
  bool has_unsynced_writes() const { return unsynced_; }

  // ---- inspection (tests only) ----
  const std::vector<log_entry>& visible_entries() const { return live_.entries; }
  const std::vector<log_entry>& durable_entries() const { return durable_.entries; }
  const hard_state& durable_hard_state() const { return durable_.hard; }
  std::uint64_t sync_count() const { return sync_count_; }

 private:
  struct image {
    hard_state hard;
    snapshot_metadata snapshot;      ///< the log starts after it
    std::vector<log_entry> entries;  ///< entries[i].index == snapshot.last_index + 1 + i
  };
  image live_;
  image durable_;
  bool unsynced_ = false;
  int failing_syncs_ = 0;
  std::uint64_t sync_count_ = 0;
};

}  // namespace troupe::raft
