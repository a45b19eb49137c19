#pragma once
/// The node's latest knowledge for the status page: written by the node's status collector (an
/// actor), read by the HTTP endpoint's worker threads. Holds plain values; reading makes a
/// node_view snapshot. Thread-safety: every member function may be called from any thread.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/status/status_view.hpp"

namespace troupe::status_page {

struct node_identity {
  std::uint64_t id = 0;
  std::string cluster_id;
  std::string address;
  std::int64_t started_unix_ms = 0;
  /// Every member of the initial configuration (self included): id and address.
  std::vector<std::pair<std::uint64_t, std::string>> members;
};

class status_board {
 public:
  explicit status_board(node_identity identity);

  void set_metrics_address(std::string address);
  /// The transport's view of the connection to `peer` ("up", "connecting", ...).
  void set_peer(std::uint64_t peer, std::string connection, std::uint64_t queued,
                std::uint64_t unacknowledged);
  /// Declares that this node runs a Raft group, so /health needs its status (`note` says what the
  /// page shows until the first one arrives).
  void expect_raft(std::string note);
  /// The raft actor's answer, received at `monotonic_ms` (the caller's steady clock).
  void set_raft(raft::group_status status, std::int64_t monotonic_ms);
  /// The checkpoint runtime's recent checkpoints (oldest first). Until called, the page shows
  /// `note` instead (default: none reported by this node).
  void set_checkpoints(std::vector<checkpoint_view> checkpoints);
  void set_checkpoints_note(std::string note);
  /// Adds or updates (by id) one checkpoint; keeps the last `max_checkpoints`. An update with
  /// started_unix_ms 0 keeps the start time already recorded.
  void record_checkpoint(checkpoint_view checkpoint);
  static constexpr std::size_t max_checkpoints = 20;

  /// A snapshot at the given times (wall clock for display, monotonic for ages).
  node_view view(std::int64_t now_unix_ms, std::int64_t now_monotonic_ms) const;

 private:
  struct peer_state {
    std::string connection = "unknown";
    std::optional<std::uint64_t> queued;
    std::optional<std::uint64_t> unacknowledged;
  };
  const node_identity identity_;
  mutable std::mutex mutex_;  // guards everything below
  std::string metrics_address_;
  std::map<std::uint64_t, peer_state> peers_;
  bool raft_expected_ = false;
  std::string raft_note_ = "this node runs no Raft group";
  std::optional<raft::group_status> raft_;
  std::int64_t raft_received_ms_ = 0;
  std::optional<std::vector<checkpoint_view>> checkpoints_;
  std::string checkpoints_note_ =
      "none reported by this node (the checkpoint coordinator's node lists them)";
};

}  // namespace troupe::status_page
