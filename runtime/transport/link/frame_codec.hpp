#pragma once
/// Conversion between link frame headers (frame.hpp) and wire::message holding a link.capnp
/// `LinkFrame`. The only place the link touches Cap'n Proto.
///
/// Thread-safe (no state). Never throws: anything the schema allows but the link does not accept
/// (an unknown union member, a zero node id, an oversized string, a nonce of the wrong length, a
/// lane this build does not know) comes back as errc::malformed with a message naming the field.

#include "runtime/base/result.hpp"
#include "runtime/transport/link/frame.hpp"
#include "runtime/wire/message.hpp"

namespace troupe::link {

/// Builds the header message for `header`. Precondition: the strings respect the max_*_bytes bounds
/// of frame.hpp (the cores guarantee it; a longer string is truncated rather than sent).
wire::message encode_frame_header(const frame_header& header);

/// Decodes a validated message as a link header. Errors: errc::malformed (see above),
/// errc::unsupported for a union member this build does not know (a newer peer's frame kind).
result<frame_header> decode_frame_header(const wire::message& header);

}  // namespace troupe::link
