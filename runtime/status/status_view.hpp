#pragma once
/// What the status page shows: one node's view of its cluster, as plain values. Filled by the node
/// (status_board), rendered by status_render.hpp into /status.json, /status.txt and /status (HTML),
/// judged by `judge_health` for /health. No CAF, no I/O, no clock: times are passed in.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "consensus/actor/group_status.hpp"

namespace troupe::status_page {

/// One member of the cluster as this node sees it.
struct member_view {
  std::uint64_t id = 0;
  std::string address;      ///< host:port as configured
  bool self = false;
  /// "self" for this node; else the transport's connection state ("up", "connecting",
  /// "handshaking", "disconnected"), or "unknown" before the transport answered.
  std::string connection = "unknown";
  std::optional<std::uint64_t> queued;          ///< messages waiting in the lane queues to it
  std::optional<std::uint64_t> unacknowledged;  ///< application messages not yet acknowledged
};

/// A checkpoint as the checkpoint runtime reports it.
struct checkpoint_view {
  std::uint64_t id = 0;
  std::int64_t started_unix_ms = 0;
  std::optional<double> duration_seconds;  ///< unset while in progress
  std::string outcome;                     ///< "in_progress", "completed", "aborted: <reason>"
  std::uint64_t written_bytes = 0;
  std::uint64_t recorded_messages = 0;
};

struct node_view {
  std::uint64_t id = 0;
  std::string cluster_id;
  std::string address;          ///< advertised peer/client address
  std::string metrics_address;  ///< where this page is served
  std::int64_t now_unix_ms = 0;
  std::int64_t started_unix_ms = 0;
  std::vector<member_view> members;  ///< the initial configuration, self included, by id

  /// Whether this node runs a Raft group at all. When it does, /health requires `raft`.
  bool raft_expected = false;
  /// The raft actor's last answer; unset until the first one (see `raft_note`).
  std::optional<raft::group_status> raft;
  /// How old `raft` is, in milliseconds (the gatherer's monotonic clock).
  std::int64_t raft_age_ms = 0;
  /// Why `raft` is unset (shown instead of the table).
  std::string raft_note;

  /// Recent checkpoints, oldest first; unset while nothing reports them (see `checkpoints_note`).
  std::optional<std::vector<checkpoint_view>> checkpoints;
  std::string checkpoints_note;  ///< why `checkpoints` is unset
};

/// The answer /health gives.
struct health_verdict {
  bool healthy = false;
  std::string reason;  ///< one line, no newline: "ok: leader 2, term 5", "no leader known ..."
};

/// Raft status older than this makes the node unhealthy: its raft actor is stuck or gone.
inline constexpr std::int64_t raft_status_stale_ms = 5000;

/// Healthy while the node knows a leader and its storage works (and, when it runs no Raft group,
/// always). Pure.
health_verdict judge_health(const node_view& view);

}  // namespace troupe::status_page
