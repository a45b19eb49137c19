#include "snapshot/store/parts.hpp"

#include <cassert>
#include <utility>

#include "runtime/base/crc32c.hpp"

namespace troupe::checkpoint::store::parts {

namespace {

// Distinct tags keep a row of one table from verifying as a row of another.
constexpr std::uint64_t manifest_tag = 1;
constexpr std::uint64_t participant_tag = 2;
constexpr std::uint64_t state_tag = 3;
constexpr std::uint64_t channel_tag = 4;
constexpr std::uint64_t message_tag = 5;
constexpr std::uint64_t empty_channels_tag = 6;
constexpr std::uint64_t run_tag = 7;

void put_u64(std::vector<std::byte>& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}
std::uint64_t get_u64(std::span<const std::byte> blob, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(blob[at + i]) << (8 * i);
  return v;
}

}  // namespace

std::uint32_t manifest_checksum(const checkpoint_summary& m) {
  checksum_builder b;
  b.u64(manifest_tag).u64(m.id).u64(m.initiator).text(to_string(m.status)).text(m.reason);
  b.i64(m.started_unix_ms).i64(m.finished_unix_ms);
  b.u64(m.participant_count).u64(m.state_count).u64(m.channel_count).u64(m.message_count);
  b.u64(m.state_bytes).u64(m.message_bytes);
  return b.value();
}

std::uint32_t participant_checksum(checkpoint_id id, const participant_summary& p) {
  checksum_builder b;
  b.u64(participant_tag).u64(id).u64(p.participant).text(p.where.node).text(p.where.location);
  b.u64(p.has_state ? 1 : 0).u64(p.state_bytes);
  return b.value();
}

std::uint32_t state_checksum(checkpoint_id id, participant_id p, std::span<const std::byte> state) {
  return checksum_builder{}.u64(state_tag).u64(id).u64(p).bytes(state).value();
}

std::uint32_t channel_checksum(checkpoint_id id, const channel_id& c, std::uint64_t message_count,
                               std::uint64_t message_bytes) {
  checksum_builder b;
  b.u64(channel_tag).u64(id).u64(c.from).u64(c.to).u64(message_count).u64(message_bytes);
  return b.value();
}

std::uint32_t message_checksum(checkpoint_id id, const channel_id& c, std::uint64_t position,
                               const envelope& m) {
  checksum_builder b;
  b.u64(message_tag).u64(id).u64(c.from).u64(c.to).u64(position);
  b.u64(m.from).u64(m.to).u64(m.sequence).u64(m.epoch).u64(m.lamport);
  b.bytes(encode_clock(m.vector_clock)).bytes(as_span(m.payload));
  return b.value();
}

std::uint32_t empty_channels_checksum(checkpoint_id id, std::span<const std::byte> channels) {
  return checksum_builder{}.u64(empty_channels_tag).u64(id).bytes(channels).value();
}

std::uint32_t run_checksum(checkpoint_id id, std::uint64_t index, std::int64_t kind,
                           std::span<const std::byte> body) {
  return checksum_builder{}.u64(run_tag).u64(id).u64(index).i64(kind).bytes(body).value();
}

namespace {

/// Items as pairs of little-endian u64 (16 bytes each): the clock and the channel encodings.
template <class T, class Split>
std::vector<std::byte> encode_pairs(const std::vector<T>& items, Split split) {
  std::vector<std::byte> out;
  out.reserve(items.size() * 16);
  for (const auto& item : items) {
    const auto [first, second] = split(item);
    put_u64(out, first);
    put_u64(out, second);
  }
  assert(out.size() == items.size() * 16);
  return out;
}

/// nullopt when the blob's length is not a multiple of 16.
template <class T>
std::optional<std::vector<T>> decode_pairs(std::span<const std::byte> blob) {
  if (blob.size() % 16 != 0) return std::nullopt;
  std::vector<T> out;
  out.reserve(blob.size() / 16);
  for (std::size_t at = 0; at < blob.size(); at += 16) {
    out.push_back(T{get_u64(blob, at), get_u64(blob, at + 8)});
  }
  return out;
}

}  // namespace

std::vector<std::byte> encode_clock(const std::vector<clock_entry>& clock) {
  return encode_pairs(clock, [](const clock_entry& e) { return std::pair{e.participant, e.counter}; });
}

std::optional<std::vector<clock_entry>> decode_clock(std::span<const std::byte> blob) {
  return decode_pairs<clock_entry>(blob);
}

std::vector<std::byte> encode_channels(const std::vector<channel_id>& channels) {
  return encode_pairs(channels, [](const channel_id& c) { return std::pair{c.from, c.to}; });
}

std::optional<std::vector<channel_id>> decode_channels(std::span<const std::byte> blob) {
  return decode_pairs<channel_id>(blob);
}

}  // namespace troupe::checkpoint::store::parts
