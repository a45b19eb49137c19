// Small value helpers of transport.hpp that need no CAF.
#include <charconv>

#include "runtime/transport/transport.hpp"

namespace troupe::transport {

result<address> parse_address(std::string_view text, bool allow_zero_port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return make_error(errc::invalid_argument,
                      "address '" + std::string(text) + "' is not host:port");
  const auto port_text = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || value > 65535 ||
      (value == 0 && !allow_zero_port))
    return make_error(errc::invalid_argument,
                      "address '" + std::string(text) + "' has no valid port (1..65535)");
  return address{std::string(text.substr(0, colon)), static_cast<std::uint16_t>(value)};
}

std::string to_string(const address& a) { return a.host + ":" + std::to_string(a.port); }

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "unknown";
}

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
