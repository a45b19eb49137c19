#pragma once
/// Internal to the store: the checksum of each kind of row, and the encodings of the values SQLite
/// has no type for. The checksum of a row covers a tag naming its table, its identity and every
/// column, so a row damaged in place, truncated, or copied onto another row's key fails its check.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/base/result.hpp"
#include "snapshot/core/global_state.hpp"
#include "snapshot/store/manifest.hpp"

namespace troupe::checkpoint::store::parts {

std::uint32_t manifest_checksum(const checkpoint_summary& m);
std::uint32_t participant_checksum(checkpoint_id id, const participant_summary& p);
std::uint32_t state_checksum(checkpoint_id id, participant_id p, std::span<const std::byte> state);
std::uint32_t channel_checksum(checkpoint_id id, const channel_id& c, std::uint64_t message_count,
                               std::uint64_t message_bytes);
std::uint32_t message_checksum(checkpoint_id id, const channel_id& c, std::uint64_t position,
                               const envelope& m);
/// Of the `empty_channels` row: the checkpoint and the encoded list (encode_channels).
std::uint32_t empty_channels_checksum(checkpoint_id id, std::span<const std::byte> channels);
/// Of a `part_runs` row (schema version 3, runs.hpp): its identity, kind and whole body.
std::uint32_t run_checksum(checkpoint_id id, std::uint64_t index, std::int64_t kind,
                           std::span<const std::byte> body);

inline std::span<const std::byte> as_span(const bytes& b) noexcept {
  return std::as_bytes(std::span<const char>(b.data(), b.size()));
}
inline bytes to_bytes(std::span<const std::byte> b) {
  const auto* p = reinterpret_cast<const char*>(b.data());
  return bytes(p, p + b.size());
}

/// A vector clock as 16 bytes per entry (participant, counter; little-endian u64 each).
std::vector<std::byte> encode_clock(const std::vector<clock_entry>& clock);
/// nullopt when the blob's length is not a multiple of 16.
std::optional<std::vector<clock_entry>> decode_clock(std::span<const std::byte> blob);

/// Channels as 16 bytes each (sender, receiver; little-endian u64 each), in the given order.
std::vector<std::byte> encode_channels(const std::vector<channel_id>& channels);
/// nullopt when the blob's length is not a multiple of 16.
std::optional<std::vector<channel_id>> decode_channels(std::span<const std::byte> blob);

/// "checkpoint 7: " - every error of the store about one checkpoint starts so.
inline std::string prefix(checkpoint_id id) {
  return "checkpoint " + std::to_string(id) + ": ";
}
inline std::string channel_text(const channel_id& c) {
  return std::to_string(c.from) + "->" + std::to_string(c.to);
}

}  // namespace troupe::checkpoint::store::parts
