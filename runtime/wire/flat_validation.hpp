#pragma once
/// A validator for one-segment messages, for the receiving hot path: the checks of Cap'n Proto's
/// validating traversal (message.cpp: `MessageReader::getRoot` then `targetSize()`, reader limits
/// applied) done directly on the words, without a MessageReader and its arena (building and
/// dropping them was ~330 instructions per received payload on the broker's thread, callgrind,
/// runtime/transport/README.md session 6).
///
/// It only ever says "valid" for a message that Cap'n Proto's traversal accepts, and then also
/// guarantees what that traversal does not: no far pointer is reachable from the root, so the
/// message can be read with `capnp::readMessageUnchecked` (message.hpp, `impl::flat`). Anything
/// it does not decide by itself (a far or capability pointer, a bounds or limit violation, a
/// nesting too deep) it answers "not proven", and the caller runs Cap'n Proto's traversal, which
/// gives the verdict and its reason. It is stricter than that traversal in one respect only: every
/// object is charged at least one word against the traversal limit.
///
/// Pure: no Cap'n Proto include, no allocation, no exception. Thread-safe (no state).
///
/// Encoding reference: https://capnproto.org/encoding.html (pointers: struct, list, far, other).

#include <cstddef>
#include <cstdint>
#include <span>

namespace troupe::wire {

/// Whether the segment `segment` (whole words, the segment that follows a one-segment table) is
/// proven valid under `nesting_limit` and `traversal_limit_words`, with no far pointer reachable
/// from its root. False: not proven (see above), never "invalid".
bool proven_flat(std::span<const std::byte> segment, int nesting_limit,
                 std::uint64_t traversal_limit_words) noexcept;

}  // namespace troupe::wire
