#pragma once
/// The protocol half of one client connection to a node, without sockets, clocks or randomness:
/// the link handshake in the client role, then requests out and replies in on the client lane.
/// Bytes received go in (`on_bytes`), bytes to write come out (`output`), so one class serves the
/// blocking `connection` (command-line tools, tests) and the event loop of `troupe bench kv`, which
/// drives hundreds of them from one thread.
///
/// Errors are values, and final: after one, the link is broken and every call returns it again.
/// The codes are connection::open's and connection::call's (connection.hpp): errc::refused (the
/// node refused who we are), errc::timeout (our handshake timer ran out), errc::closed (the node
/// closed, said goodbye or refused for its own reasons, e.g. too_many_clients), errc::malformed.
///
/// Not thread-safe: one owner drives it.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/transport/link/auth_proof.hpp"
#include "runtime/transport/link/frame.hpp"
#include "runtime/transport/link/handshake.hpp"
#include "runtime/transport/link/peer_link.hpp"
#include "runtime/wire/client_types.hpp"
#include "runtime/wire/framing.hpp"

namespace troupe::client {

struct client_link_config {
  std::string address;  ///< "host:port", for messages only
  std::string cluster_id;
  /// Null: only an unauthenticated session (a node without client secret, on loopback).
  std::shared_ptr<const link::secret> client_secret;
  std::uint64_t client_id = 0;    ///< non-zero
  std::uint64_t incarnation = 0;  ///< non-zero (link::random_incarnation())
  link::nonce nonce{};            ///< this connection's handshake nonce (link::random_nonce())
  std::chrono::nanoseconds handshake_timeout = std::chrono::seconds(3);
};

class client_link {
 public:
  explicit client_link(client_link_config config);

  /// Starts the handshake (its hello goes to output()). Call once, first. `now` is monotonic.
  status start(std::chrono::nanoseconds now);
  /// Bytes read from the socket, in order.
  status on_bytes(std::span<const std::byte> bytes, std::chrono::nanoseconds now);
  /// Call now and then (every 100 ms or so): the handshake's timeout, pings, acks.
  status on_tick(std::chrono::nanoseconds now);
  /// Queues a request to the node's client service; its frame goes to output(). Only once
  /// established().
  status send(const wire::client_request& request, std::chrono::nanoseconds now);

  bool established() const noexcept { return link_ != nullptr; }
  /// The node's id (from its handshake); 0 before established().
  std::uint64_t node_id() const noexcept { return node_id_; }
  const std::string& address() const noexcept { return config_.address; }
  /// The first error, empty while none.
  const std::string& broken() const noexcept { return broken_; }

  /// Bytes to write, in order; the caller erases the prefix it wrote.
  std::vector<char>& output() noexcept { return out_; }
  /// Replies received and not yet taken, in arrival order.
  std::deque<wire::client_reply>& replies() noexcept { return replies_; }

  /// The bytes of a goodbye frame (shutting_down) to write before closing on purpose.
  static std::vector<char> goodbye_bytes(const std::string& why);

 private:
  status fail(const error& e);
  status run_step(link::handshake_step step, std::chrono::nanoseconds now);
  status handle(link::link_events events);
  status flush_link(std::chrono::nanoseconds now);
  void append(const link::frame_header& header, const wire::message* payload);

  client_link_config config_;
  std::string source_;  ///< our endpoint name, where replies are addressed
  link::handshake handshake_;
  std::unique_ptr<link::peer_link> link_;
  std::uint64_t node_id_ = 0;
  wire::frame_assembler assembler_;
  std::optional<link::data_frame> awaiting_payload_;  ///< header read, its payload not yet
  std::vector<char> out_;
  std::deque<wire::client_reply> replies_;
  std::string broken_;
  errc broken_code_ = errc::closed;
};

}  // namespace troupe::client
