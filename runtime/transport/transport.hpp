#pragma once
/// The node's transport: one CAF io broker per node owning every TCP connection (peers and clients).
/// Actors talk to it with the CAF messages declared here; README.md in this folder explains lanes,
/// reconnects and metrics.
///
/// Actor-facing contract
/// - Register a local endpoint: send `(register_atom, name, caf::actor)` to the transport; it answers
///   `ok_atom`. Messages addressed to (this node, name) are delivered to that actor as `delivery`.
///   Registered with `(register_atom, name, caf::actor, batched_atom)` instead, the endpoint gets
///   `delivery_batch`es: consecutive messages from one remote endpoint on one lane that arrived in
///   one socket read share one mailbox element (CAF's per-message cost, paid per batch).
/// - Send: `outbound{destination_node, destination_endpoint, source_endpoint, lane, message_id,
///   payload}`. The sender (the CAF sender of that message) may later receive
///   - `busy{...}` when the lane's queue towards that peer is full: the message was NOT taken;
///   - `delivery_failed{...}` when an accepted message can no longer be delivered (the peer restarted
///     with a new incarnation before acknowledging it, the peer or endpoint is unknown, shutdown).
///   Nothing else is ever dropped silently on the application lane. On the Raft lanes a message
///   still queued when the connection breaks is dropped (Raft retries) and counted in a metric.
/// - Local delivery (destination_node == self) and remote delivery look the same to the receiver: a
///   `delivery` carrying the same immutable wire::message (locally, the very same buffer).
/// - Clients: once authenticated, each client request is delivered to the endpoint registered as
///   `client_service_endpoint` as `client_request`; answer with `client_reply` sent to the transport.
/// - `(stop_atom)`: goodbye to every peer, flush, close, then the broker quits.
/// - `(status_atom, node_id)`: answers `peer_status`.
/// - `set_peers{...}`: the membership changed (see set_peers).
///
/// Threading: the broker runs on CAF's multiplexer thread; every message above may be sent from any
/// actor or thread. The config's logger and metrics are called from that thread only.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "runtime/base/host_port.hpp"
#include "runtime/base/log_level.hpp"
#include "runtime/base/result.hpp"
#include "runtime/transport/lane.hpp"
#include "runtime/transport/link/auth_proof.hpp"
#include "runtime/transport/link/lane_queues.hpp"
#include "runtime/transport/wire_inspect.hpp"
#include "runtime/wire/message.hpp"

namespace prometheus {
class Registry;
}

namespace troupe::transport {

using node_id = std::uint64_t;

/// The logical endpoint name that receives client requests.
inline constexpr std::string_view client_service_endpoint = "client";

// Logging goes through troupe::log_function (runtime/base/log_level.hpp), called from the broker's
// thread only; it must not block for long and must not throw.
using troupe::log_function;
using troupe::log_level;

/// host:port (runtime/base/host_port.hpp: the node's configuration parses and validates it).
using address = troupe::host_port;

/// parse_host_port under the transport's historical name.
inline result<address> parse_address(std::string_view text, bool allow_zero_port = false) {
  return parse_host_port(text, allow_zero_port);
}
inline std::string to_string(const address& a) { return a.to_string(); }

/// Every bound the transport keeps (TigerBeetle style: a limit on everything).
struct limits {
  std::size_t max_frame_bytes = 16u << 20;   ///< one wire::message frame (header or payload)
  /// Socket reads ask for at most this many bytes; the chunk adapts between read_chunk_min_bytes
  /// and this bound to what the reads bring (read_chunk.hpp says why).
  std::size_t read_chunk_bytes = 64u << 10;
  std::size_t read_chunk_min_bytes = 4u << 10;
  /// Bytes handed to a socket but not yet written: above this, frames wait in the lane queues, so
  /// that a control frame queued later still goes out before queued bulk frames.
  std::size_t write_high_water_bytes = 256u << 10;
  /// Lane bounds and scheduling weights, per peer (policies: runtime/transport/link/lane_queues.hpp).
  /// The application lane's bound is also the retransmit buffer's.
  link::lane_config lanes;
  std::uint32_t ack_every_deliveries = 32;
  std::chrono::milliseconds ping_interval{1000};
  std::chrono::milliseconds idle_timeout{10000};
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds tick_interval{100};
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{5000};
  std::size_t max_inbound_unauthenticated = 256;  ///< inbound connections still in their handshake
  /// Established client connections; a client beyond it is refused in the handshake with
  /// too_many_clients (counted in troupe_transport_handshake_refusals_total).
  std::size_t max_clients = 4096;
};

struct config {
  node_id self = 0;
  std::string cluster_id;
  address listen;                       ///< port 0: pick a free one (see spawn_result::port)
  /// What others dial (default: listen). Informational for the node (status, docs): peers are
  /// dialed at the addresses in `peers`, so the broker itself does not read it.
  std::optional<address> advertise;
  /// The other members (self, if present, is ignored). This node dials the peers with a higher id;
  /// a peer with port 0 is never dialed (it must dial us).
  std::map<node_id, address> peers;
  /// Accept an authenticated peer (it proved the cluster secret) even if its id is not in
  /// `peers`, until the first `set_peers`: a node that joins an existing cluster knows no member
  /// yet; the members it is added to dial it (troupe node --join).
  bool accept_unknown_peers = false;
  std::shared_ptr<const link::secret> node_secret;    ///< shared by the cluster's nodes; never sent
  std::shared_ptr<const link::secret> client_secret;  ///< null: clients on loopback only, no proof
  /// This process's incarnation: must differ after each restart (0: spawn_transport draws a random
  /// one with link::random_incarnation).
  std::uint64_t incarnation = 0;
  std::uint64_t seed = 0;  ///< seeds the reconnect jitter (0: the incarnation); nonces come from OpenSSL
  limits lim;
  prometheus::Registry* registry = nullptr;  ///< metrics go here when set (must outlive the broker)
  log_function log;                          ///< may be empty
};

// ---- CAF messages ------------------------------------------------------------------------------

using register_atom = caf::atom_constant<caf::atom("tr_reg")>;
using stop_atom = caf::atom_constant<caf::atom("tr_stop")>;
using status_atom = caf::atom_constant<caf::atom("tr_status")>;
using ok_atom = caf::atom_constant<caf::atom("tr_ok")>;
/// Marks a registration whose endpoint receives delivery_batch instead of delivery.
using batched_atom = caf::atom_constant<caf::atom("tr_batched")>;

/// A request to send `payload` to (destination_node, destination_endpoint) on `via`.
struct outbound {
  node_id destination_node = 0;
  std::string destination_endpoint;
  std::string source_endpoint;
  lane via = lane::application;
  std::uint64_t message_id = 0;  ///< chosen by the sender; echoed in busy / delivery_failed
  wire::message payload;
};

/// What a registered endpoint receives, from this node or another.
struct delivery {
  node_id source_node = 0;
  std::string source_endpoint;
  std::string destination_endpoint;
  lane via = lane::application;
  wire::message payload;
};

/// What an endpoint registered with `batched_atom` receives instead of `delivery`: the payloads of
/// several consecutive messages from (source_node, source_endpoint) on `via`, in the order they
/// were sent; `payloads` is never empty. Everything a `delivery` promises holds for each payload
/// (validated, and on the application lane exactly once and in order across batches). The
/// transport sends everything, batches or not, in the order it received it: a batch holds only
/// messages that arrived back to back, and a message for another endpoint, lane or source ends it.
/// Local sends to a batched endpoint arrive as a batch of one.
struct delivery_batch {
  node_id source_node = 0;
  std::string source_endpoint;
  std::string destination_endpoint;
  lane via = lane::application;
  std::vector<wire::message> payloads;
};

enum class failure_reason : std::uint8_t {
  peer_restarted,    ///< the peer came back as a new incarnation before acknowledging
  unknown_peer,      ///< no such node in the configuration
  unknown_endpoint,  ///< local destination with no registered endpoint
  shutting_down,
  too_large,         ///< over limits::max_frame_bytes
};
std::string_view to_string(failure_reason r) noexcept;

/// Sent to the sender of an accepted `outbound` that will never be delivered.
struct delivery_failed {
  node_id destination_node = 0;
  std::string destination_endpoint;
  std::uint64_t message_id = 0;
  failure_reason reason = failure_reason::peer_restarted;
};

/// The peers this node talks to from now on (the Raft configuration changed): id -> "host:port"
/// (empty: accept the peer's connections but never dial it). A peer no longer listed is said
/// goodbye and forgotten (its queued messages are dropped, application ones reported lost); a new
/// one is dialed if this node dials it (the lower id dials). Answers ok_atom.
struct set_peers {
  std::map<node_id, std::string> peers;
};

/// Sent to the sender of an `outbound` that was not accepted because the lane's queue is full.
struct busy {
  node_id destination_node = 0;
  lane via = lane::application;
  std::uint64_t message_id = 0;
};

/// A request from an authenticated client connection.
struct client_request {
  std::uint64_t client = 0;  ///< connection id, valid until that connection closes
  wire::message payload;
};

/// The answer to a client_request, sent to the transport.
struct client_reply {
  std::uint64_t client = 0;
  wire::message payload;
};

enum class connection_state : std::uint8_t { disconnected = 0, connecting = 1, handshaking = 2, up = 3 };
std::string_view to_string(connection_state s) noexcept;

struct peer_status {
  node_id peer = 0;
  connection_state state = connection_state::disconnected;
  std::uint64_t peer_incarnation = 0;
  std::uint64_t unacknowledged = 0;  ///< application messages sent but not acknowledged
  std::uint64_t queued = 0;          ///< messages waiting in the lane queues
};

// ---- Inspection (CAF 0.17 form) -----------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbound& x) {
  return f(caf::meta::type_name("troupe.outbound"), x.destination_node, x.destination_endpoint,
           x.source_endpoint, x.via, x.message_id, x.payload);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery& x) {
  return f(caf::meta::type_name("troupe.delivery"), x.source_node, x.source_endpoint,
           x.destination_endpoint, x.via, x.payload);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_batch& x) {
  return f(caf::meta::type_name("troupe.delivery_batch"), x.source_node, x.source_endpoint,
           x.destination_endpoint, x.via, x.payloads);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_failed& x) {
  return f(caf::meta::type_name("troupe.delivery_failed"), x.destination_node,
           x.destination_endpoint, x.message_id, x.reason);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, busy& x) {
  return f(caf::meta::type_name("troupe.busy"), x.destination_node, x.via, x.message_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_request& x) {
  return f(caf::meta::type_name("troupe.client_request"), x.client, x.payload);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_reply& x) {
  return f(caf::meta::type_name("troupe.client_reply"), x.client, x.payload);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, set_peers& x) {
  return f(caf::meta::type_name("troupe.set_peers"), x.peers);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_status& x) {
  return f(caf::meta::type_name("troupe.peer_status"), x.peer, x.state, x.peer_incarnation,
           x.unacknowledged, x.queued);
}

// ---- Setup --------------------------------------------------------------------------------------

/// Adds every message type above (and wire::message) to `cfg`. Call before creating the system.
void add_message_types(caf::actor_system_config& cfg);

struct spawn_result {
  caf::actor broker;
  std::uint16_t port = 0;  ///< the port actually bound (useful with listen.port == 0)
};

/// Validates `cfg`, binds the listen address, spawns the broker (which dials the peers it must
/// dial). Errors: invalid_argument (bad config), io (address in use / unusable).
/// Requires the io module loaded (`cfg.load<caf::io::middleman>()`).
result<spawn_result> spawn_transport(caf::actor_system& system, config cfg);

}  // namespace troupe::transport
