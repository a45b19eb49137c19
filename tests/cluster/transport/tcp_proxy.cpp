#include "tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace troupe::test {

namespace {

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void reset_close(int fd) {
  linger l{1, 0};  // close() then sends RST instead of FIN
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const auto w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

tcp_proxy::tcp_proxy(std::uint16_t target_port) : target_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 || ::pipe(wake_) != 0)
    throw std::runtime_error("tcp_proxy: cannot listen");
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

tcp_proxy::~tcp_proxy() {
  stop_ = true;
  wake();
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void tcp_proxy::wake() {
  const char c = 1;
  [[maybe_unused]] auto n = ::write(wake_[1], &c, 1);
}

void tcp_proxy::cut() {
  std::uint64_t ticket = 0;
  {
    std::lock_guard<std::mutex> g(mutex_);
    ticket = ++cuts_requested_;
  }
  wake();
  // Waits for the proxy thread to carry it out (it always does within one poll round).
  for (;;) {
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (cuts_done_ >= ticket)
        return;
    }
    std::this_thread::yield();
  }
}

void tcp_proxy::run() {
  std::vector<std::pair<int, int>> pairs;  // (accepted, to target)
  std::vector<char> buf(64 * 1024);
  while (!stop_) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    for (auto [a, b] : pairs) {
      fds.push_back({a, POLLIN, 0});
      fds.push_back({b, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0)
      continue;
    if (fds[1].revents != 0) {
      char drain[64];
      [[maybe_unused]] auto n = ::read(wake_[0], drain, sizeof drain);
      std::lock_guard<std::mutex> g(mutex_);
      if (cuts_done_ < cuts_requested_) {
        for (auto [a, b] : pairs) {
          reset_close(a);
          reset_close(b);
        }
        pairs.clear();
        cuts_done_ = cuts_requested_;
        continue;
      }
    }
    if ((fds[0].revents & POLLIN) != 0) {
      const int a = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (a >= 0) {
        const int b = connect_loopback(target_);
        if (b < 0) {
          reset_close(a);
        } else {
          pairs.emplace_back(a, b);
          ++accepted_;
        }
      }
    }
    std::vector<std::pair<int, int>> keep;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      const auto [a, b] = pairs[i];
      bool alive = true;
      for (int side = 0; side < 2 && alive; ++side) {
        const auto& p = fds[2 + 2 * i + static_cast<std::size_t>(side)];
        if (p.revents == 0)
          continue;
        const int from = side == 0 ? a : b;
        const int to = side == 0 ? b : a;
        const auto n = ::recv(from, buf.data(), buf.size(), 0);
        alive = n > 0 && write_all(to, buf.data(), static_cast<std::size_t>(n));
      }
      if (alive) {
        keep.emplace_back(a, b);
      } else {
        reset_close(a);
        reset_close(b);
      }
    }
    pairs = std::move(keep);
  }
  for (auto [a, b] : pairs) {
    ::close(a);
    ::close(b);
  }
}

}  // namespace troupe::test
