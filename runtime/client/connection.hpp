#pragma once
/// A blocking client connection to one Troupe node: TCP connect, the link handshake in the client
/// role, then requests and replies on the client lane. For command-line tools and tests; no CAF,
/// no threads. Applications inside a node use actors instead.
///
/// Requests go to the node's client service endpoint (`client_service_endpoint`); replies come back
/// addressed to this connection's `source` endpoint. The connection answers the node's pings, so it
/// may stay open for as long as the caller keeps calling `call`/`poll`.
///
/// Not thread-safe. Every blocking call takes a deadline and returns errc::timeout when it passes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "runtime/base/result.hpp"
#include "runtime/transport/link/auth_proof.hpp"
#include "runtime/transport/link/frame.hpp"
#include "runtime/wire/client_types.hpp"

namespace troupe::client {

/// The endpoint name that a node's client service registers with the transport.
inline constexpr const char* client_service_endpoint = "client";

struct connection_options {
  std::string host;
  std::uint16_t port = 0;
  std::string cluster_id;
  /// The client secret; null: only an unauthenticated session, which a node grants on loopback
  /// when it has no client secret.
  std::shared_ptr<const link::secret> client_secret;
  /// Identifies this client's session (Raft thesis 6.3); non-zero. Random by default.
  std::uint64_t client_id = 0;
  std::chrono::milliseconds connect_timeout{3000};
};

/// What a handshake that ended with `reason` means for the caller of connection::open:
/// errc::refused when the node refused who we are (secret, cluster id, versions, permission: final,
/// no other node or retry helps), errc::timeout when our own handshake timer ran out (the node is
/// paused or overloaded: another node may answer), errc::closed otherwise (the node is stopping, a
/// garbled exchange: try another).
errc handshake_error_code(link::close_reason reason) noexcept;

class connection {
 public:
  /// Connects and completes the handshake. Errors: errc::io (connect failed: refused, unreachable),
  /// errc::timeout (no connection or no finished handshake within connect_timeout: the node may be
  /// paused or overloaded), errc::refused (the node refused us, the message says why: wrong secret,
  /// wrong cluster id, versions, client not allowed; final), errc::closed (the node ended the
  /// handshake for its own reasons, e.g. it is stopping), errc::malformed (the node spoke nonsense).
  static result<std::unique_ptr<connection>> open(const connection_options& options);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// The node id of the node we are connected to (from its handshake).
  std::uint64_t node_id() const noexcept;
  /// "host:port" we connected to.
  const std::string& address() const noexcept;

  /// Sends `request` and waits for the reply with the same (client id, sequence). Errors:
  /// errc::timeout (outcome unknown: the request may have been applied), errc::closed (the
  /// connection broke; outcome unknown if the request was written), errc::malformed.
  result<wire::client_reply> call(const wire::client_request& request,
                                  std::chrono::milliseconds deadline);

  /// Sends `request` without waiting (for subscriptions); errors as for call.
  status send(const wire::client_request& request);
  /// Waits for the next reply of any sequence (for subscriptions); nullopt at the deadline.
  result<std::optional<wire::client_reply>> poll(std::chrono::milliseconds deadline);

  /// Closes with a goodbye frame. Idempotent; the destructor calls it.
  void close();

 private:
  struct impl;
  explicit connection(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace troupe::client
