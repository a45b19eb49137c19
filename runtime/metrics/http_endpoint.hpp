#pragma once
/// The node's HTTP endpoint: `/metrics` (Prometheus text format 0.0.4), `/health` and `/status`, on
/// one address. Runs its own CivetServer rather than prometheus::Exposer, which aborts the process
/// when its port is taken and serves nothing but /metrics (DESIGN.md 7).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/collectable.h>

#include "runtime/base/result.hpp"

class CivetServer;

namespace troupe::metrics {

/// What a pluggable handler answers.
struct http_response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// Produces the response for one GET. Called on one of the endpoint's worker threads, possibly on
/// several at once: it must be thread-safe and must not block for long.
using http_handler = std::function<http_response()>;

/// Where and how to listen.
struct endpoint_options {
  /// An IPv4 address, or a name that resolves to one (e.g. "localhost"). Loopback by default so
  /// that metrics and status are not exposed beyond the machine unless asked for. civetweb, as
  /// Debian builds it, has no IPv6: an IPv6 address is refused with a clear error.
  std::string host = "127.0.0.1";
  /// 0 picks a free port; read it back with `http_endpoint::port()`.
  std::uint16_t port = 0;
  /// Worker threads serving requests. Scrapes are rare and cheap; two keep one slow client from
  /// blocking a Prometheus scrape.
  unsigned threads = 2;
};

/// Serves the given collectables on `/metrics` and the pluggable handlers on `/health`, `/status`,
/// `/status.json` and `/status.txt` (the last two 404 until set). Other paths get 404; methods other
/// than GET and HEAD get 405.
///
/// Thread-safety: every member function may be called from any thread. Handlers are swapped under a
/// mutex and copied before they run, so replacing one while a request is in flight is safe.
/// Lifetime: the destructor stops the server and waits for requests in flight, so anything a
/// handler captures must outlive the endpoint (destroy the endpoint first).
class http_endpoint {
 public:
  /// Starts listening. Errors (invalid_argument for a bad host, io for a port that cannot be bound)
  /// carry a one-line message naming the address, e.g.
  /// "metrics endpoint: cannot listen on 127.0.0.1:9100: cannot bind to 127.0.0.1:9100: 98 (Address
  /// already in use)". Never throws and never aborts.
  static result<std::unique_ptr<http_endpoint>> start(
      const endpoint_options& options,
      std::vector<std::shared_ptr<const prometheus::Collectable>> collectables);

  ~http_endpoint();
  http_endpoint(const http_endpoint&) = delete;
  http_endpoint& operator=(const http_endpoint&) = delete;

  /// The port actually bound (useful when `options.port` was 0).
  std::uint16_t port() const noexcept { return port_; }
  /// "host:port" as bound, e.g. "127.0.0.1:41213".
  std::string address() const;

  /// Adds a collectable to those served on /metrics (e.g. a component's own registry).
  void add_collectable(std::shared_ptr<const prometheus::Collectable> collectable);
  /// Replaces the /health handler (default: 200 "ok").
  void set_health_handler(http_handler handler);
  /// Replaces the /status handler (default: a minimal HTML page until the node provides one).
  void set_status_handler(http_handler handler);
  /// Sets the handler of one of the `pluggable_paths` (an empty handler restores its default).
  /// Returns false, changing nothing, for any other path: civetweb's routes are fixed at start.
  bool set_handler(const std::string& path, http_handler handler);

  /// The paths served by pluggable handlers.
  static constexpr const char* pluggable_paths[] = {"/health", "/status", "/status.json",
                                                    "/status.txt"};

  /// The text served on /metrics now (what a scrape would get).
  std::string render_metrics() const;

  /// Answers one request for `path` (used by the server's request callback; exposed for tests).
  http_response respond(const std::string& path) const;

 private:
  struct route;
  http_endpoint(std::string host,
                std::vector<std::shared_ptr<const prometheus::Collectable>> collectables);

  const std::string host_;
  std::uint16_t port_ = 0;
  int listen_fd_ =
      -1;  // civetweb's listening socket, owned by civetweb; used only to stop promptly
  mutable std::mutex mutex_;  // guards collectables_, handlers_
  std::vector<std::shared_ptr<const prometheus::Collectable>> collectables_;
  std::map<std::string, http_handler> handlers_;  // by path; a missing path is 404
  std::vector<std::unique_ptr<route>> routes_;
  // Declared last so it is destroyed first: stopping the server joins its workers before the routes
  // and handlers they use go away.
  std::unique_ptr<CivetServer> server_;
};

/// Renders the families of all `collectables` in the Prometheus text format, version 0.0.4.
std::string render_metrics_text(
    const std::vector<std::shared_ptr<const prometheus::Collectable>>& collectables);

/// The Content-Type of the text format.
inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace troupe::metrics
