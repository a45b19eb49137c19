#pragma once
/// The link frame header as plain C++ values: what the pure link cores (handshake, peer_link)
/// consume and produce. frame_codec.hpp converts between these and the Cap'n Proto schema
/// runtime/wire/link.capnp; nothing here includes Cap'n Proto.
///
/// On the TCP stream a frame is one header message (link.capnp `LinkFrame`), followed by exactly
/// one payload message when `data_frame::has_payload` is set. The payload is the application's own
/// wire::message, written unchanged (a remote send writes the bytes the mailbox holds).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "runtime/wire/version.hpp"

namespace troupe::link {

/// Message classes, each with its own queue and policy (lane_queues.hpp, README.md). The numeric
/// values travel on the wire (link.capnp `Lane`): append only.
enum class lane : std::uint8_t {
  raft_control = 0,  ///< votes, heartbeats, small appends: strict priority, drop-oldest when full
  raft_bulk = 1,    ///< snapshot chunks, large batches: weighted round robin, drop-newest when full
  application = 2,  ///< application envelopes and checkpoint markers: reliable, FIFO, never dropped
  client = 3,       ///< client requests and replies: weighted round robin, busy when full
};
inline constexpr std::size_t lane_count = 4;
/// "raft_control", "raft_bulk", "application", "client" (metric label values).
std::string_view to_string(lane l) noexcept;
constexpr std::size_t index_of(lane l) noexcept {
  return static_cast<std::size_t>(l);
}

/// Who is on the other end of a connection.
enum class peer_role : std::uint8_t {
  peer = 0,    ///< a cluster node (authenticates with the cluster secret)
  client = 1,  ///< a `troupe` client (authenticates with the client secret, or loopback only)
};
std::string_view to_string(peer_role r) noexcept;

/// Why a connection is refused or closed. Sent on the wire in `refuse` and `goodbye` (link.capnp
/// `Reason`, append only), logged, and used as a metric label (`to_string`). A value received from
/// a newer peer that this build does not know decodes as `unknown`.
enum class close_reason : std::uint16_t {
  unknown = 0,               ///< a reason code this build does not know
  bad_proof = 1,             ///< HMAC proof did not verify: wrong secret (either side)
  wrong_cluster = 2,         ///< cluster ids differ
  unknown_node = 3,          ///< a peer hello claims a node id not in the configured peer set
  duplicate_node = 4,        ///< a peer hello claims the acceptor's own node id
  wrong_node = 5,            ///< the acceptor is not the node the dialer meant to reach
  incompatible_version = 6,  ///< the version ranges do not overlap
  client_not_allowed = 7,    ///< no client secret configured and the client is not on loopback
  unauthenticated_peer = 8,  ///< a client holding a secret reached a node offering no proof
  handshake_timeout = 9,     ///< the handshake did not finish in time
  protocol_error = 10,       ///< an unexpected or inconsistent frame (gap, bad resume point, ...)
  idle_timeout = 11,         ///< nothing received for the idle timeout
  shutting_down = 12,        ///< orderly goodbye: the sender is stopping
  superseded = 13,           ///< another connection to the same peer won (one link per peer pair)
  peer_restarted =
      14,  ///< unused on the wire; reported locally when the peer's incarnation changed
  too_many_clients = 15,  ///< the node serves its maximum of client connections: try another or later
};
/// Snake-case name, e.g. "bad_proof" (stable: used as a metric label).
std::string_view to_string(close_reason r) noexcept;

inline constexpr std::size_t nonce_bytes = 32;
inline constexpr std::size_t proof_bytes = 32;  ///< HMAC-SHA256 output
using nonce = std::array<std::uint8_t, nonce_bytes>;
using proof = std::array<std::uint8_t, proof_bytes>;

/// Bounds on header fields (enforced by the decoder and by the cores).
inline constexpr std::size_t max_cluster_id_bytes = 128;
inline constexpr std::size_t max_endpoint_bytes = 256;
inline constexpr std::size_t max_reason_text_bytes = 512;

/// The receiving half of the application lane as one side remembers it; sent in auth / welcome so
/// that the other side knows where to resume (README.md "Resume rule").
struct resume_info {
  /// The incarnation of the other side that `last_delivered_seq` refers to; 0: never talked to it.
  std::uint64_t peer_incarnation = 0;
  /// The highest application seq delivered from that incarnation (0: none).
  std::uint64_t last_delivered_seq = 0;
  friend bool operator==(const resume_info&, const resume_info&) = default;
};

/// Dialer -> acceptor, first frame of a connection.
struct hello_frame {
  wire::version_range versions;
  std::string cluster_id;
  peer_role role = peer_role::peer;
  std::uint64_t sender_id = 0;  ///< node id (role peer) or client id (role client); non-zero
  std::uint64_t expected_acceptor = 0;  ///< node id the dialer means to reach; 0: any (clients)
  nonce sender_nonce{};
  std::uint64_t incarnation = 0;  ///< the dialer process's incarnation; non-zero
  friend bool operator==(const hello_frame&, const hello_frame&) = default;
};

/// Acceptor -> dialer, after the hello passed every check.
struct challenge_frame {
  std::uint16_t version = 0;      ///< chosen: the highest version in both ranges
  std::uint64_t acceptor_id = 0;  ///< the acceptor's node id
  nonce acceptor_nonce{};
  std::uint64_t incarnation = 0;  ///< the acceptor process's incarnation
  /// False only for a client on loopback at a node with no client secret: no proofs either way.
  bool authenticated = true;
  friend bool operator==(const challenge_frame&, const challenge_frame&) = default;
};

/// Dialer -> acceptor: the dialer's proof and resume point.
struct auth_frame {
  proof dialer_proof{};  ///< all zero when the challenge said unauthenticated
  resume_info resume;
  friend bool operator==(const auth_frame&, const auth_frame&) = default;
};

/// Acceptor -> dialer, after verifying the dialer's proof: the acceptor's proof and resume point.
struct welcome_frame {
  proof acceptor_proof{};
  resume_info resume;
  friend bool operator==(const welcome_frame&, const welcome_frame&) = default;
};

/// Either side, during the handshake: the connection is refused; the sender closes after writing
/// it.
struct refuse_frame {
  close_reason reason = close_reason::unknown;
  std::string text;  ///< for the log, at most max_reason_text_bytes
  friend bool operator==(const refuse_frame&, const refuse_frame&) = default;
};

/// Established: one message on a lane. Application-lane frames carry `seq` (1, 2, ... per pair of
/// incarnations); other lanes carry seq 0. Every data frame piggy-backs the sender's cumulative ack
/// (the highest application seq it delivered from the receiver's current incarnation).
struct data_frame {
  lane via = lane::application;
  std::uint64_t seq = 0;
  std::uint64_t ack = 0;
  bool has_payload = false;  ///< a payload message follows this header on the stream
  std::string destination;   ///< endpoint name at the receiving node, at most max_endpoint_bytes
  std::string source;        ///< endpoint name at the sending node, at most max_endpoint_bytes
  friend bool operator==(const data_frame&, const data_frame&) = default;
};

/// Established: a cumulative ack when no data frame is going the other way.
struct ack_frame {
  std::uint64_t ack = 0;
  friend bool operator==(const ack_frame&, const ack_frame&) = default;
};

/// Established: liveness and round-trip time. `sent_at_ns` is the pinger's own monotonic clock,
/// echoed unchanged in the pong, so the peer's clock never matters.
struct ping_frame {
  std::int64_t sent_at_ns = 0;
  friend bool operator==(const ping_frame&, const ping_frame&) = default;
};
struct pong_frame {
  std::int64_t echo_ns = 0;
  friend bool operator==(const pong_frame&, const pong_frame&) = default;
};

/// Established: the sender is closing on purpose; the receiver closes without reconnect storms.
struct goodbye_frame {
  close_reason reason = close_reason::shutting_down;
  std::string text;
  friend bool operator==(const goodbye_frame&, const goodbye_frame&) = default;
};

/// One decoded link header.
using frame_header =
    std::variant<hello_frame, challenge_frame, auth_frame, welcome_frame, refuse_frame, data_frame,
                 ack_frame, ping_frame, pong_frame, goodbye_frame>;

/// "hello", "challenge", ... (for logs).
std::string_view kind_name(const frame_header& h) noexcept;

}  // namespace troupe::link
