// Small value helpers of transport.hpp that need no CAF.
#include "runtime/transport/transport.hpp"

namespace troupe::transport {

std::string_view to_string(failure_reason r) noexcept {
  switch (r) {
    case failure_reason::peer_restarted: return "peer_restarted";
    case failure_reason::unknown_peer: return "unknown_peer";
    case failure_reason::unknown_endpoint: return "unknown_endpoint";
    case failure_reason::shutting_down: return "shutting_down";
    case failure_reason::too_large: return "too_large";
  }
  return "unknown";
}

std::string_view to_string(connection_state s) noexcept {
  switch (s) {
    case connection_state::disconnected: return "disconnected";
    case connection_state::connecting: return "connecting";
    case connection_state::handshaking: return "handshaking";
    case connection_state::up: return "up";
  }
  return "unknown";
}

}  // namespace troupe::transport
