#pragma once
/// What the checkpoint store records about a checkpoint besides its parts, and what it reports back
/// (`list`, `show`). Plain values.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/core/message.hpp"

namespace troupe::checkpoint::store {

/// Where a participant lived when the checkpoint was taken: for people and for a restore that
/// wants to put it back in the same place. Neither field is interpreted by the store.
struct participant_location {
  std::string node;      ///< node name of the process that hosted it
  std::string location;  ///< e.g. the actor's registered name; may be empty
  friend bool operator==(const participant_location&, const participant_location&) = default;
};

/// What the caller (the coordinator actor) knows about a checkpoint beyond its global state.
/// The store never reads a clock: times come from the caller (unix milliseconds, 0 = unknown).
struct checkpoint_metadata {
  checkpoint_status status = checkpoint_status::ok;
  /// Why it was aborted (the outcome's `detail`); empty for a complete one.
  std::string reason;
  std::int64_t started_unix_ms = 0;
  std::int64_t finished_unix_ms = 0;
  /// Every participant the checkpoint was started with, and where it lived. Participants of the
  /// global state missing here are recorded with an empty location; participants here without a
  /// local state in the global state make the checkpoint *partial* (stored, never restored).
  std::map<participant_id, participant_location> participants;
};

/// One checkpoint as `list` shows it (the manifest row).
struct checkpoint_summary {
  checkpoint_id id = 0;
  participant_id initiator = no_participant;
  checkpoint_status status = checkpoint_status::ok;
  std::string reason;
  std::int64_t started_unix_ms = 0;
  std::int64_t finished_unix_ms = 0;
  std::uint64_t participant_count = 0;  ///< participants in the manifest
  std::uint64_t state_count = 0;        ///< of them, with a stored local state
  std::uint64_t channel_count = 0;
  std::uint64_t message_count = 0;  ///< recorded in-flight messages over all channels
  std::uint64_t state_bytes = 0;    ///< local states
  std::uint64_t message_bytes = 0;  ///< recorded message payloads
  /// Status ok and every participant has its local state: the only kind a restore accepts.
  bool complete() const noexcept {
    return status == checkpoint_status::ok && state_count == participant_count &&
           participant_count > 0;
  }
  friend bool operator==(const checkpoint_summary&, const checkpoint_summary&) = default;
};

/// One participant's line of `show`.
struct participant_summary {
  participant_id participant = no_participant;
  participant_location where;
  bool has_state = false;
  std::uint64_t state_bytes = 0;
  std::uint64_t channels_in = 0;  ///< recorded incoming channels (possibly empty ones)
  std::uint64_t messages_in = 0;  ///< messages recorded on them
  friend bool operator==(const participant_summary&, const participant_summary&) = default;
};

/// `show`: the manifest and a line per participant, in ascending participant id.
struct manifest {
  checkpoint_summary summary;
  std::vector<participant_summary> participants;
  friend bool operator==(const manifest&, const manifest&) = default;
};

/// Parses `to_string(checkpoint_status)` back; nullopt for an unknown name.
std::optional<checkpoint_status> parse_status(std::string_view name) noexcept;

}  // namespace troupe::checkpoint::store
