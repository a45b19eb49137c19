#pragma once
/// The global state a complete checkpoint consists of (Chandy & Lamport 1985, section 2: the states
/// of all processes plus the messages in flight on every channel), as a plain value the checkpoint
/// store persists and a restore replays.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "snapshot/core/message.hpp"

namespace troupe::checkpoint {

/// A directed channel `from -> to`.
struct channel_id {
  participant_id from = no_participant;
  participant_id to = no_participant;
  friend auto operator<=>(const channel_id&, const channel_id&) = default;
};

/// One checkpoint's global state. Every participant of the checkpoint has a local state; every
/// channel some participant reported has an entry, in flight messages in channel order (possibly
/// none). Restore delivers `channels[c]` to `c.to` before any new traffic (DESIGN.md 6).
struct global_state {
  checkpoint_id id = 0;
  participant_id initiator = no_participant;
  std::map<participant_id, bytes> local_states;
  std::map<channel_id, std::vector<envelope>> channels;

  /// Messages recorded over all channels.
  std::size_t recorded_message_count() const {
    std::size_t n = 0;
    for (const auto& [channel, messages] : channels) n += messages.size();
    return n;
  }
  /// Bytes of local states plus recorded payloads: what a store writes, roughly.
  std::size_t byte_count() const {
    std::size_t n = 0;
    for (const auto& [p, state] : local_states) n += state.size();
    for (const auto& [channel, messages] : channels) {
      for (const auto& m : messages) n += m.payload.size();
    }
    return n;
  }
  friend bool operator==(const global_state&, const global_state&) = default;
};

/// How one checkpoint ended at the coordinator. `state` is meaningful only when status is ok.
struct checkpoint_outcome {
  checkpoint_id id = 0;
  checkpoint_status status = checkpoint_status::ok;
  /// For a person: which participant, which bound, which peer.
  std::string detail;
  global_state state;
  /// When it started and ended, in the caller's ticks (for the duration metric).
  std::uint64_t started_tick = 0;
  std::uint64_t finished_tick = 0;
  /// `state.recorded_message_count()` and `state.byte_count()`, counted by the coordinator as the
  /// reports came in (0 unless ok): each walk of a 40,000-channel state costs milliseconds of the
  /// coordinator's thread, and the log line, the metrics and the application all want them.
  std::size_t recorded_messages = 0;
  std::size_t byte_count = 0;
};

}  // namespace troupe::checkpoint
