#pragma once
/// Per-peer lane queues and the writer's lane choice. Pure: no I/O, no clock.
///
/// Policies (README.md "Lanes"):
/// - raft_control: bounded; when full the OLDEST queued message is dropped and counted (a newer
///   heartbeat or vote supersedes an older one; Raft retries). Strict priority in the writer, up to
///   `control_burst_frames` frames in a row, so the other lanes are never starved completely.
/// - raft_bulk: bounded; when full the NEW message is dropped and counted (keeps an in-progress
///   snapshot transfer in order; the Raft shell re-sends after its timeout).
/// - application: its queue is the retransmit buffer (reliable_lane.hpp): when full, send returns
///   errc::busy and takes nothing; never dropped.
/// - client: bounded; when full, send returns errc::busy and takes nothing (the service answers the
///   client "busy" or the client times out and retries: client requests are idempotent by
///   (client id, sequence)). Queued client frames die with their connection (clients retry).
/// Among raft_bulk, application and client the writer uses deficit round robin with a byte quantum
/// per lane, so a lane with small messages is not starved by one with large ones and vice versa.
///
/// Ownership: owned by peer_link (one per peer). Not thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "runtime/base/result.hpp"
#include "runtime/transport/link/frame.hpp"
#include "runtime/transport/link/outbound.hpp"

namespace troupe::link {

/// What a full lane does with one more message.
enum class overflow_policy : std::uint8_t {
  drop_oldest,  ///< take the new one, drop the oldest queued (raft_control)
  drop_newest,  ///< drop the new one (raft_bulk)
  reject_busy,  ///< take nothing, return errc::busy (application, client)
};
constexpr overflow_policy policy_of(lane l) noexcept {
  switch (l) {
    case lane::raft_control:
      return overflow_policy::drop_oldest;
    case lane::raft_bulk:
      return overflow_policy::drop_newest;
    case lane::application:
      return overflow_policy::reject_busy;
    case lane::client:
      return overflow_policy::reject_busy;
  }
  return overflow_policy::reject_busy;
}

/// A lane's bound by count and by charged_bytes().
struct lane_limits {
  std::size_t max_messages = 0;
  std::size_t max_bytes = 0;
};

/// Bounds and weights of all lanes (indexed by index_of(lane)).
struct lane_config {
  std::array<lane_limits, lane_count> limits{{
      {4096, 4u << 20},    // raft_control
      {1024, 64u << 20},   // raft_bulk
      {65536, 64u << 20},  // application (= the retransmit buffer's limits)
      {4096, 16u << 20},   // client
  }};
  /// Deficit round robin quantum in bytes per visit; raft_control's entry is unused.
  std::array<std::size_t, lane_count> quantum_bytes{{0, 32u << 10, 64u << 10, 32u << 10}};
  /// raft_control frames written in a row before one round-robin frame gets a turn (if any waits).
  std::uint32_t control_burst_frames = 64;

  /// Errors: errc::invalid_argument when a limit or a round-robin quantum is zero.
  status validate() const;
};

/// What happened to a message handed to a raft or client lane (application: see reliable_sender).
enum class send_outcome : std::uint8_t {
  queued,          ///< queued; will be written
  queued_evicted,  ///< queued; the lane's oldest message was dropped to make room (raft_control)
  dropped,         ///< the lane was full and this message was dropped (raft_bulk)
};

/// Bounded FIFO queues for the lanes that are not sequenced (raft_control, raft_bulk, client).
class lane_queues {
 public:
  explicit lane_queues(const lane_config& config = {});

  /// Queues `m` on `l` under the lane's policy. Errors (and `m` is not taken): errc::busy
  /// (client lane full), errc::too_large (`m` alone exceeds the lane's max_bytes),
  /// errc::invalid_argument (`l` is application: that lane is the reliable_sender's).
  result<send_outcome> push(lane l, outbound_message m);

  /// charged_bytes of the next message of `l`, or nullopt when `l` is empty (application: nullopt).
  std::optional<std::size_t> head_bytes(lane l) const noexcept;
  /// Removes and returns the next message of `l`. Precondition: head_bytes(l) has a value.
  outbound_message pop(lane l);
  /// Drops everything queued on `l` (counted as dropped); returns how many.
  std::size_t clear(lane l) noexcept;

  std::size_t queued_messages(lane l) const noexcept { return queues_[index_of(l)].size(); }
  std::size_t queued_bytes(lane l) const noexcept { return bytes_[index_of(l)]; }
  /// Messages dropped by the overflow policy or by clear(), since construction.
  std::uint64_t dropped_total(lane l) const noexcept { return dropped_[index_of(l)]; }

  /// Byte counts exact and bounds held on every lane. Errors: errc::internal.
  status check_invariants() const;

 private:
  struct entry {
    outbound_message message;
    std::size_t bytes = 0;
  };
  lane_config config_;
  std::array<std::deque<entry>, lane_count> queues_;
  std::array<std::size_t, lane_count> bytes_{};
  std::array<std::uint64_t, lane_count> dropped_{};
};

/// Picks the lane of the next frame: raft_control by strict priority (bounded by
/// control_burst_frames), then deficit round robin over raft_bulk, application, client.
class lane_scheduler {
 public:
  explicit lane_scheduler(const lane_config& config = {});

  /// `head_bytes[i]`: the size of the next frame of lane i, nullopt when it has none. Returns the
  /// lane to write next (the caller then writes exactly that lane's head), or nullopt when all are
  /// empty. Deterministic: the same sequence of inputs gives the same choices.
  std::optional<lane> pick(const std::array<std::optional<std::size_t>, lane_count>& head_bytes);

 private:
  std::optional<lane> pick_round_robin(
      const std::array<std::optional<std::size_t>, lane_count>& head_bytes);

  lane_config config_;
  std::uint32_t control_run_ = 0;  ///< raft_control frames picked in a row
  std::size_t current_ = 0;        ///< index into round_robin_lanes of the lane being served
  std::array<std::size_t, lane_count> deficit_{};
  bool current_charged_ = false;  ///< whether current_ got its quantum on this visit
};

}  // namespace troupe::link
