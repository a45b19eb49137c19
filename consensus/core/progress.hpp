#pragma once
/// The leader's view of one follower's replication (etcd's tracker.Progress, Raft §5.3 nextIndex /
/// matchIndex) with flow control: in the replicate state the leader pipelines AppendEntries with an
/// optimistic next index, bounded by in-flight message count and bytes.

#include <cstddef>
#include <cstdint>
#include <deque>

#include "consensus/core/message.hpp"

namespace troupe::raft {

/// AppendEntries sent but not yet acknowledged, oldest first, bounded by count and payload bytes.
class inflights {
 public:
  inflights(std::size_t max_count, std::uint64_t max_bytes)
      : max_count_(max_count), max_bytes_(max_bytes) {}

  /// Records a message whose last entry is `last_index` carrying `bytes` of payload.
  void add(index_t last_index, std::uint64_t bytes);
  /// Frees every message whose last index is <= `index` (acknowledged).
  void free_le(index_t index);
  void reset() { items_.clear(); bytes_ = 0; }
  bool full() const { return items_.size() >= max_count_ || bytes_ >= max_bytes_; }
  std::size_t count() const { return items_.size(); }
  std::uint64_t bytes() const { return bytes_; }

 private:
  struct item {
    index_t last_index;
    std::uint64_t bytes;
  };
  std::deque<item> items_;
  std::uint64_t bytes_ = 0;
  std::size_t max_count_;
  std::uint64_t max_bytes_;
};

/// The leader's state of one snapshot transfer to one follower (Raft §7, chunked and resumable).
struct snapshot_transfer {
  snapshot_metadata metadata;
  std::uint64_t size = 0;
  std::uint64_t sent = 0;   ///< the next offset to send
  std::uint64_t acked = 0;  ///< bytes the follower holds durably
  std::deque<std::uint64_t> in_flight;  ///< end offsets of chunks sent and not yet acknowledged
  bool last_sent = false;   ///< the `done` chunk went out (and is not known lost)
  bool received = false;    ///< the follower holds it all and restores it: wait, never resend
  std::uint32_t idle_heartbeats = 0;  ///< heartbeat answers since the last snapshot answer
};

class progress {
 public:
  /// probe: one AppendEntries at a time until a match is found; replicate: pipelined sends;
  /// snapshot: the follower needs compacted entries and receives a snapshot (no AppendEntries).
  enum class state : std::uint8_t { probe, replicate, snapshot };

  progress(index_t next, std::size_t max_inflight_count, std::uint64_t max_inflight_bytes)
      : next_(next), inflights_(max_inflight_count, max_inflight_bytes) {}

  index_t match() const { return match_; }
  index_t next() const { return next_; }
  enum state state() const { return state_; }
  bool recent_active() const { return recent_active_; }
  void set_recent_active(bool v) { recent_active_ = v; }
  const inflights& in_flight() const { return inflights_; }

  /// No AppendEntries may be sent now (probe already outstanding, or the window is full).
  bool paused() const;

  /// Records an AppendEntries carrying entries up to `last_index` (optimistically advancing next in
  /// replicate state) with `bytes` of payload, or a probe without entries.
  void sent_entries(index_t last_index, std::uint64_t bytes, bool had_entries);
  /// A heartbeat answer arrived: a paused probe may send again (etcd's MsgHeartbeatResp rule).
  void heartbeat_answered() { probe_sent_ = false; }

  /// Success answer up to `index`. Returns whether match advanced (etcd's MaybeUpdate).
  bool maybe_update(index_t index);
  /// Rejection of prev_log_index `rejected`, with the leader-computed next probe index `hint`.
  /// Returns false for a stale rejection (etcd's MaybeDecrTo).
  bool maybe_decrease_to(index_t rejected, index_t hint);

  void become_probe();
  void become_replicate();
  void become_snapshot(snapshot_metadata metadata, std::uint64_t size);
  snapshot_transfer& transfer() { return transfer_; }
  const snapshot_transfer& transfer() const { return transfer_; }

 private:
  index_t match_ = 0;
  index_t next_;
  enum state state_ = state::probe;
  bool probe_sent_ = false;
  bool recent_active_ = false;
  inflights inflights_;
  snapshot_transfer transfer_;
};

}  // namespace troupe::raft
