#pragma once
/// An in-memory checkpoint store for the simulation and tests (STYLE.md: each protocol's store has
/// a SQLite and an in-memory, fault-injecting implementation). Same rules as the SQLite store
/// (rules.hpp: what save accepts, manifests, retention, refusals) and the same contract tests;
/// no I/O, nothing survives the object. Faults, injected by the test:
/// - `fail_next_saves(n)`: the next n saves fail with errc::io and store nothing, as a SQLite save
///   whose commit failed (disk full, failed fsync);
/// - `damage(id, participant)`: that participant's local state reads back damaged, so load fails
///   with errc::corrupt naming the checkpoint and participant, as a bad checksum does.
/// Thread-safety: one thread at a time, like every store.

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "snapshot/store/checkpoint_store.hpp"

namespace troupe::checkpoint::store {

class memory_checkpoint_store final : public checkpoint_store {
 public:
  explicit memory_checkpoint_store(retention keep = {}) : keep_(keep) {}

  status save(const global_state& state, const checkpoint_metadata& meta) override;
  result<std::vector<checkpoint_summary>> list() override;
  result<checkpoint_id> highest_id() override;
  result<manifest> show(checkpoint_id id) override;
  result<global_state> load(checkpoint_id id) override;
  status remove(checkpoint_id id) override;
  status keep_last(std::size_t complete) override;
  const retention& kept() const noexcept override { return keep_; }

  void fail_next_saves(std::uint64_t count) noexcept { saves_to_fail_ = count; }
  void damage(checkpoint_id id, participant_id participant);

 private:
  struct entry {
    manifest stored;
    global_state state;  // empty unless the checkpoint is complete
    std::set<participant_id> damaged;
  };
  void apply_retention();

  std::map<checkpoint_id, entry> entries_;
  retention keep_;
  std::uint64_t saves_to_fail_ = 0;
  checkpoint_id highest_ = 0;  ///< the highest id ever stored: deleting it does not lower it
};

}  // namespace troupe::checkpoint::store
