#pragma once
/// A TCP proxy for tests: listens on 127.0.0.1 (a free port), forwards each accepted connection to
/// 127.0.0.1:target, and on request breaks every current connection abruptly (SO_LINGER 0, so both
/// ends see a reset and whatever sat in the proxy's socket buffers is lost, as after a real network
/// failure). One background thread; the public methods are thread-safe.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace troupe::test {

class tcp_proxy {
 public:
  /// Throws std::runtime_error when it cannot listen.
  explicit tcp_proxy(std::uint16_t target_port);
  ~tcp_proxy();
  tcp_proxy(const tcp_proxy&) = delete;
  tcp_proxy& operator=(const tcp_proxy&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// Resets every connection open now (done by the proxy thread; returns once it is done).
  void cut();
  /// Connections accepted so far.
  std::size_t accepted() const noexcept { return accepted_.load(); }

 private:
  void run();
  void wake();

  std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> accepted_{0};
  std::mutex mutex_;
  std::uint64_t cuts_requested_ = 0;  ///< guarded by mutex_
  std::uint64_t cuts_done_ = 0;       ///< guarded by mutex_
  std::thread thread_;
};

}  // namespace troupe::test
