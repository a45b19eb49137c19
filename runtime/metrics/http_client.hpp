#pragma once
/// A minimal blocking HTTP/1.1 client for tools and tests: `troupe status` reading a node's
/// /status.txt, tests talking to nodes, Prometheus and chromedriver. One request per connection
/// (`Connection: close`; HTTP/1.1 because chromedriver refuses 1.0); chunked answers are decoded.
/// It buffers the whole response (bounded by `max_bytes`).
/// Thread-safety: free functions without shared state.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/base/result.hpp"

namespace troupe::metrics {

struct http_reply {
  int status = 0;
  std::string headers;  ///< the status line and headers, without the blank line
  std::string body;
};

struct http_request_options {
  std::string method = "GET";
  std::string body;  ///< sent with Content-Length when not empty (or when method is POST)
  std::string content_type = "application/json";
  std::chrono::milliseconds timeout{10'000};  ///< for the whole exchange
  std::size_t max_bytes = 64u << 20;          ///< a longer response is an error
};

/// Sends one request to http://host:port/path. `host` is an IPv4 address or a name that resolves
/// to one. Errors (never throws): invalid_argument for a bad host or path, io for connection
/// failures, timeouts, oversized or malformed responses (chunked encoding included); each message
/// names host:port.
result<http_reply> http_request(const std::string& host, std::uint16_t port,
                                const std::string& path, const http_request_options& options = {});

/// GET with the default options and `timeout`.
result<http_reply> http_get(const std::string& host, std::uint16_t port, const std::string& path,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace troupe::metrics
