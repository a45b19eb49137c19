#include "runtime/client/connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "runtime/client/client_link.hpp"

namespace troupe::client {

namespace {

using clock = std::chrono::steady_clock;

std::chrono::nanoseconds mono_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch());
}

int millis_until(clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string errno_text() { return std::strerror(errno); }

/// Connects a non-blocking socket to host:port within the deadline.
result<int> connect_to(const std::string& host, std::uint16_t port, clock::time_point until) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto where = host + ":" + std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0) {
    return make_error(errc::io, "cannot resolve " + where + ": " + ::gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = errno_text();
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = errno_text();
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int r = ::poll(&p, 1, millis_until(until));
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (r == 1) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (r == 1 && soerr == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    last_error = r == 0 ? "timed out" : std::strerror(soerr != 0 ? soerr : errno);
    ::close(fd);
    if (r == 0) {
      ::freeaddrinfo(res);
      return make_error(errc::timeout, "cannot connect to " + where + ": timed out");
    }
  }
  ::freeaddrinfo(res);
  return make_error(errc::io, "cannot connect to " + where + ": " + last_error);
}

}  // namespace

struct connection::impl {
  explicit impl(client_link_config c) : link(std::move(c)) {}
  int fd = -1;
  client_link link;  ///< the protocol; this struct does the blocking I/O around it

  ~impl() {
    if (fd >= 0) ::close(fd);
  }

  const std::string& address() const { return link.address(); }

  status write_all(std::span<const std::byte> bytes, clock::time_point until) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return make_error(errc::closed, "connection to " + address() + " lost: " + errno_text());
      }
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, millis_until(until)) == 0) {
        return make_error(errc::timeout, "timed out writing to " + address());
      }
    }
    return {};
  }

  /// Writes what the link wants written, in one system call when the socket takes it.
  status flush(clock::time_point until) {
    auto& out = link.output();
    if (out.empty()) return {};
    auto st = write_all(std::as_bytes(std::span<const char>(out.data(), out.size())), until);
    out.clear();
    return st;
  }

  /// Reads what is available (waiting until `until` for at least one byte) into the link.
  status read_some(clock::time_point until) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, millis_until(until));
    if (r == 0) return {};
    std::byte buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return make_error(errc::closed, "connection to " + address() + " closed by the node");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return {};
      return make_error(errc::closed, "connection to " + address() + " lost: " + errno_text());
    }
    return link.on_bytes({buf, static_cast<std::size_t>(n)}, mono_now());
  }

  /// One round of I/O: write what is due, read what arrives until `until`, process it.
  status pump(clock::time_point until) {
    if (auto st = link.on_tick(mono_now()); !st) return st;
    if (auto st = flush(until); !st) return st;
    if (auto st = read_some(until); !st) return st;
    return flush(until);
  }
};

errc handshake_error_code(link::close_reason r) noexcept {
  switch (r) {
    // Who we are: the secret, the cluster id, the versions, this client's permission. No other node
    // and no retry changes that.
    case link::close_reason::bad_proof:
    case link::close_reason::wrong_cluster:
    case link::close_reason::unknown_node:
    case link::close_reason::duplicate_node:
    case link::close_reason::wrong_node:
    case link::close_reason::incompatible_version:
    case link::close_reason::client_not_allowed:
    case link::close_reason::unauthenticated_peer: return errc::refused;
    // Our own handshake timer: the node is paused, overloaded, or a port that accepts and says
    // nothing. Another node may answer.
    case link::close_reason::handshake_timeout: return errc::timeout;
    // About this node now (stopping, a garbled exchange): another node may answer.
    default: return errc::closed;
  }
}

connection::connection(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
connection::~connection() { close(); }

std::uint64_t connection::node_id() const noexcept { return impl_->link.node_id(); }
const std::string& connection::address() const noexcept { return impl_->address(); }

result<std::unique_ptr<connection>> connection::open(const connection_options& options) {
  auto until = clock::now() + options.connect_timeout;
  client_link_config lc;
  lc.address = options.host + ":" + std::to_string(options.port);
  lc.cluster_id = options.cluster_id;
  lc.client_secret = options.client_secret;
  lc.client_id = options.client_id;
  if (lc.client_id == 0) {
    auto id = link::random_incarnation();
    if (!id) return id.err();
    lc.client_id = *id;
  }
  auto incarnation = link::random_incarnation();
  auto nonce = link::random_nonce();
  if (!incarnation) return incarnation.err();
  if (!nonce) return nonce.err();
  lc.incarnation = *incarnation;
  lc.nonce = *nonce;
  lc.handshake_timeout = options.connect_timeout;
  auto p = std::make_unique<impl>(std::move(lc));
  auto fd = connect_to(options.host, options.port, until);
  if (!fd) return fd.err();
  p->fd = *fd;

  if (auto st = p->link.start(mono_now()); !st) return st.err();
  while (!p->link.established()) {
    if (auto st = p->flush(until); !st) return st.err();
    if (clock::now() >= until) {
      return make_error(errc::timeout, "handshake with " + p->address() + " timed out");
    }
    if (auto st = p->read_some(std::min(until, clock::now() + std::chrono::milliseconds(100))); !st) {
      // The link's own errors (a refusal, a goodbye) say what happened; a socket error gets context.
      if (!p->link.broken().empty()) return st.err();
      return make_error(st.err().code, "during the handshake: " + st.err().message);
    }
    if (p->link.established()) break;
    if (auto st = p->link.on_tick(mono_now()); !st) return st.err();
  }
  if (auto st = p->flush(until); !st) return st.err();
  return std::unique_ptr<connection>(new connection(std::move(p)));
}

status connection::send(const wire::client_request& request) {
  auto& p = *impl_;
  if (auto st = p.link.send(request, mono_now()); !st) return st;
  return p.flush(clock::now() + std::chrono::seconds(10));
}

result<std::optional<wire::client_reply>> connection::poll(std::chrono::milliseconds deadline) {
  auto& p = *impl_;
  auto until = clock::now() + deadline;
  while (p.link.replies().empty()) {
    if (clock::now() >= until) return std::optional<wire::client_reply>{};
    // Wake at least every 100 ms so pings and acks go out on time.
    if (auto st = p.pump(std::min(until, clock::now() + std::chrono::milliseconds(100))); !st) {
      return st.err();
    }
  }
  auto r = std::move(p.link.replies().front());
  p.link.replies().pop_front();
  return std::optional{std::move(r)};
}

result<wire::client_reply> connection::call(const wire::client_request& request,
                                            std::chrono::milliseconds deadline) {
  auto until = clock::now() + deadline;
  if (auto st = send(request); !st) return st.err();
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
    auto r = poll(left.count() > 0 ? left : std::chrono::milliseconds(0));
    if (!r) return r.err();
    if (!r->has_value()) {
      return make_error(errc::timeout, "no reply from " + impl_->address() + " in time");
    }
    if ((**r).client_id == request.client_id && (**r).sequence == request.sequence) {
      return std::move(**r);
    }
    // A reply to an earlier request that timed out: not ours, skip it.
  }
}

void connection::close() {
  if (!impl_ || impl_->fd < 0) return;
  if (impl_->link.broken().empty() && impl_->link.established()) {
    auto bye = client_link::goodbye_bytes("client done");
    (void)impl_->write_all(std::as_bytes(std::span<const char>(bye.data(), bye.size())),
                           clock::now() + std::chrono::milliseconds(200));
  }
  ::close(impl_->fd);
  impl_->fd = -1;
}

}  // namespace troupe::client
