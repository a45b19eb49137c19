#include "runtime/metrics/http_client.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cctype>
#include <cstring>
#include <optional>
#include <string_view>

namespace troupe::metrics {

namespace {

using clock = std::chrono::steady_clock;

/// Closes the descriptor on every path out.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

int remaining_ms(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

/// Waits until `fd` is ready for `events`; false at the deadline.
bool wait_ready(int fd, short events, clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

/// Decodes a chunked body (RFC 9112 7.1); nullopt if malformed. Trailers are ignored.
std::optional<std::string> dechunk(std::string_view body) {
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    const auto eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    std::size_t length = 0;
    auto size_end = body.find_first_of(";\r", pos);  // chunk extensions after ';' are ignored
    auto [ptr, ec] = std::from_chars(body.data() + pos, body.data() + size_end, length, 16);
    if (ec != std::errc{} || ptr != body.data() + size_end) return std::nullopt;
    if (length == 0) return out;
    if (length > body.size() - (eol + 2) || body.size() - (eol + 2) - length < 2) return std::nullopt;
    out.append(body.substr(eol + 2, length));
    pos = eol + 2 + length;
    if (body.compare(pos, 2, "\r\n") != 0) return std::nullopt;
    pos += 2;
  }
}

bool header_has(std::string_view headers, std::string_view name, std::string_view value) {
  // Case-insensitive search for "\r\nname: ...value..." (good enough for Transfer-Encoding).
  auto lower = [](std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
  };
  const auto h = lower(headers);
  const auto at = h.find("\r\n" + lower(name) + ":");
  if (at == std::string::npos) return false;
  const auto end = h.find("\r\n", at + 2);
  return h.substr(at, end == std::string::npos ? std::string::npos : end - at).find(lower(value)) !=
         std::string::npos;
}

/// The total size (headers + body) of a response with a Content-Length, once its headers are in.
std::optional<std::size_t> content_length(std::string_view response) {
  const auto head_end = response.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return std::nullopt;
  const auto headers = response.substr(0, head_end);
  if (header_has(headers, "Transfer-Encoding", "chunked")) return std::nullopt;
  std::string lower(headers);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return std::nullopt;
  auto begin = at + 17;
  while (begin < lower.size() && lower[begin] == ' ') ++begin;
  std::size_t length = 0;
  auto [ptr, ec] = std::from_chars(lower.data() + begin, lower.data() + lower.size(), length);
  if (ec != std::errc{}) return std::nullopt;
  return head_end + 4 + length;
}

}  // namespace

result<http_reply> http_request(const std::string& host, std::uint16_t port,
                                const std::string& path, const http_request_options& options) {
  const std::string where = host + ":" + std::to_string(port);
  auto fail = [&](std::string why) { return make_error(errc::io, "http " + where + path + ": " + why); };
  if (path.empty() || path.front() != '/' || path.find_first_of(" \r\n") != std::string::npos) {
    return make_error(errc::invalid_argument, "http: invalid path '" + path + "'");
  }
  if (port == 0) return make_error(errc::invalid_argument, "http: port 0 in " + where);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || found == nullptr) {
    return make_error(errc::invalid_argument,
                      "http: cannot resolve '" + host + "' to an IPv4 address: " + ::gai_strerror(rc));
  }
  sockaddr_in address{};
  std::memcpy(&address, found->ai_addr, sizeof address);
  ::freeaddrinfo(found);
  address.sin_port = htons(port);

  const auto deadline = clock::now() + options.timeout;
  fd_guard s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (s.fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno != EINPROGRESS) return fail(std::string("connect: ") + std::strerror(errno));
    if (!wait_ready(s.fd, POLLOUT, deadline)) return fail("connect timed out");
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return fail(std::string("connect: ") + std::strerror(error));
  }

  std::string request = options.method + " " + path + " HTTP/1.1\r\nHost: " + where +
                        "\r\nAccept: */*\r\nUser-Agent: troupe\r\nConnection: close\r\n";
  if (!options.body.empty() || options.method == "POST") {
    request += "Content-Type: " + options.content_type +
               "\r\nContent-Length: " + std::to_string(options.body.size()) + "\r\n";
  }
  request += "\r\n" + options.body;
  for (std::size_t sent = 0; sent < request.size();) {
    if (!wait_ready(s.fd, POLLOUT, deadline)) return fail("send timed out");
    auto n = ::send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return fail(std::string("send: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }

  std::string response;
  char buffer[65536];
  for (;;) {
    if (!wait_ready(s.fd, POLLIN, deadline)) return fail("no complete answer in time");
    auto n = ::recv(s.fd, buffer, sizeof buffer, 0);
    if (n == 0) break;
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return fail(std::string("recv: ") + std::strerror(errno));
    response.append(buffer, static_cast<std::size_t>(n));
    if (response.size() > options.max_bytes) {
      return fail("answer larger than " + std::to_string(options.max_bytes) + " bytes");
    }
    // Some servers (chromedriver) keep the connection open despite `Connection: close`: a body
    // whose Content-Length has arrived is complete.
    if (auto length = content_length(response); length && response.size() >= *length) break;
  }

  http_reply reply;
  const auto head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos || response.compare(0, 5, "HTTP/") != 0) {
    return fail("not an HTTP response");
  }
  const auto space = response.find(' ');
  if (space == std::string::npos || space > head_end) return fail("no status code");
  auto [ptr, ec] = std::from_chars(response.data() + space + 1, response.data() + head_end, reply.status);
  if (ec != std::errc{} || reply.status < 100 || reply.status > 599) return fail("bad status code");
  reply.headers = response.substr(0, head_end);
  reply.body = response.substr(head_end + 4);
  if (header_has(reply.headers, "Transfer-Encoding", "chunked")) {
    auto body = dechunk(reply.body);
    if (!body) return fail("malformed chunked body");
    reply.body = std::move(*body);
  }
  return reply;
}

result<http_reply> http_get(const std::string& host, std::uint16_t port, const std::string& path,
                            std::chrono::milliseconds timeout) {
  http_request_options options;
  options.timeout = timeout;
  return http_request(host, port, path, options);
}

}  // namespace troupe::metrics
