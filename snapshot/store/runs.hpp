#pragma once
/// Internal to the store: a checkpoint's rows packed into a few blobs ("runs", schema version 3),
/// and the rows as read back (from runs or from version 2's tables) before they are verified.
///
/// Why: the bank benchmark's checkpoint of 10,002 participants was ~38,000 SQLite rows (a
/// participant row and a local-state row each, a row per channel holding messages and per
/// message), and binding, stepping and B-tree inserting them was most of a save. A run holds
/// the same rows, each with the same CRC-32C it had as a row of its own (parts.hpp), so a damaged
/// entry still names its checkpoint, participant and, for a message, its channel and position;
/// the run itself carries a checksum too. Version 3 stores 2-3 runs for that checkpoint.
///
/// Body layout (little-endian, fixed width; `bytes` = u32 length + the bytes):
///   participants run: per participant, ascending id:
///     u64 participant, bytes node, bytes location, u8 has_state, u64 state_bytes, u32 checksum
///     (participant_checksum), and if has_state: bytes state, u32 checksum (state_checksum)
///   channels run: per channel holding messages, ascending (from, to):
///     u64 from, u64 to, u64 message_count, u64 message_bytes, u32 checksum (channel_checksum),
///     then per message, in channel order: u64 sequence, u64 epoch, u64 lamport,
///     bytes vector clock (encode_clock), bytes payload, u32 checksum (message_checksum)
/// Channels recorded empty stay in version 2's one `empty_channels` row.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/base/result.hpp"
#include "snapshot/core/global_state.hpp"
#include "snapshot/store/manifest.hpp"

namespace troupe::checkpoint::store::runs {

enum class run_kind : std::uint8_t { participants = 0, channels = 1 };

/// A run is closed once its body reaches this size (an entry larger than that is a run alone):
/// bounds a row, and what a reader holds of it at once.
inline constexpr std::size_t body_bytes_target = std::size_t{1} << 20;

struct run {
  run_kind kind = run_kind::participants;
  std::vector<std::byte> body;
};

struct packed {
  std::vector<run> runs;
  /// The channels recorded empty, ascending (for the `empty_channels` row): collected in the
  /// same walk over the channels.
  std::vector<channel_id> empty_channels;
};

/// Packs `rows` (rules::participant_rows: every participant with its location) and, when
/// `with_parts`, their local states and the channels of `state` that hold messages. `state`
/// passed rules::check_save.
packed pack(const global_state& state, const std::vector<participant_summary>& rows,
            bool with_parts);

/// The rows of one checkpoint as stored, each with the checksum it was stored with, not yet
/// verified (sqlite_checkpoint_store_read.cpp verifies them, whichever layout they came from).
struct participant_record {
  participant_summary row;  ///< channels_in / messages_in are not stored: 0
  std::uint64_t checksum = 0;
};
struct state_record {
  participant_id participant = no_participant;
  bytes state;
  std::uint64_t checksum = 0;
};
struct channel_record {
  channel_id channel;
  std::uint64_t message_count = 0;
  std::uint64_t message_bytes = 0;
  std::uint64_t checksum = 0;
};
struct message_record {
  std::uint64_t position = 0;
  envelope message;      ///< from / to are the channel's
  bool clock_ok = true;  ///< false: the stored clock was not a whole number of entries
  std::uint64_t checksum = 0;
};
struct stored_rows {
  std::vector<participant_record> participants;
  std::vector<state_record> states;
  std::vector<channel_record> channels;
  std::vector<message_record> messages;
};

/// Appends the entries of run `index` of checkpoint `id` to `into`: participants and channels,
/// and when `with_parts` local states and messages too (without, they are parsed and stepped
/// over, not copied: `show` needs neither). errc::corrupt, naming the checkpoint and the run, when
/// `kind` is unknown or the body does not parse (cut short, a length past its end, bytes left
/// over), with or without parts alike.
status unpack(checkpoint_id id, std::uint64_t index, std::int64_t kind,
              std::span<const std::byte> body, bool with_parts, stored_rows& into);

}  // namespace troupe::checkpoint::store::runs
