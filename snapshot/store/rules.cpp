#include "snapshot/store/rules.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>

#include "snapshot/store/parts.hpp"

namespace troupe::checkpoint::store::rules {

using parts::channel_text;
using parts::prefix;

namespace {

/// The participants with a local state, ascending (the map's keys): binary searches in one array
/// instead of tree walks, for the 2 x 40,000 channel ends of the bank benchmark's checkpoints.
std::vector<participant_id> with_state(const global_state& state) {
  std::vector<participant_id> out;
  out.reserve(state.local_states.size());
  for (const auto& [p, local] : state.local_states) out.push_back(p);
  return out;
}

bool contains(const std::vector<participant_id>& ascending, participant_id p) {
  return std::binary_search(ascending.begin(), ascending.end(), p);
}

}  // namespace

status check_save(const global_state& state, const checkpoint_metadata& meta) {
  if (state.id == 0 ||
      state.id > static_cast<checkpoint_id>(std::numeric_limits<std::int64_t>::max())) {
    // SQLite integers are int64 and list() orders by id: keep ids where that order is right.
    return make_error(errc::invalid_argument,
                      prefix(state.id) + "checkpoint ids are 1 to 2^63-1 in the store");
  }
  if (!stores_parts(meta)) return {};
  if (state.local_states.empty()) {
    return make_error(errc::invalid_argument,
                      prefix(state.id) + "a complete checkpoint without participants");
  }
  // What load could not give back as given: a channel end without a local state (load would
  // call it corrupt), or a message whose from/to is not its channel's (the store keeps the
  // channel once per message row, so it would come back readdressed).
  const auto members = with_state(state);
  // Channels are ascending by sender: its check walks along `members`; the receiver's is a
  // binary search.
  auto sender = members.begin();
  for (const auto& [c, messages] : state.channels) {
    while (sender != members.end() && *sender < c.from) ++sender;
    if (sender == members.end() || *sender != c.from || !contains(members, c.to)) {
      return make_error(errc::invalid_argument, prefix(state.id) + "channel " + channel_text(c) +
                                                    " has an end without a local state");
    }
    for (const auto& m : messages) {
      if (m.from != c.from || m.to != c.to) {
        return make_error(errc::invalid_argument, prefix(state.id) + "a message on channel " +
                                                      channel_text(c) + " is addressed " +
                                                      std::to_string(m.from) + "->" +
                                                      std::to_string(m.to));
      }
    }
  }
  return {};
}

std::vector<participant_summary> participant_rows(const global_state& state,
                                                  const checkpoint_metadata& meta) {
  // Both maps are ascending: merge them into the rows (also ascending) in one pass.
  const bool parts = stores_parts(meta);
  std::vector<participant_summary> out;
  out.reserve(meta.participants.size() + (parts ? state.local_states.size() : 0));
  auto listed = meta.participants.begin();
  auto local = state.local_states.begin();
  const auto local_end = parts ? state.local_states.end() : state.local_states.begin();
  while (listed != meta.participants.end() || local != local_end) {
    participant_summary row;
    if (local == local_end || (listed != meta.participants.end() && listed->first < local->first)) {
      row = participant_summary{listed->first, listed->second};
      ++listed;
    } else {
      row.participant = local->first;
      if (listed != meta.participants.end() && listed->first == local->first) {
        row.where = listed->second;
        ++listed;
      }
      row.has_state = true;
      row.state_bytes = local->second.size();
      ++local;
    }
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<participant_summary> participants_of(const global_state& state,
                                                 const checkpoint_metadata& meta) {
  auto out = participant_rows(state, meta);
  if (stores_parts(meta)) {
    for (const auto& [c, messages] : state.channels) {
      // check_save: every channel end has a local state, hence a row.
      const auto row = std::lower_bound(
          out.begin(), out.end(), c.to,
          [](const participant_summary& r, participant_id p) { return r.participant < p; });
      assert(row != out.end() && row->participant == c.to);
      ++row->channels_in;
      row->messages_in += messages.size();
    }
  }
  return out;
}

checkpoint_summary summarize(const global_state& state, const checkpoint_metadata& meta,
                             const std::vector<participant_summary>& rows) {
  checkpoint_summary m;
  m.id = state.id;
  m.initiator = state.initiator;
  m.status = meta.status;
  m.reason = meta.reason;
  m.started_unix_ms = meta.started_unix_ms;
  m.finished_unix_ms = meta.finished_unix_ms;
  m.participant_count = rows.size();
  if (stores_parts(meta)) {
    // The state sizes from the rows (participant_rows took them from the states already).
    m.state_count = state.local_states.size();
    m.channel_count = state.channels.size();
    for (const auto& row : rows) m.state_bytes += row.state_bytes;
    for (const auto& [c, messages] : state.channels) {
      m.message_count += messages.size();
      for (const auto& e : messages) m.message_bytes += e.payload.size();
    }
  }
  assert(m.state_count <= m.participant_count);
  return m;
}

std::vector<checkpoint_id> expired(const std::vector<std::pair<checkpoint_id, bool>>& newest_first,
                                   const retention& keep) {
  std::vector<checkpoint_id> out;
  std::size_t complete = 0;
  std::size_t incomplete = 0;
  for (const auto& [id, is_complete] : newest_first) {
    std::size_t& seen = is_complete ? complete : incomplete;
    const std::size_t limit = is_complete ? keep.keep_last : keep.keep_last_incomplete;
    if (limit != 0 && ++seen > limit) out.push_back(id);
  }
  return out;
}

std::optional<std::string> incomplete_reason(const checkpoint_summary& m,
                                             const std::vector<participant_summary>& members) {
  if (m.status != checkpoint_status::ok) {
    return prefix(m.id) + "was aborted (" + to_string(m.status) + ")" +
           (m.reason.empty() ? std::string{} : ": " + m.reason) +
           "; it has no global state to restore";
  }
  for (const auto& p : members) {
    if (!p.has_state) {
      return prefix(m.id) + "is partial: participant " + std::to_string(p.participant) +
             " has no recorded local state";
    }
  }
  if (members.empty()) return prefix(m.id) + "has no participants";
  return std::nullopt;
}

}  // namespace troupe::checkpoint::store::rules
