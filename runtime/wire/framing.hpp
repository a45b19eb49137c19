#pragma once
/// Cap'n Proto stream framing, read without trusting it: the segment table that starts every frame
/// (https://capnproto.org/encoding.html#serialization-over-a-stream) is
///   uint32 segment_count - 1 | uint32 size_in_words x segment_count | padding to 8 bytes
/// followed by the segments. All integers are little-endian.
///
/// Used by message::parse and frame_assembler so that both apply the same limits, and by anyone who
/// needs a frame's length before its body arrives. No Cap'n Proto include: pure arithmetic.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "runtime/base/result.hpp"

namespace troupe::wire {

struct reader_limits;

/// What the segment table of one frame announces.
struct frame_layout {
  std::uint32_t segment_count = 0;
  std::size_t header_bytes = 0;  ///< segment table including padding; a multiple of 8
  std::size_t total_bytes = 0;   ///< header plus all segments; a multiple of 8
};

/// Reads the segment table at the start of `prefix` (the bytes received so far of a frame).
/// Returns std::nullopt while the table is incomplete. Errors, reported as early as the prefix
/// allows (before the body is buffered):
///  - errc::malformed: a segment count of zero (the 32-bit count field wrapped), or a first segment
///    of zero words (it must hold the root pointer);
///  - errc::too_large: more segments than limits.max_segments, or a total size, even a partial sum
///    of the sizes read so far, over limits.max_frame_bytes.
result<std::optional<frame_layout>> read_frame_layout(std::span<const std::byte> prefix,
                                                      const reader_limits& limits);

}  // namespace troupe::wire
