#pragma once
/// The link handshake of one connection as a pure state machine: frames and time in, frames to
/// write and a verdict out. No sockets, no clock reads (the caller passes monotonic `now`), no
/// randomness (the caller passes this side's nonce, e.g. from random_nonce()).
///
/// Frame sequence (README.md has the diagram):
///   dialer  -> hello      (versions, cluster id, role, id, intended acceptor, nonce_d,
///   incarnation) acceptor-> challenge  (chosen version, acceptor id, nonce_a, incarnation,
///   authenticated)
///              or refuse  (wrong_cluster, unknown_node, duplicate_node, wrong_node,
///                          incompatible_version, client_not_allowed)
///   dialer  -> auth       (proof_d = HMAC over the transcript, direction dialer->acceptor; resume)
///              or refuse  (wrong_node, incompatible_version, unauthenticated_peer, protocol_error)
///   acceptor-> welcome    (proof_a, direction acceptor->dialer; resume)   -- only after proof_d
///              or refuse  (bad_proof, too_many_clients)                      verified
///   dialer verifies proof_a: established, or refuse (bad_proof).
/// The acceptor reveals its proof only after verifying the dialer's, and the two directions use
/// different MAC labels, so a reflected or replayed proof never verifies. Nothing but handshake
/// frames is accepted before `established`; a data frame during the handshake is a protocol_error.
///
/// Ownership: one `handshake` per TCP connection, owned by the broker's connection state; it keeps
/// a copy of its config (secrets are shared by reference through shared_ptr). Not thread-safe (one
/// broker thread drives it). After `finished()` every call is a no-op returning an empty step.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/transport/link/auth_proof.hpp"
#include "runtime/transport/link/frame.hpp"
#include "runtime/wire/version.hpp"

namespace troupe::link {

enum class handshake_side : std::uint8_t { dialer, acceptor };

/// Asked once the other side's identity is known (acceptor: after the hello; dialer: after the
/// challenge), so the auth / welcome frame can carry this side's resume point for that peer
/// (peer_link::resume_point()). Return {} for a peer never talked to. Must not throw.
using resume_lookup = std::function<resume_info(peer_role role, std::uint64_t id)>;

/// Asked on the acceptor once a client has proved who it is (or, without a client secret, once
/// its auth frame arrived): true admits it, false refuses it with too_many_clients. Must not throw.
using client_admission = std::function<bool()>;

/// What a node (or a client) knows before any connection. Shared by all its handshakes.
struct handshake_config {
  std::string cluster_id;         ///< non-empty, at most max_cluster_id_bytes
  std::uint64_t self_id = 0;      ///< this node's id (role peer) or client id (a client); non-zero
  std::uint64_t incarnation = 0;  ///< this process's incarnation; non-zero
  peer_role self_role = peer_role::peer;
  wire::version_range versions = wire::supported_versions;
  /// Node ids allowed to connect as peers (acceptor side). Self is never accepted as a peer.
  std::set<std::uint64_t> peer_ids;
  /// Accept any peer id that proves the cluster secret (a node joining a cluster knows no member).
  bool accept_any_peer = false;
  /// The cluster secret: node <-> node proofs. Required for role peer.
  std::shared_ptr<const secret> node_secret;
  /// The client secret. On a node: clients must prove it; when null, clients are accepted only
  /// from loopback and without proofs. On a client: when set, the node must prove it (a node
  /// offering an unauthenticated session is refused with unauthenticated_peer); when null, the
  /// client accepts only an unauthenticated session.
  std::shared_ptr<const secret> client_secret;
  /// From start() to established, or the connection is refused with handshake_timeout.
  std::chrono::nanoseconds timeout = std::chrono::seconds(5);
  /// Answers resume-point questions; when empty, {} is sent (nothing to resume).
  resume_lookup resume;
  /// Acceptor: whether one more client connection may be served; when empty, every client is.
  client_admission admit_client;

  /// Checks the fields above for this side. Errors: errc::invalid_argument naming the field.
  status validate() const;
};

/// Per-connection facts the broker knows when the connection appears.
struct connection_facts {
  handshake_side side = handshake_side::dialer;
  /// Dialer: the node id it dials (0 for a client dialing an endpoint, meaning any node).
  std::uint64_t expected_peer_id = 0;
  /// Acceptor: whether the remote address is a loopback address (127.0.0.0/8, ::1).
  bool remote_is_loopback = false;
  /// This side's fresh nonce for this connection (random_nonce() in production).
  nonce local_nonce{};
};

/// The result of a successful handshake: who the other side is and where to resume.
struct handshake_outcome {
  handshake_side side = handshake_side::dialer;
  peer_role remote_role = peer_role::peer;
  std::uint64_t remote_id = 0;
  std::uint64_t remote_incarnation = 0;
  std::uint16_t version = 0;
  bool authenticated = true;
  /// The remote's resume point: what it last delivered from us (peer_link::attach uses it).
  resume_info remote_resume;
};

/// Why a handshake failed. `by_remote` is true when the other side sent the refusal.
struct handshake_failure {
  close_reason reason = close_reason::unknown;
  std::string detail;  ///< one line for the log; never contains a secret
  bool by_remote = false;
};

/// What one input produced. Write `to_write` in order; then, when `failure` is set, close the
/// connection (after writing: it may hold our refuse frame); when `outcome` is set, hand it to
/// peer_link::attach and feed every later frame there.
struct handshake_step {
  std::vector<frame_header> to_write;
  std::optional<handshake_outcome> outcome;
  std::optional<handshake_failure> failure;
};

class handshake {
 public:
  /// Precondition: config.validate() succeeded (checked: otherwise start() fails with
  /// protocol_error and says so in the detail).
  handshake(handshake_config config, connection_facts facts);

  /// Starts the clock; the dialer's step carries its hello. Call exactly once, first.
  handshake_step start(std::chrono::nanoseconds now);

  /// One received header (decoded by decode_frame_header). A payload-carrying frame during the
  /// handshake is a protocol_error, so there is no payload parameter.
  handshake_step on_frame(const frame_header& header, std::chrono::nanoseconds now);

  /// Fails with handshake_timeout once `now - start >= config.timeout`.
  handshake_step on_tick(std::chrono::nanoseconds now);

  /// True once an outcome or a failure has been produced.
  bool finished() const noexcept { return state_ == state::done; }

 private:
  enum class state : std::uint8_t {
    idle,
    dialer_await_challenge,
    dialer_await_welcome,
    acceptor_await_hello,
    acceptor_await_auth,
    done
  };

  handshake_step on_hello(const hello_frame& h);
  handshake_step on_challenge(const challenge_frame& c);
  handshake_step on_auth(const auth_frame& a);
  handshake_step on_welcome(const welcome_frame& w);
  handshake_step fail(close_reason reason, std::string detail, bool send_refuse);
  const secret* secret_for(peer_role dialer_role) const noexcept;
  resume_info lookup_resume(peer_role role, std::uint64_t id) const;

  handshake_config config_;
  connection_facts facts_;
  state state_ = state::idle;
  std::chrono::nanoseconds started_at_{0};
  bool config_ok_ = true;
  std::string config_error_;
  // Filled as frames arrive.
  proof_transcript transcript_;
  bool authenticated_ = true;
  handshake_outcome outcome_;
};

}  // namespace troupe::link
