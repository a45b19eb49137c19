#include "runtime/wire/framing.hpp"

#include <string>

#include "runtime/wire/message.hpp"

namespace troupe::wire {
namespace {

/// Little-endian uint32 at `offset`; the caller has checked the bounds.
std::uint32_t load_le32(std::span<const std::byte> bytes, std::size_t offset) noexcept {
  return static_cast<std::uint32_t>(bytes[offset]) |
         (static_cast<std::uint32_t>(bytes[offset + 1]) << 8) |
         (static_cast<std::uint32_t>(bytes[offset + 2]) << 16) |
         (static_cast<std::uint32_t>(bytes[offset + 3]) << 24);
}

}  // namespace

result<std::optional<frame_layout>> read_frame_layout(std::span<const std::byte> prefix,
                                                      const reader_limits& limits) {
  if (prefix.size() < 4) return std::optional<frame_layout>{};
  const std::uint32_t count_minus_one = load_le32(prefix, 0);
  // One segment, the common case (every frame this build writes; the receiving broker asks this
  // for each header and payload): the general path below with its loop unrolled, same verdicts.
  if (count_minus_one == 0 && prefix.size() >= 8 && limits.max_segments >= 1 &&
      limits.max_frame_bytes >= 8) {
    const std::uint32_t words = load_le32(prefix, 4);
    if (words == 0) {
      return make_error(errc::malformed, "first segment is empty: no root pointer");
    }
    const std::uint64_t total_bytes = 8 + std::uint64_t{words} * 8;
    if (total_bytes <= limits.max_frame_bytes) {
      return std::optional<frame_layout>{frame_layout{1, 8, static_cast<std::size_t>(total_bytes)}};
    }
    // Too large: the general path says so in its words.
  }
  if (count_minus_one == UINT32_MAX) {
    return make_error(errc::malformed, "frame announces zero segments (segment count wrapped)");
  }
  // 64-bit arithmetic throughout: every size below comes from the peer.
  const std::uint64_t segment_count = std::uint64_t{count_minus_one} + 1;
  if (segment_count > limits.max_segments) {
    return make_error(errc::too_large, "frame announces " + std::to_string(segment_count) +
                                           " segments, limit " +
                                           std::to_string(limits.max_segments));
  }
  // 4 bytes of count, 4 per segment size, padded to a whole word.
  const std::uint64_t header_bytes = ((4 + 4 * segment_count) + 7) / 8 * 8;
  if (header_bytes > limits.max_frame_bytes) {
    return make_error(errc::too_large, "frame segment table alone exceeds max_frame_bytes");
  }
  std::uint64_t total_bytes = header_bytes;
  const std::size_t sizes_available = (prefix.size() - 4) / 4;
  const std::size_t sizes_to_read =
      sizes_available < segment_count ? sizes_available : static_cast<std::size_t>(segment_count);
  for (std::size_t i = 0; i < sizes_to_read; ++i) {
    const std::uint32_t words = load_le32(prefix, 4 + 4 * i);
    if (i == 0 && words == 0) {
      return make_error(errc::malformed, "first segment is empty: no root pointer");
    }
    total_bytes += std::uint64_t{words} * 8;
    // Checked per size so that a hostile table is refused before the rest of it, let alone the body.
    if (total_bytes > limits.max_frame_bytes) {
      return make_error(errc::too_large, "frame of at least " + std::to_string(total_bytes) +
                                             " bytes exceeds max_frame_bytes " +
                                             std::to_string(limits.max_frame_bytes));
    }
  }
  if (sizes_to_read < segment_count || prefix.size() < header_bytes) {
    return std::optional<frame_layout>{};
  }
  return std::optional<frame_layout>{frame_layout{static_cast<std::uint32_t>(segment_count),
                                                  static_cast<std::size_t>(header_bytes),
                                                  static_cast<std::size_t>(total_bytes)}};
}

}  // namespace troupe::wire
