#pragma once
/// Conversion between link frame headers (frame.hpp) and wire::message holding a link.capnp
/// `LinkFrame`. The only place the link touches Cap'n Proto.
///
/// Thread-safe (no state). Never throws: anything the schema allows but the link does not accept
/// (an unknown union member, a zero node id, an oversized string, a nonce of the wrong length, a
/// lane this build does not know) comes back as errc::malformed with a message naming the field.

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/transport/link/frame.hpp"
#include "runtime/wire/message.hpp"

namespace troupe::link {

/// Builds the header message for `header`. Precondition: the strings respect the max_*_bytes bounds
/// of frame.hpp (the cores guarantee it; a longer string is truncated rather than sent).
wire::message encode_frame_header(const frame_header& header);

/// Appends the header message for `header`, in stream framing, to `out`: the bytes
/// `encode_frame_header(header).bytes()` would hold, built in a per-thread reused segment with no
/// message in between (the sending hot path). Same precondition as encode_frame_header.
void append_frame_header(std::vector<char>& out, const frame_header& header);

/// Validates `frame` (one stream-framed message, e.g. from frame_assembler::next_frame_bytes)
/// completely, in place, with exactly the checks of wire::message::parse under `limits`, and
/// decodes it through the same reader: the receiving hot path, no copy and no kept message.
/// `validator` is scratch space reused across calls (one per connection or thread). Errors: those
/// of wire::message::parse (errc::too_large, errc::malformed), then those of the overload below.
result<frame_header> decode_frame_header(std::span<const std::byte> frame,
                                         const wire::reader_limits& limits,
                                         wire::frame_validator& validator);

/// decode_frame_header without trying the canonical data header layout first (below): for a caller
/// that just tried it. Same checks and errors.
result<frame_header> decode_frame_header_by_reader(std::span<const std::byte> frame,
                                                   const wire::reader_limits& limits,
                                                   wire::frame_validator& validator);

/// The receiving hot path for data headers: decodes `frame` when it is laid out exactly as
/// append_frame_header writes a data header (one segment, fixed struct sizes and offsets, the two
/// names right after, nothing else), checking every word it reads; std::nullopt for anything else
/// (another frame kind, another valid layout, a malformed frame), which decode_frame_header then
/// takes through the generic validator. Whatever it accepts, message::parse followed by the
/// decoder below accepts too and decodes to the same data_frame (frame_codec_test checks both
/// under random byte flips).
std::optional<data_frame> decode_canonical_data_header(std::span<const std::byte> frame,
                                                       const wire::reader_limits& limits);
/// The same into `out` (its strings' storage reused): true when decoded; on false `out` holds
/// unspecified values.
bool decode_canonical_data_header(std::span<const std::byte> frame, const wire::reader_limits& limits,
                                  data_frame& out);

/// Decodes a validated message as a link header. Errors: errc::malformed (see above),
/// errc::unsupported for a union member this build does not know (a newer peer's frame kind).
result<frame_header> decode_frame_header(const wire::message& header);

}  // namespace troupe::link
