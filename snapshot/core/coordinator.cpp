#include "snapshot/core/coordinator.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <string>
#include <utility>

namespace troupe::checkpoint {

namespace {

std::string id_text(std::uint64_t id) {
  return std::to_string(id);
}

}  // namespace

coordinator::coordinator(coordinator_config config) : config_(config) {
  assert(config_.in_flight_max > 0 && config_.timeout_ticks > 0);
}

result<coordinator_output> coordinator::start(checkpoint_id id, participant_id initiator,
                                              const std::vector<participant_id>& participants,
                                              std::uint64_t now_ticks) {
  if (id <= last_started_) {
    // Ids are epochs: an envelope stamped with epoch e claims its sender recorded every id <= e it
    // will ever record, which holds only if ids grow (message.hpp).
    return make_error(errc::invalid_argument, "checkpoint id " + id_text(id) +
                                                  " is not above the last started id " +
                                                  id_text(last_started_));
  }
  if (participants.empty()) {
    return make_error(errc::invalid_argument, "a checkpoint needs at least one participant");
  }
  std::vector<participant_id> members(participants.begin(), participants.end());
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  if (members.front() == no_participant) {  // ascending: 0 would be first
    return make_error(errc::invalid_argument, "participant id 0 is reserved");
  }
  if (!std::binary_search(members.begin(), members.end(), initiator)) {
    return make_error(errc::invalid_argument,
                      "initiator " + id_text(initiator) + " is not a participant");
  }
  if (pending_.size() >= config_.in_flight_max) {
    return make_error(errc::busy, id_text(pending_.size()) + " checkpoints already in flight");
  }
  if (config_.mode == initiation::ask_initiator) {
    // Markers of checkpoints from two initiators can reach a participant in either order, and one
    // that records the later first must give the earlier up (README.md "out of order"). From one
    // initiator they arrive in id order on every path.
    for (const auto& [other, p] : pending_) {
      if (p.initiator != initiator) {
        return make_error(errc::busy, "checkpoint " + id_text(other) + " from initiator " +
                                          id_text(p.initiator) +
                                          " is in flight: with ask_initiator, overlapping "
                                          "checkpoints must share their initiator");
      }
    }
  }
  last_started_ = id;
  pending p;
  p.initiator = initiator;
  p.participants = std::move(members);
  p.reported.assign(p.participants.size(), false);
  p.started_tick = now_ticks;
  p.deadline_tick = now_ticks + config_.timeout_ticks;
  p.state.id = id;
  p.state.initiator = initiator;
  coordinator_output out;
  const checkpoint_command take{id, initiator, command_kind::take, checkpoint_status::ok};
  if (config_.mode == initiation::ask_all) {
    for (auto member : p.participants) out.commands.push_back({member, take});
  } else {
    out.commands.push_back({initiator, take});
  }
  pending_.emplace(id, std::move(p));
  return out;
}

std::optional<std::size_t> coordinator::pending::index_of(participant_id p) const {
  const auto found = std::lower_bound(participants.begin(), participants.end(), p);
  if (found == participants.end() || *found != p) return std::nullopt;
  return static_cast<std::size_t>(found - participants.begin());
}

coordinator_output coordinator::on_report(participant_report report, std::uint64_t now_ticks) {
  coordinator_output out;
  auto it = pending_.find(report.id);
  if (it == pending_.end()) return out;  // finished already: a late echo
  auto& p = it->second;
  const auto reporter = p.index_of(report.participant);
  if (!reporter) return out;  // not a member: ignore
  if (report.status != checkpoint_status::ok) {
    finish(report.id, report.status,
           "participant " + id_text(report.participant) + ": " + report.detail, now_ticks, out);
    return out;
  }
  const bool all_were_in = p.full_reports == p.participants.size();
  if (report.kind == report_kind::full) {
    if (p.reported[*reporter]) return out;  // duplicate
    p.reported[*reporter] = true;
    ++p.full_reports;
    p.bytes += report.local_state.size();
    p.arrived_states.emplace_back(report.participant, std::move(report.local_state));
    for (auto to : report.markers_sent_to) {
      // A channel to a non-member is outside the checkpoint (start() requires there be none).
      if (p.is_member(to)) p.marked.push_back({report.participant, to});
    }
  }
  for (auto& channel : report.channels) {
    if (!p.is_member(channel.from)) continue;
    const channel_id c{channel.from, report.participant};
    p.messages += channel.messages.size();
    for (const auto& m : channel.messages) p.bytes += m.payload.size();
    if (!all_were_in) {
      p.arrived_channels.emplace_back(c, std::move(channel.messages));
      continue;
    }
    auto [entry, added] = p.state.channels.try_emplace(c, std::move(channel.messages));
    if (!added) {
      entry->second.insert(entry->second.end(), std::make_move_iterator(channel.messages.begin()),
                           std::make_move_iterator(channel.messages.end()));
    }
    p.awaited_channels.erase(c);
  }
  if (!all_were_in && p.full_reports == p.participants.size()) assemble(p);
  if (complete(p)) finish(report.id, checkpoint_status::ok, {}, now_ticks, out);
  return out;
}

coordinator_output coordinator::on_tick(std::uint64_t now_ticks) {
  coordinator_output out;
  std::vector<checkpoint_id> expired;
  for (const auto& [id, p] : pending_) {
    if (now_ticks >= p.deadline_tick) expired.push_back(id);
  }
  for (auto id : expired) {
    const auto& p = pending_.at(id);
    finish(id, checkpoint_status::timeout,
           "not complete after " + id_text(config_.timeout_ticks) +
               " ticks: " + id_text(p.full_reports) + " of " +
               id_text(p.participants.size()) + " participants reported",
           now_ticks, out);
  }
  return out;
}

coordinator_output coordinator::on_participant_lost(participant_id lost, std::uint64_t now_ticks) {
  coordinator_output out;
  std::vector<checkpoint_id> affected;
  for (const auto& [id, p] : pending_) {
    if (p.is_member(lost)) affected.push_back(id);
  }
  for (auto id : affected) {
    finish(id, checkpoint_status::peer_lost, "participant " + id_text(lost) + " lost", now_ticks,
           out);
  }
  return out;
}

coordinator_output coordinator::abort(checkpoint_id id, std::uint64_t now_ticks) {
  coordinator_output out;
  if (pending_.contains(id)) {
    finish(id, checkpoint_status::aborted_by_request, "aborted on request", now_ticks, out);
  }
  return out;
}

std::vector<checkpoint_id> coordinator::in_flight() const {
  std::vector<checkpoint_id> ids;
  for (const auto& [id, p] : pending_) ids.push_back(id);
  return ids;
}

void coordinator::assemble(pending& p) {
  // Member ids are unique among full reports (duplicates are dropped), so the states' keys are.
  std::sort(p.arrived_states.begin(), p.arrived_states.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [member, local] : p.arrived_states) {
    p.state.local_states.emplace_hint(p.state.local_states.end(), member, std::move(local));
  }
  // A channel reported twice keeps its messages in the order they came (stable), as appended.
  std::stable_sort(p.arrived_channels.begin(), p.arrived_channels.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [c, messages] : p.arrived_channels) {
    auto& channels = p.state.channels;
    if (!channels.empty() && std::prev(channels.end())->first == c) {
      auto& into = std::prev(channels.end())->second;
      into.insert(into.end(), std::make_move_iterator(messages.begin()),
                  std::make_move_iterator(messages.end()));
    } else {
      channels.emplace_hint(channels.end(), c, std::move(messages));
    }
  }
  p.arrived_states = {};
  p.arrived_channels = {};
  // Every participant recorded and reported the channels it knew of: what senders marked and
  // nobody reported yet is awaited (channels learned late, README.md "learned channels").
  std::sort(p.marked.begin(), p.marked.end());
  auto reported = p.state.channels.begin();
  for (const auto& c : p.marked) {
    while (reported != p.state.channels.end() && reported->first < c) ++reported;
    if (reported == p.state.channels.end() || reported->first != c) p.awaited_channels.insert(c);
  }
}

bool coordinator::complete(const pending& p) const {
  // Every participant recorded and closed every channel it knew of; and every channel a sender put
  // a marker on has been accounted for by its receiver, which matters for channels the receiver
  // learned only after its full report (README.md "learned channels").
  return p.full_reports == p.participants.size() && p.awaited_channels.empty();
}

void coordinator::finish(checkpoint_id id, checkpoint_status status, std::string detail,
                         std::uint64_t now_ticks, coordinator_output& out) {
  auto node = pending_.extract(id);
  assert(!node.empty() && "finishing a checkpoint that is not in flight");
  auto& p = node.mapped();
  checkpoint_outcome outcome;
  outcome.id = id;
  outcome.status = status;
  outcome.detail = std::move(detail);
  outcome.started_tick = p.started_tick;
  outcome.finished_tick = now_ticks;
  // Complete: participants may forget it. Aborted: they drop what they recorded.
  const checkpoint_command command{
      id, p.initiator,
      status == checkpoint_status::ok ? command_kind::release : command_kind::abort, status};
  for (auto member : p.participants) out.commands.push_back({member, command});
  if (status == checkpoint_status::ok) {
    outcome.state = std::move(p.state);
    outcome.recorded_messages = p.messages;
    outcome.byte_count = p.bytes;
  }
  out.finished.push_back(std::move(outcome));
}

status coordinator::check_invariants() const {
  auto broken = [](const std::string& what) {
    return make_error(errc::internal, "coordinator invariant broken: " + what);
  };
  if (pending_.size() > config_.in_flight_max) return broken("more checkpoints than allowed");
  for (const auto& [id, p] : pending_) {
    const auto name = "checkpoint " + id_text(id) + ": ";
    if (id == 0 || id > last_started_) return broken(name + "id above the last started");
    if (!std::is_sorted(p.participants.begin(), p.participants.end()) ||
        std::adjacent_find(p.participants.begin(), p.participants.end()) != p.participants.end()) {
      return broken(name + "members not ascending and unique");
    }
    if (!p.is_member(p.initiator)) return broken(name + "initiator not a member");
    if (p.deadline_tick < p.started_tick) return broken(name + "deadline before start");
    std::size_t arrived_messages = 0;
    std::size_t arrived_bytes = 0;
    for (const auto& [member, local] : p.arrived_states) arrived_bytes += local.size();
    for (const auto& [c, messages] : p.arrived_channels) {
      arrived_messages += messages.size();
      for (const auto& m : messages) arrived_bytes += m.payload.size();
    }
    if (p.messages != p.state.recorded_message_count() + arrived_messages ||
        p.bytes != p.state.byte_count() + arrived_bytes) {
      return broken(name + "message or byte count out of step with the state");
    }
    const bool all_in = p.full_reports == p.participants.size();
    if (all_in ? !p.arrived_states.empty() || !p.arrived_channels.empty()
               : !p.state.local_states.empty() || !p.state.channels.empty()) {
      return broken(name + "assembled before every full report was in, or not after");
    }
    if (p.reported.size() != p.participants.size() ||
        static_cast<std::size_t>(std::count(p.reported.begin(), p.reported.end(), true)) !=
            p.full_reports) {
      return broken(name + "full report count out of step with the members reported");
    }
    if (p.state.local_states.size() + p.arrived_states.size() != p.full_reports) {
      return broken(name + "local states and full reports disagree");
    }
    const auto fully_reported = [&p](const auto& member) {
      const auto index = p.index_of(member);
      return index && p.reported[*index];
    };
    for (const auto& [member, state] : p.state.local_states)
      if (!fully_reported(member)) return broken(name + "a local state without a full report");
    for (const auto& [member, state] : p.arrived_states)
      if (!fully_reported(member)) return broken(name + "a local state without a full report");
    for (const auto& c : p.marked) {
      if (!p.is_member(c.from) || !p.is_member(c.to)) {
        return broken(name + "expects a channel outside the checkpoint");
      }
    }
    if (p.full_reports < p.participants.size() && !p.awaited_channels.empty()) {
      return broken(name + "awaits channels before every full report is in");
    }
    for (const auto& c : p.awaited_channels) {
      if (p.state.channels.contains(c)) return broken(name + "awaits a channel already reported");
    }
    if (p.full_reports == p.participants.size()) {
      for (const auto& c : p.marked) {
        if (!p.state.channels.contains(c) && !p.awaited_channels.contains(c)) {
          return broken(name + "a marked channel neither reported nor awaited");
        }
      }
    }
    if (complete(p)) return broken(name + "complete but still in flight");
  }
  return status::success();
}

}  // namespace troupe::checkpoint
