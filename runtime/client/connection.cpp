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
#include <deque>
#include <vector>

#include "runtime/transport/link/frame_codec.hpp"
#include "runtime/transport/link/handshake.hpp"
#include "runtime/transport/link/peer_link.hpp"
#include "runtime/wire/client_codec.hpp"
#include "runtime/wire/message.hpp"

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
  connection_options options;
  std::string address;
  int fd = -1;
  wire::frame_assembler assembler;
  std::optional<link::data_frame> awaiting_payload;  ///< header read, its payload not yet
  std::unique_ptr<link::peer_link> link;
  std::uint64_t node_id = 0;
  std::string source;  ///< our endpoint name, where replies are addressed
  std::deque<wire::client_reply> replies;  ///< received, not yet returned
  std::string broken;                      ///< set once the connection failed
  std::vector<char> out;                   ///< one frame being written (reused)

  ~impl() {
    if (fd >= 0) ::close(fd);
  }

  status write_all(std::span<const std::byte> bytes, clock::time_point until) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return make_error(errc::closed, "connection to " + address + " lost: " + errno_text());
      }
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, millis_until(until)) == 0) {
        return make_error(errc::timeout, "timed out writing to " + address);
      }
    }
    return {};
  }

  /// Header and payload leave in one write: two writes cost a system call each here, and with
  /// TCP_NODELAY the node would see two segments, one wake-up and one read each.
  status write_header(const link::frame_header& h, const wire::message& payload,
                      clock::time_point until) {
    out.clear();
    link::append_frame_header(out, h);
    if (!payload.empty()) {
      const auto bytes = payload.bytes();
      out.insert(out.end(), reinterpret_cast<const char*>(bytes.data()),
                 reinterpret_cast<const char*>(bytes.data()) + bytes.size());
    }
    return write_all(std::as_bytes(std::span<const char>(out.data(), out.size())), until);
  }

  /// Writes every frame the link wants to write now.
  status flush(clock::time_point until) {
    while (auto f = link->next_frame(mono_now())) {
      if (auto st = write_header(f->header, f->payload, until); !st) return st;
    }
    return {};
  }

  /// Reads what is available (waiting until `until` for at least one byte) into the assembler.
  status read_some(clock::time_point until) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, millis_until(until));
    if (r == 0) return {};
    std::byte buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return make_error(errc::closed, "connection to " + address + " closed by the node");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return {};
      return make_error(errc::closed, "connection to " + address + " lost: " + errno_text());
    }
    assembler.append({buf, static_cast<std::size_t>(n)});
    return {};
  }

  /// The next complete frame (header plus payload when it has one), or nullopt if more bytes are
  /// needed.
  result<std::optional<std::pair<link::frame_header, wire::message>>> next_frame() {
    for (;;) {
      auto m = assembler.next();
      if (!m) return make_error(errc::malformed, "from " + address + ": " + m.err().message);
      if (!m->has_value()) return std::optional<std::pair<link::frame_header, wire::message>>{};
      if (awaiting_payload) {
        link::frame_header h = *awaiting_payload;
        awaiting_payload.reset();
        return std::optional{std::pair{std::move(h), std::move(**m)}};
      }
      auto h = link::decode_frame_header(**m);
      if (!h) return make_error(errc::malformed, "from " + address + ": " + h.err().message);
      if (auto* d = std::get_if<link::data_frame>(&*h); d != nullptr && d->has_payload) {
        awaiting_payload = *d;
        continue;
      }
      return std::optional{std::pair{std::move(*h), wire::message{}}};
    }
  }

  /// Carries out link events: decodes replies, fails on a close verdict.
  status handle(link::link_events events) {
    for (auto& d : events.deliveries) {
      if (d.payload.empty()) continue;
      auto reply = wire::decode_client_reply(d.payload);
      if (!reply) return make_error(errc::malformed, "reply from " + address + ": " + reply.err().message);
      replies.push_back(std::move(*reply));
    }
    if (events.close) {
      return make_error(errc::closed, "connection to " + address + " closed: " +
                                          std::string(link::to_string(*events.close)) + " " +
                                          events.close_detail);
    }
    return {};
  }

  /// One round of I/O: write what is due, read what arrives until `until`, process it.
  status pump(clock::time_point until) {
    if (!broken.empty()) return make_error(errc::closed, broken);
    auto fail = [&](const status& st) {
      if (st.err().code == errc::closed || st.err().code == errc::malformed) broken = st.err().message;
      return st;
    };
    if (auto st = handle(link->on_tick(mono_now())); !st) return fail(st);
    if (auto st = flush(until); !st) return fail(st);
    if (auto st = read_some(until); !st) return fail(st);
    for (;;) {
      auto f = next_frame();
      if (!f) return fail(status(f.err()));
      if (!f->has_value()) break;
      auto& [h, payload] = **f;
      if (auto st = handle(link->on_frame(h, std::move(payload), mono_now())); !st) return fail(st);
    }
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

std::uint64_t connection::node_id() const noexcept { return impl_->node_id; }
const std::string& connection::address() const noexcept { return impl_->address; }

result<std::unique_ptr<connection>> connection::open(const connection_options& options) {
  auto until = clock::now() + options.connect_timeout;
  auto p = std::make_unique<impl>();
  p->options = options;
  p->address = options.host + ":" + std::to_string(options.port);
  if (p->options.client_id == 0) {
    auto id = link::random_incarnation();
    if (!id) return id.err();
    p->options.client_id = *id;
  }
  p->source = "client-" + std::to_string(p->options.client_id);
  auto fd = connect_to(options.host, options.port, until);
  if (!fd) return fd.err();
  p->fd = *fd;

  auto incarnation = link::random_incarnation();
  auto nonce = link::random_nonce();
  if (!incarnation) return incarnation.err();
  if (!nonce) return nonce.err();
  link::handshake_config hc;
  hc.cluster_id = options.cluster_id;
  hc.self_id = p->options.client_id;
  hc.incarnation = *incarnation;
  hc.self_role = link::peer_role::client;
  hc.client_secret = options.client_secret;
  hc.timeout = options.connect_timeout;
  if (auto st = hc.validate(); !st) return st.err();
  link::connection_facts facts;
  facts.side = link::handshake_side::dialer;
  facts.local_nonce = *nonce;
  link::handshake hs(hc, facts);

  auto run_step = [&](link::handshake_step step) -> result<bool> {
    for (auto& h : step.to_write) {
      if (auto st = p->write_header(h, {}, until); !st) return st.err();
    }
    if (step.failure) {
      const std::string why = std::string(link::to_string(step.failure->reason)) +
                              (step.failure->detail.empty() ? "" : " (" + step.failure->detail + ")");
      // Only a refusal of who we are is final for callers (kv_client gives up); a timeout or a
      // closed handshake they retry on another node.
      switch (handshake_error_code(step.failure->reason)) {
        case errc::refused:
          return make_error(errc::refused, "node at " + p->address + " refused the connection: " + why);
        case errc::timeout: return make_error(errc::timeout, "handshake with " + p->address + " timed out: " + why);
        default: return make_error(errc::closed, "node at " + p->address + " closed the handshake: " + why);
      }
    }
    if (step.outcome) {
      p->node_id = step.outcome->remote_id;
      link::peer_link_config lc;
      lc.self_incarnation = *incarnation;
      p->link = std::make_unique<link::peer_link>(lc);
      auto events = p->link->attach(*step.outcome, mono_now());
      if (auto st = p->handle(std::move(events)); !st) return st.err();
      return true;
    }
    return false;
  };

  auto done = run_step(hs.start(mono_now()));
  while (done && !*done) {
    if (clock::now() >= until) {
      return make_error(errc::timeout, "handshake with " + p->address + " timed out");
    }
    if (auto st = p->read_some(std::min(until, clock::now() + std::chrono::milliseconds(100)));
        !st) {
      return make_error(st.err().code, "during the handshake: " + st.err().message);
    }
    for (;;) {
      auto f = p->next_frame();
      if (!f) return f.err();
      if (!f->has_value()) break;
      done = run_step(hs.on_frame((**f).first, mono_now()));
      if (!done || *done) break;
    }
    if (done && !*done) done = run_step(hs.on_tick(mono_now()));
  }
  if (!done) return done.err();
  return std::unique_ptr<connection>(new connection(std::move(p)));
}

status connection::send(const wire::client_request& request) {
  auto& p = *impl_;
  if (!p.broken.empty()) return make_error(errc::closed, p.broken);
  link::outbound_message m;
  m.destination = client_service_endpoint;
  m.source = p.source;
  m.payload = wire::encode(request);
  auto sent = p.link->send(link::lane::client, std::move(m));
  if (!sent) return sent.err();
  return p.flush(clock::now() + std::chrono::seconds(10));
}

result<std::optional<wire::client_reply>> connection::poll(std::chrono::milliseconds deadline) {
  auto& p = *impl_;
  auto until = clock::now() + deadline;
  while (p.replies.empty()) {
    if (clock::now() >= until) return std::optional<wire::client_reply>{};
    // Wake at least every 100 ms so pings and acks go out on time.
    if (auto st = p.pump(std::min(until, clock::now() + std::chrono::milliseconds(100))); !st) {
      return st.err();
    }
  }
  auto r = std::move(p.replies.front());
  p.replies.pop_front();
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
      return make_error(errc::timeout, "no reply from " + impl_->address + " in time");
    }
    if ((**r).client_id == request.client_id && (**r).sequence == request.sequence) {
      return std::move(**r);
    }
    // A reply to an earlier request that timed out: not ours, skip it.
  }
}

void connection::close() {
  if (!impl_ || impl_->fd < 0) return;
  if (impl_->broken.empty() && impl_->link) {
    auto bye = link::peer_link::goodbye(link::close_reason::shutting_down, "client done");
    (void)impl_->write_header(bye, {}, clock::now() + std::chrono::milliseconds(200));
  }
  ::close(impl_->fd);
  impl_->fd = -1;
}

}  // namespace troupe::client
