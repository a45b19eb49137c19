#include "runtime/base/host_port.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

namespace troupe {

namespace {

error invalid(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  for (;;) {
    auto dot = s.find('.', start);
    auto label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!is_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

/// A strictly decimal port number (no sign, no spaces), not yet range-checked.
std::optional<std::uint64_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

std::string host_port::to_string() const {
  if (is_ipv6()) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

bool host_port::is_wildcard() const noexcept {
  if (host == "0.0.0.0") return true;
  if (!is_ipv6()) return false;
  in6_addr a{};
  return ::inet_pton(AF_INET6, host.c_str(), &a) == 1 &&
         std::memcmp(&a, &in6addr_any, sizeof a) == 0;
}

result<host_port> parse_host_port(std::string_view text, bool allow_port_zero) {
  if (text.empty()) return invalid("expected host:port, got an empty value");
  const std::string quoted = "'" + std::string(text) + "'";
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return invalid("missing ']' in " + quoted);
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return invalid("expected [ipv6]:port, got " + quoted);
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    bracketed = true;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid("expected host:port, got " + quoted);
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return invalid("an IPv6 address needs brackets, as in [::1]:7101; got " + quoted);
    }
  }
  if (host.empty()) return invalid("missing host in " + quoted);
  auto port = parse_port(port_text);
  const std::uint64_t min_port = allow_port_zero ? 0 : 1;
  if (!port || *port < min_port || *port > 65535) {
    return invalid("port must be " + std::to_string(min_port) + "..65535, got '" +
                   std::string(port_text) + "' in " + quoted);
  }
  const std::string host_str(host);
  if (bracketed) {
    in6_addr a{};
    if (::inet_pton(AF_INET6, host_str.c_str(), &a) != 1) {
      return invalid("not an IPv6 address: '" + host_str + "' in " + quoted);
    }
  } else if (std::all_of(host.begin(), host.end(),
                         [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    // All digits and dots: it must be a dotted IPv4 address, not a name.
    in_addr a{};
    if (::inet_pton(AF_INET, host_str.c_str(), &a) != 1) {
      return invalid("not an IPv4 address: '" + host_str + "' in " + quoted);
    }
  } else if (!is_host_name(host)) {
    return invalid("not a valid host name: '" + host_str + "' in " + quoted);
  }
  return host_port{host_str, static_cast<std::uint16_t>(*port)};
}

}  // namespace troupe
