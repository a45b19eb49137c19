#include "runtime/metrics/http_endpoint.hpp"

#include <CivetServer.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <utility>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace troupe::metrics {
namespace {

// civetweb reports why it could not start only through the log_message callback, on the thread that
// constructs the server; CivetException just says "null context". This captures the first message
// while `start` runs on this thread.
thread_local std::string* startup_error = nullptr;

int on_civetweb_log(const mg_connection*, const char* message) {
  if (startup_error != nullptr && startup_error->empty() && message != nullptr) {
    *startup_error = message;
    // Keep the error to one line whatever civetweb appends.
    while (!startup_error->empty() &&
           (startup_error->back() == '\n' || startup_error->back() == '\r')) {
      startup_error->pop_back();
    }
  }
  return 1;  // handled: civetweb must not write to stderr on its own
}

/// Resolves `host` to an IPv4 address in dotted form. civetweb would take "999.0.0.1" as a
/// wildcard, so everything is validated here first.
result<std::string> resolve_ipv4(const std::string& host) {
  if (host.empty()) return make_error(errc::invalid_argument, "metrics endpoint: empty host");
  if (host.find(':') != std::string::npos || host.front() == '[') {
    return make_error(
        errc::invalid_argument,
        "metrics endpoint: IPv6 address " + host +
            " is not supported (civetweb is built without IPv6); use an IPv4 address");
  }
  in_addr addr{};
  if (::inet_pton(AF_INET, host.c_str(), &addr) == 1) return host;
  if (host.find_first_not_of("0123456789.") == std::string::npos) {
    // Looks like an IPv4 address but is not one: refuse it rather than ask DNS about it.
    return make_error(errc::invalid_argument,
                      "metrics endpoint: not an IPv4 address: '" + host + "'");
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || found == nullptr) {
    return make_error(errc::invalid_argument, "metrics endpoint: cannot resolve host '" + host +
                                                  "' to an IPv4 address: " + ::gai_strerror(rc));
  }
  char text[INET_ADDRSTRLEN] = {};
  sockaddr_in resolved{};
  std::memcpy(&resolved, found->ai_addr, sizeof resolved);
  ::freeaddrinfo(found);
  ::inet_ntop(AF_INET, &resolved.sin_addr, text, sizeof text);
  return std::string(text);
}

/// The descriptor of the listening socket bound to `port`, or -1. civetweb does not expose it; we
/// need it to stop promptly (see ~http_endpoint).
int find_listening_socket(std::uint16_t port) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    int fd = -1;
    const std::string name = it->path().filename().string();
    auto [ptr, parse_ec] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (parse_ec != std::errc{} || ptr != name.data() + name.size()) continue;
    int accepting = 0;
    socklen_t length = sizeof accepting;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0 || !accepting) {
      continue;
    }
    sockaddr_in local{};
    socklen_t local_length = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) == 0 &&
        local.sin_family == AF_INET && ntohs(local.sin_port) == port) {
      return fd;
    }
  }
  return -1;
}

http_response default_health() {
  return {200, "text/plain; charset=utf-8", "ok\n"};
}

http_response default_status() {
  return {200, "text/html; charset=utf-8",
          "<!doctype html><html><head><title>troupe</title></head><body><h1>troupe</h1>"
          "<p>This node has no status page yet. Metrics: <a href=\"/metrics\">/metrics</a>.</p>"
          "</body></html>\n"};
}

}  // namespace

/// One CivetHandler per path; forwards to the endpoint.
struct http_endpoint::route final : CivetHandler {
  route(const http_endpoint& owner, std::string path) : owner_(owner), path_(std::move(path)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override { return reply(conn, true); }
  bool handleHead(CivetServer*, mg_connection* conn) override { return reply(conn, false); }
  bool handlePost(CivetServer*, mg_connection* conn) override { return refuse(conn); }
  bool handlePut(CivetServer*, mg_connection* conn) override { return refuse(conn); }
  bool handleDelete(CivetServer*, mg_connection* conn) override { return refuse(conn); }
  bool handlePatch(CivetServer*, mg_connection* conn) override { return refuse(conn); }
  bool handleOptions(CivetServer*, mg_connection* conn) override { return refuse(conn); }

 private:
  static void send(mg_connection* conn, const http_response& r, bool with_body) {
    const std::string length = std::to_string(r.body.size());
    mg_response_header_start(conn, r.status);
    mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
    mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_send(conn);
    if (with_body && !r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
  }
  bool reply(mg_connection* conn, bool with_body) {
    send(conn, owner_.respond(path_), with_body);
    return true;
  }
  bool refuse(mg_connection* conn) {
    send(conn, {405, "text/plain; charset=utf-8", "method not allowed: use GET\n"}, true);
    return true;
  }

  const http_endpoint& owner_;
  const std::string path_;
};

http_endpoint::http_endpoint(
    std::string host, std::vector<std::shared_ptr<const prometheus::Collectable>> collectables)
    : host_(std::move(host)),
      collectables_(std::move(collectables)),
      handlers_{{"/health", default_health}, {"/status", default_status}} {}

http_endpoint::~http_endpoint() {
  // civetweb's master thread polls the listening socket with a 2 s timeout and only then sees the
  // stop flag, so every stop would take 2 s. Shutting the socket down for reading wakes the poll at
  // once (Linux); civetweb still owns and closes the descriptor.
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RD);
  // Stop serving (joins civetweb's threads) before routes and handlers are destroyed.
  server_.reset();
}

result<std::unique_ptr<http_endpoint>> http_endpoint::start(
    const endpoint_options& options,
    std::vector<std::shared_ptr<const prometheus::Collectable>> collectables) {
  auto host = resolve_ipv4(options.host);
  if (!host) return host.err();
  if (options.threads < 1 || options.threads > 64) {
    return make_error(errc::invalid_argument, "metrics endpoint: threads must be in 1..64");
  }
  for (const auto& c : collectables) {
    if (!c) return make_error(errc::invalid_argument, "metrics endpoint: null collectable");
  }
  const std::string requested = *host + ":" + std::to_string(options.port);
  std::unique_ptr<http_endpoint> endpoint(new http_endpoint(*host, std::move(collectables)));

  CivetCallbacks callbacks;
  callbacks.log_message = on_civetweb_log;
  std::string why;
  startup_error = &why;
  try {
    endpoint->server_ = std::make_unique<CivetServer>(
        std::vector<std::string>{"listening_ports", requested, "num_threads",
                                 std::to_string(options.threads), "request_timeout_ms", "10000"},
        &callbacks);
  } catch (const CivetException& e) {
    startup_error = nullptr;
    return make_error(errc::io, "metrics endpoint: cannot listen on " + requested + ": " +
                                    (why.empty() ? std::string(e.what()) : why));
  }
  startup_error = nullptr;

  auto ports = endpoint->server_->getListeningPortsFull();
  if (ports.empty() || ports.front().port <= 0 || ports.front().port > 65535) {
    return make_error(errc::io, "metrics endpoint: no listening port after binding " + requested);
  }
  endpoint->port_ = static_cast<std::uint16_t>(ports.front().port);
  endpoint->listen_fd_ = find_listening_socket(endpoint->port_);

  // "$" anchors the match: civetweb otherwise matches by prefix ("/metricsfoo").
  std::vector<std::string> paths{"/metrics"};
  for (const char* p : pluggable_paths) paths.emplace_back(p);
  for (const auto& path : paths) {
    endpoint->routes_.push_back(std::make_unique<route>(*endpoint, path));
    endpoint->server_->addHandler(path + "$", endpoint->routes_.back().get());
  }
  return endpoint;
}

std::string http_endpoint::address() const {
  return host_ + ":" + std::to_string(port_);
}

void http_endpoint::add_collectable(std::shared_ptr<const prometheus::Collectable> collectable) {
  if (!collectable) return;
  std::lock_guard lock(mutex_);
  collectables_.push_back(std::move(collectable));
}

void http_endpoint::set_health_handler(http_handler handler) {
  set_handler("/health", std::move(handler));
}

void http_endpoint::set_status_handler(http_handler handler) {
  set_handler("/status", std::move(handler));
}

bool http_endpoint::set_handler(const std::string& path, http_handler handler) {
  bool pluggable = false;
  for (const char* p : pluggable_paths) pluggable = pluggable || path == p;
  if (!pluggable) return false;
  if (!handler && path == "/health") handler = default_health;
  if (!handler && path == "/status") handler = default_status;
  std::lock_guard lock(mutex_);
  if (handler) {
    handlers_[path] = std::move(handler);
  } else {
    handlers_.erase(path);
  }
  return true;
}

std::string http_endpoint::render_metrics() const {
  std::vector<std::shared_ptr<const prometheus::Collectable>> collectables;
  {
    std::lock_guard lock(mutex_);
    collectables = collectables_;
  }
  // Collect outside the lock: collectables take their own locks and may be slow (/proc reads).
  return render_metrics_text(collectables);
}

http_response http_endpoint::respond(const std::string& path) const {
  if (path == "/metrics") return {200, metrics_content_type, render_metrics()};
  http_handler handler;
  {
    std::lock_guard lock(mutex_);
    if (auto it = handlers_.find(path); it != handlers_.end()) handler = it->second;
  }
  if (!handler) return {404, "text/plain; charset=utf-8", "not found\n"};
  // A handler that throws must not take a civetweb worker (and the process) down with it.
  try {
    return handler();
  } catch (const std::exception& e) {
    return {500, "text/plain; charset=utf-8", std::string("handler failed: ") + e.what() + "\n"};
  } catch (...) {
    return {500, "text/plain; charset=utf-8", "handler failed\n"};
  }
}

std::string render_metrics_text(
    const std::vector<std::shared_ptr<const prometheus::Collectable>>& collectables) {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : collectables) {
    auto some = c->Collect();
    families.insert(families.end(), std::make_move_iterator(some.begin()),
                    std::make_move_iterator(some.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, families);
  return out.str();
}

}  // namespace troupe::metrics
