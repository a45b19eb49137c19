#include "runtime/status/status_board.hpp"

#include "consensus/core/membership.hpp"

#include <algorithm>
#include <utility>

namespace troupe::status_page {

status_board::status_board(node_identity identity) : identity_(std::move(identity)) {}

void status_board::set_metrics_address(std::string address) {
  std::lock_guard lock(mutex_);
  metrics_address_ = std::move(address);
}

void status_board::set_peer(std::uint64_t peer, std::string connection, std::uint64_t queued,
                            std::uint64_t unacknowledged) {
  std::lock_guard lock(mutex_);
  peers_[peer] = {std::move(connection), queued, unacknowledged};
}

void status_board::expect_raft(std::string note) {
  std::lock_guard lock(mutex_);
  raft_expected_ = true;
  raft_note_ = std::move(note);
}

void status_board::set_raft(raft::group_status status, std::int64_t monotonic_ms) {
  std::lock_guard lock(mutex_);
  raft_ = std::move(status);
  raft_received_ms_ = monotonic_ms;
}

void status_board::set_checkpoints(std::vector<checkpoint_view> checkpoints) {
  std::lock_guard lock(mutex_);
  checkpoints_ = std::move(checkpoints);
}

void status_board::set_checkpoints_note(std::string note) {
  std::lock_guard lock(mutex_);
  checkpoints_note_ = std::move(note);
}

void status_board::record_checkpoint(checkpoint_view checkpoint) {
  std::lock_guard lock(mutex_);
  if (!checkpoints_) checkpoints_.emplace();
  auto& list = *checkpoints_;
  auto it = std::find_if(list.begin(), list.end(),
                         [&](const checkpoint_view& c) { return c.id == checkpoint.id; });
  if (it != list.end()) {
    if (checkpoint.started_unix_ms == 0) checkpoint.started_unix_ms = it->started_unix_ms;
    *it = std::move(checkpoint);
    return;
  }
  list.push_back(std::move(checkpoint));
  if (list.size() > max_checkpoints) list.erase(list.begin());
}

node_view status_board::view(std::int64_t now_unix_ms, std::int64_t now_monotonic_ms) const {
  node_view v;
  v.id = identity_.id;
  v.cluster_id = identity_.cluster_id;
  v.address = identity_.address;
  v.started_unix_ms = identity_.started_unix_ms;
  v.now_unix_ms = now_unix_ms;
  std::lock_guard lock(mutex_);
  v.metrics_address = metrics_address_;
  // The configuration in effect, as the raft actor last reported it (members join and leave at run
  // time); before its first report, or when it has none, the configuration the node started with.
  std::vector<std::pair<std::uint64_t, std::string>> members = identity_.members;
  if (raft_ && !raft::members_of(raft_->node.membership).empty()) {
    members.clear();
    for (auto id : raft::members_of(raft_->node.membership)) {
      std::string address;
      if (const auto* a = raft::address_of(raft_->node.membership, id); a != nullptr) {
        address = *a;
      } else {
        for (auto& [known, text] : identity_.members) {
          if (known == id) address = text;
        }
      }
      members.emplace_back(id, std::move(address));
    }
  }
  for (auto& [id, address] : members) {
    member_view m;
    m.id = id;
    m.address = address;
    m.self = id == identity_.id;
    if (m.self) {
      m.connection = "self";
    } else if (auto it = peers_.find(id); it != peers_.end()) {
      m.connection = it->second.connection;
      m.queued = it->second.queued;
      m.unacknowledged = it->second.unacknowledged;
    }
    v.members.push_back(std::move(m));
  }
  std::sort(v.members.begin(), v.members.end(),
            [](const member_view& a, const member_view& b) { return a.id < b.id; });
  v.raft_expected = raft_expected_;
  v.raft = raft_;
  v.raft_age_ms = raft_ ? std::max<std::int64_t>(0, now_monotonic_ms - raft_received_ms_) : 0;
  v.raft_note = raft_note_;
  v.checkpoints = checkpoints_;
  v.checkpoints_note = checkpoints_note_;
  return v;
}

}  // namespace troupe::status_page
