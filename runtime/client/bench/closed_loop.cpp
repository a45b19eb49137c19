#include "runtime/client/bench/closed_loop.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/client/client_link.hpp"
#include "runtime/client/kv_client.hpp"

namespace troupe::client::bench {

namespace {

using clock = std::chrono::steady_clock;

std::chrono::nanoseconds mono_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch());
}

/// One client: its socket, its protocol state and its one outstanding request.
struct session {
  int index = 0;
  int fd = -1;
  std::unique_ptr<client_link> link;
  std::size_t written = 0;  ///< bytes of link->output() already written
  bool want_write = false;  ///< EPOLLOUT registered (the socket took less than we had)
  bool connected = false;
  bool dead = false;
  std::uint64_t client_id = 0;
  std::uint64_t sequence = 0;  ///< last write's (Raft thesis 6.3); reads reuse it
  bool busy = false;           ///< a request outstanding
  std::uint64_t expect = 0;    ///< its sequence
  clock::time_point sent_at;

  ~session() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

struct closed_loop::impl {
  closed_loop_options options;
  int epoll = -1;
  std::vector<std::unique_ptr<session>> sessions;
  std::string address;

  ~impl() {
    for (auto& s : sessions) {
      if (s->fd >= 0 && !s->dead && s->link && s->link->established()) {
        auto bye = client_link::goodbye_bytes("bench done");
        (void)::send(s->fd, bye.data(), bye.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
    }
    sessions.clear();
    if (epoll >= 0) ::close(epoll);
  }

  void watch(session& s, bool out) {
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<std::uint32_t>(s.index);
    ::epoll_ctl(epoll, EPOLL_CTL_MOD, s.fd, &ev);
  }

  /// Writes what the link has to write; what the socket does not take waits for EPOLLOUT.
  status flush(session& s) {
    auto& out = s.link->output();
    while (s.written < out.size()) {
      ssize_t n = ::send(s.fd, out.data() + s.written, out.size() - s.written, MSG_NOSIGNAL);
      if (n > 0) {
        s.written += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        if (!s.want_write) {
          s.want_write = true;
          watch(s, true);
        }
        return {};
      }
      return make_error(errc::closed, "connection to " + address + " lost: " + std::strerror(errno));
    }
    out.clear();
    s.written = 0;
    if (s.want_write) {
      s.want_write = false;
      watch(s, false);
    }
    return {};
  }

  /// Reads once what the socket holds into the link.
  status read(session& s) {
    std::byte buf[65536];
    ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n == 0) return make_error(errc::closed, "connection to " + address + " closed by the node");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return {};
      return make_error(errc::closed, "connection to " + address + " lost: " + std::strerror(errno));
    }
    if (auto st = s.link->on_bytes({buf, static_cast<std::size_t>(n)}, mono_now()); !st) return st;
    return flush(s);
  }

  status connect_all();
};

namespace {

result<sockaddr_storage> resolve(const std::string& host, std::uint16_t port, socklen_t& len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0) {
    return make_error(errc::io, "cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  sockaddr_storage out{};
  std::memcpy(&out, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return out;
}

}  // namespace

status closed_loop::impl::connect_all() {
  socklen_t len = 0;
  auto where = resolve(options.host, options.port, len);
  if (!where) return where.err();
  const auto until = clock::now() + options.connect_timeout;
  for (int i = 0; i < options.clients; ++i) {
    auto s = std::make_unique<session>();
    s->index = i;
    auto id = link::random_incarnation();
    auto incarnation = link::random_incarnation();
    auto nonce = link::random_nonce();
    if (!id) return id.err();
    if (!incarnation) return incarnation.err();
    if (!nonce) return nonce.err();
    s->client_id = *id;
    client_link_config lc;
    lc.address = address;
    lc.cluster_id = options.cluster_id;
    lc.client_secret = options.client_secret;
    lc.client_id = *id;
    lc.incarnation = *incarnation;
    lc.nonce = *nonce;
    lc.handshake_timeout = options.connect_timeout;
    s->link = std::make_unique<client_link>(std::move(lc));
    s->fd = ::socket(where->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) return make_error(errc::io, std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(s->fd, reinterpret_cast<const sockaddr*>(&*where), len) != 0 && errno != EINPROGRESS) {
      return make_error(errc::io, "cannot connect to " + address + ": " + std::strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;  // the connect's completion
    ev.data.u32 = static_cast<std::uint32_t>(i);
    if (::epoll_ctl(epoll, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
      return make_error(errc::io, std::string("epoll_ctl: ") + std::strerror(errno));
    }
    sessions.push_back(std::move(s));
  }
  std::size_t established = 0;
  std::vector<epoll_event> events(512);
  while (established < sessions.size()) {
    if (clock::now() >= until) {
      return make_error(errc::timeout, "handshakes with " + address + " not finished in time (" +
                                           std::to_string(established) + " of " +
                                           std::to_string(sessions.size()) + ")");
    }
    int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 100);
    if (n < 0 && errno != EINTR) return make_error(errc::io, std::string("epoll_wait: ") + std::strerror(errno));
    for (int k = 0; k < n; ++k) {
      auto& s = *sessions[events[k].data.u32];
      if (!s.connected) {
        int soerr = 0;
        socklen_t l = sizeof soerr;
        ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
        if (soerr != 0) return make_error(errc::io, "cannot connect to " + address + ": " + std::strerror(soerr));
        s.connected = true;
        watch(s, false);
        if (auto st = s.link->start(mono_now()); !st) return st;
        if (auto st = flush(s); !st) return st;
        continue;
      }
      const bool was = s.link->established();
      if ((events[k].events & EPOLLOUT) != 0) {
        if (auto st = flush(s); !st) return st;
      }
      if ((events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
        if (auto st = read(s); !st) return st;
      }
      if (!was && s.link->established()) ++established;
    }
    for (auto& s : sessions) {
      if (!s->connected || s->link->established()) continue;
      if (auto st = s->link->on_tick(mono_now()); !st) return st;
      if (auto st = flush(*s); !st) return st;
    }
  }
  return {};
}

result<std::unique_ptr<closed_loop>> closed_loop::open(const closed_loop_options& options) {
  auto p = std::make_unique<impl>();
  p->options = options;
  p->address = options.host + ":" + std::to_string(options.port);
  p->epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (p->epoll < 0) return make_error(errc::io, std::string("epoll_create1: ") + std::strerror(errno));
  if (auto st = p->connect_all(); !st) return st.err();
  return std::unique_ptr<closed_loop>(new closed_loop(std::move(p)));
}

closed_loop::closed_loop(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
closed_loop::~closed_loop() = default;

closed_loop_result closed_loop::run(std::uint64_t ops, const make_request& make,
                                    std::atomic<std::uint64_t>* done) {
  auto& p = *impl_;
  closed_loop_result res;
  res.latency_us.reserve(ops);
  std::uint64_t next = 0, answered = 0;
  auto error = [&](const std::string& what) {
    if (res.errors++ == 0) res.first_error = what;
  };
  auto finish = [&](session& s, const std::string& failure) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - s.sent_at);
    res.latency_us.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(us.count(), UINT32_MAX)));
    if (!failure.empty()) error(failure);
    s.busy = false;
    ++answered;
    if (done != nullptr) done->store(answered, std::memory_order_relaxed);
  };
  auto kill = [&](session& s, const std::string& why) {
    if (s.busy) finish(s, why);
    s.dead = true;
    ::epoll_ctl(p.epoll, EPOLL_CTL_DEL, s.fd, nullptr);
  };
  auto issue = [&](session& s) {
    if (s.dead || s.busy || next >= ops) return;
    wire::client_request request;
    request.client_id = s.client_id;
    request.body = make(s.index, next++);
    request.sequence = is_read(request.body) ? std::max<std::uint64_t>(s.sequence, 1) : ++s.sequence;
    s.expect = request.sequence;
    s.busy = true;
    s.sent_at = clock::now();
    if (auto st = s.link->send(request, mono_now()); !st) return kill(s, st.err().message);
    if (auto st = p.flush(s); !st) kill(s, st.err().message);
  };
  for (auto& s : p.sessions) issue(*s);
  std::vector<epoll_event> events(512);
  auto last_tick = clock::now();
  auto alive = [&] {
    for (auto& s : p.sessions)
      if (!s->dead) return true;
    return false;
  };
  while (answered < next || (next < ops && alive())) {
    int n = ::epoll_wait(p.epoll, events.data(), static_cast<int>(events.size()), 100);
    for (int k = 0; k < n; ++k) {
      auto& s = *p.sessions[events[k].data.u32];
      if (s.dead) continue;
      if ((events[k].events & EPOLLOUT) != 0) {
        if (auto st = p.flush(s); !st) {
          kill(s, st.err().message);
          continue;
        }
      }
      if ((events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) continue;
      if (auto st = p.read(s); !st) {
        kill(s, st.err().message);
        continue;
      }
      auto& replies = s.link->replies();
      while (!replies.empty()) {
        auto reply = std::move(replies.front());
        replies.pop_front();
        // A reply to a request that timed out earlier is not this one: skip it.
        if (!s.busy || reply.client_id != s.client_id || reply.sequence != s.expect) continue;
        finish(s, reply.error == wire::client_error::ok
                      ? std::string()
                      : std::string(wire::to_string(reply.error)) + ": " + reply.error_message);
        issue(s);
      }
    }
    const auto now = clock::now();
    if (now - last_tick >= std::chrono::milliseconds(100)) {
      last_tick = now;
      for (auto& sp : p.sessions) {
        auto& s = *sp;
        if (s.dead) continue;
        if (s.busy && now - s.sent_at >= p.options.request_timeout) {
          kill(s, "no reply from " + p.address + " within " +
                      std::to_string(p.options.request_timeout.count()) + " ms");
          continue;
        }
        if (auto st = s.link->on_tick(mono_now()); !st) {
          kill(s, st.err().message);
          continue;
        }
        if (auto st = p.flush(s); !st) kill(s, st.err().message);
      }
    }
  }
  // Numbers no client could take (every client died) are errors too: the level asked for them.
  for (; next < ops; ++next) error("no client left to send it");
  return res;
}

}  // namespace troupe::client::bench
