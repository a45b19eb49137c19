#pragma once
/// The unit the link queues and sends: one message for an endpoint at the peer, and what the link
/// reports back about it. Plain values; the payload buffer is shared by reference (wire::message).

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/transport/link/frame.hpp"
#include "runtime/wire/message.hpp"

namespace troupe::link {

/// A message handed to peer_link::send.
struct outbound_message {
  std::string destination;       ///< endpoint at the peer, at most max_endpoint_bytes
  std::string source;            ///< endpoint here, at most max_endpoint_bytes
  wire::message payload;         ///< empty(): a frame without payload
  std::uint64_t message_id = 0;  ///< the caller's id, echoed in lost reports; not sent
  std::uint64_t tag = 0;  ///< opaque to the link (e.g. to find the original sender); not sent
};

/// Bytes a message is charged against its lane's byte bound: payload, both names and a fixed
/// per-message overhead (the header and bookkeeping), so that empty messages still count.
inline constexpr std::size_t per_message_overhead_bytes = 64;
inline std::size_t charged_bytes(const outbound_message& m) noexcept {
  return (m.payload.empty() ? 0 : m.payload.size_bytes()) + m.destination.size() + m.source.size() +
         per_message_overhead_bytes;
}

/// An accepted application message that will never be delivered: the peer came back as a new
/// incarnation (or lost its state for us) before acknowledging it. Report it to the original
/// sender. It may or may not have been delivered to the old incarnation ("maybe lost"): the peer
/// died before acknowledging it.
struct lost_message {
  std::uint64_t seq = 0;  ///< the seq it had (diagnostics)
  std::string destination;
  std::string source;
  std::uint64_t message_id = 0;
  std::uint64_t tag = 0;
  std::size_t payload_bytes = 0;
};

/// A message received from the peer, in order (application lane: exactly once), for local delivery.
struct inbound_delivery {
  lane via = lane::application;
  std::uint64_t seq = 0;    ///< application lane only; 0 on the others
  std::string destination;  ///< endpoint here
  std::string source;       ///< endpoint at the peer
  wire::message payload;    ///< empty() when the frame had none
};

}  // namespace troupe::link
