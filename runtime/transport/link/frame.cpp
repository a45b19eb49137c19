#include "runtime/transport/link/frame.hpp"

#include <type_traits>

namespace troupe::link {

std::string_view to_string(lane l) noexcept {
  switch (l) {
    case lane::raft_control:
      return "raft_control";
    case lane::raft_bulk:
      return "raft_bulk";
    case lane::application:
      return "application";
    case lane::client:
      return "client";
  }
  return "unknown";
}

std::string_view to_string(peer_role r) noexcept {
  switch (r) {
    case peer_role::peer:
      return "peer";
    case peer_role::client:
      return "client";
  }
  return "unknown";
}

std::string_view to_string(close_reason r) noexcept {
  switch (r) {
    case close_reason::unknown:
      return "unknown";
    case close_reason::bad_proof:
      return "bad_proof";
    case close_reason::wrong_cluster:
      return "wrong_cluster";
    case close_reason::unknown_node:
      return "unknown_node";
    case close_reason::duplicate_node:
      return "duplicate_node";
    case close_reason::wrong_node:
      return "wrong_node";
    case close_reason::incompatible_version:
      return "incompatible_version";
    case close_reason::client_not_allowed:
      return "client_not_allowed";
    case close_reason::unauthenticated_peer:
      return "unauthenticated_peer";
    case close_reason::handshake_timeout:
      return "handshake_timeout";
    case close_reason::protocol_error:
      return "protocol_error";
    case close_reason::idle_timeout:
      return "idle_timeout";
    case close_reason::shutting_down:
      return "shutting_down";
    case close_reason::superseded:
      return "superseded";
    case close_reason::peer_restarted:
      return "peer_restarted";
    case close_reason::too_many_clients:
      return "too_many_clients";
  }
  return "unknown";
}

std::string_view kind_name(const frame_header& h) noexcept {
  return std::visit(
      [](const auto& f) -> std::string_view {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, hello_frame>)
          return "hello";
        else if constexpr (std::is_same_v<T, challenge_frame>)
          return "challenge";
        else if constexpr (std::is_same_v<T, auth_frame>)
          return "auth";
        else if constexpr (std::is_same_v<T, welcome_frame>)
          return "welcome";
        else if constexpr (std::is_same_v<T, refuse_frame>)
          return "refuse";
        else if constexpr (std::is_same_v<T, data_frame>)
          return "data";
        else if constexpr (std::is_same_v<T, ack_frame>)
          return "ack";
        else if constexpr (std::is_same_v<T, ping_frame>)
          return "ping";
        else if constexpr (std::is_same_v<T, pong_frame>)
          return "pong";
        else
          return "goodbye";
      },
      h);
}

}  // namespace troupe::link
