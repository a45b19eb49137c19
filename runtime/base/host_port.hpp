#pragma once
/// A network address as Troupe's flags and config files write it, validated once for every user:
/// the node's configuration, the transport and the clients.

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/base/result.hpp"

namespace troupe {

/// A validated network address. `host` is an IPv4 address, an IPv6 address (stored without
/// brackets) or a DNS name; it is not resolved here.
struct host_port {
  std::string host;
  std::uint16_t port = 0;

  /// "127.0.0.1:7101", "[::1]:7101", "node-1.example:7101".
  std::string to_string() const;
  bool is_ipv6() const noexcept { return host.find(':') != std::string::npos; }
  /// 0.0.0.0 or ::, which others cannot connect to.
  bool is_wildcard() const noexcept;
  bool operator==(const host_port&) const = default;
};

/// Parses "host:port", "[ipv6]:port". Port 1..65535, or 0 too when `allow_port_zero` ("any free
/// port"). Errors (invalid_argument) say what is wrong, without naming the option.
result<host_port> parse_host_port(std::string_view text, bool allow_port_zero = false);

}  // namespace troupe
