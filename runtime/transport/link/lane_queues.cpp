#include "runtime/transport/link/lane_queues.hpp"

#include <cassert>
#include <string>

namespace troupe::link {
namespace {

// The lanes served by deficit round robin, in visiting order.
constexpr std::array<lane, 3> round_robin_lanes{lane::raft_bulk, lane::application, lane::client};

}  // namespace

status lane_config::validate() const {
  for (std::size_t i = 0; i < lane_count; ++i) {
    const auto name = std::string(to_string(static_cast<lane>(i)));
    if (limits[i].max_messages == 0 || limits[i].max_bytes == 0)
      return make_error(errc::invalid_argument, "lane " + name + ": limits must be non-zero");
  }
  for (lane l : round_robin_lanes) {
    if (quantum_bytes[index_of(l)] == 0)
      return make_error(errc::invalid_argument, "lane " + std::string(to_string(l)) +
                                                    ": round-robin quantum must be non-zero");
  }
  if (control_burst_frames == 0)
    return make_error(errc::invalid_argument, "control_burst_frames must be non-zero");
  return status::success();
}

// ---- lane_queues --------------------------------------------------------------------------------

lane_queues::lane_queues(const lane_config& config) : config_(config) {}

result<send_outcome> lane_queues::push(lane l, outbound_message m) {
  if (l == lane::application)
    return make_error(errc::invalid_argument,
                      "the application lane is queued by the reliable sender, not lane_queues");
  const std::size_t i = index_of(l);
  const lane_limits& lim = config_.limits[i];
  const std::size_t bytes = charged_bytes(m);
  if (bytes > lim.max_bytes)
    return make_error(errc::too_large, "message of " + std::to_string(bytes) +
                                           " bytes exceeds lane " + std::string(to_string(l)) +
                                           "'s bound of " + std::to_string(lim.max_bytes));
  auto fits = [&] {
    return queues_[i].size() < lim.max_messages && bytes_[i] <= lim.max_bytes - bytes;
  };
  send_outcome outcome = send_outcome::queued;
  if (!fits()) {
    switch (policy_of(l)) {
      case overflow_policy::drop_oldest:
        // A newer control message supersedes older ones; Raft re-sends what matters.
        while (!fits()) {
          assert(!queues_[i].empty());  // bytes <= max_bytes, so an empty queue always fits
          bytes_[i] -= queues_[i].front().bytes;
          queues_[i].pop_front();
          ++dropped_[i];
        }
        outcome = send_outcome::queued_evicted;
        break;
      case overflow_policy::drop_newest:
        ++dropped_[i];
        return send_outcome::dropped;
      case overflow_policy::reject_busy:
        return make_error(errc::busy, "lane " + std::string(to_string(l)) + " full (" +
                                          std::to_string(queues_[i].size()) + " messages, " +
                                          std::to_string(bytes_[i]) + " bytes)");
    }
  }
  queues_[i].push_back(entry{std::move(m), bytes});
  bytes_[i] += bytes;
  return outcome;
}

std::optional<std::size_t> lane_queues::head_bytes(lane l) const noexcept {
  const auto& q = queues_[index_of(l)];
  if (q.empty()) return std::nullopt;
  return q.front().bytes;
}

outbound_message lane_queues::pop(lane l) {
  auto& q = queues_[index_of(l)];
  assert(!q.empty());
  entry e = std::move(q.front());
  q.pop_front();
  bytes_[index_of(l)] -= e.bytes;
  return std::move(e.message);
}

std::size_t lane_queues::clear(lane l) noexcept {
  const std::size_t i = index_of(l);
  const std::size_t n = queues_[i].size();
  queues_[i].clear();
  bytes_[i] = 0;
  dropped_[i] += n;
  return n;
}

status lane_queues::check_invariants() const {
  for (std::size_t i = 0; i < lane_count; ++i) {
    std::size_t bytes = 0;
    for (const auto& e : queues_[i]) bytes += e.bytes;
    const auto name = std::string(to_string(static_cast<lane>(i)));
    if (bytes != bytes_[i])
      return make_error(errc::internal, "lane_queues invariant: byte count drifted on " + name);
    if (queues_[i].size() > config_.limits[i].max_messages || bytes > config_.limits[i].max_bytes)
      return make_error(errc::internal, "lane_queues invariant: bound exceeded on " + name);
  }
  return status::success();
}

// ---- lane_scheduler -----------------------------------------------------------------------------

lane_scheduler::lane_scheduler(const lane_config& config) : config_(config) {}

std::optional<lane> lane_scheduler::pick(
    const std::array<std::optional<std::size_t>, lane_count>& head_bytes) {
  const bool control_waiting = head_bytes[index_of(lane::raft_control)].has_value();
  bool others_waiting = false;
  for (lane l : round_robin_lanes) others_waiting |= head_bytes[index_of(l)].has_value();

  // Strict priority for Raft control (a heartbeat must not wait behind a snapshot), but after a
  // burst of control frames one round-robin frame gets a turn, so a steady stream of control
  // traffic cannot starve everything else.
  if (control_waiting && (!others_waiting || control_run_ < config_.control_burst_frames)) {
    ++control_run_;
    return lane::raft_control;
  }
  control_run_ = 0;
  return pick_round_robin(head_bytes);
}

std::optional<lane> lane_scheduler::pick_round_robin(
    const std::array<std::optional<std::size_t>, lane_count>& head_bytes) {
  bool any = false;
  for (lane l : round_robin_lanes) any |= head_bytes[index_of(l)].has_value();
  if (!any) {
    // Idle: nobody keeps credit (deficit round robin resets an empty lane's deficit).
    deficit_.fill(0);
    current_charged_ = false;
    return std::nullopt;
  }
  // Each full rotation adds a quantum to every waiting lane, so this ends once some lane's credit
  // covers its head frame: at most (largest head / smallest quantum + 1) rotations.
  for (;;) {
    const lane l = round_robin_lanes[current_];
    const std::size_t i = index_of(l);
    if (!head_bytes[i]) {
      deficit_[i] = 0;
    } else {
      if (!current_charged_) {
        deficit_[i] += config_.quantum_bytes[i];
        current_charged_ = true;
      }
      if (*head_bytes[i] <= deficit_[i]) {
        deficit_[i] -= *head_bytes[i];
        return l;  // stay on this lane: its remaining credit serves the next pick
      }
    }
    current_ = (current_ + 1) % round_robin_lanes.size();
    current_charged_ = false;
  }
}

}  // namespace troupe::link
