#pragma once
/// A lock_observer that keeps the lock service's counters in atomics, so that another thread (the
/// node's lock clock actor, which owns the Prometheus metrics and decides whether to tick) can read
/// them while the raft actor's thread applies commands. Pure: no Prometheus here.
///
/// Thread-safety: `changed` from one thread (the service host's), `read` from any.

#include <atomic>
#include <cstdint>

#include "examples/lock/lock_service.hpp"

namespace troupe::lock {

struct lock_counts {
  std::uint64_t held = 0;
  std::uint64_t grants = 0;
  std::uint64_t expirations = 0;
  std::uint64_t releases = 0;
  std::uint64_t leases = 0;  ///< live leases, holding or waiting: what ticks can still end
};

class atomic_lock_observer final : public lock_observer {
 public:
  void changed(const lock_table& table) override {
    const auto& stats = table.stats();
    held_.store(table.held_count(), std::memory_order_relaxed);
    grants_.store(stats.grants, std::memory_order_relaxed);
    expirations_.store(stats.expirations, std::memory_order_relaxed);
    releases_.store(stats.releases, std::memory_order_relaxed);
    leases_.store(table.lease_count(), std::memory_order_relaxed);
  }
  /// Each value on its own is current; together they may be from two neighbouring commands.
  lock_counts read() const {
    return {held_.load(std::memory_order_relaxed), grants_.load(std::memory_order_relaxed),
            expirations_.load(std::memory_order_relaxed), releases_.load(std::memory_order_relaxed),
            leases_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<std::uint64_t> held_{0};
  std::atomic<std::uint64_t> grants_{0};
  std::atomic<std::uint64_t> expirations_{0};
  std::atomic<std::uint64_t> releases_{0};
  std::atomic<std::uint64_t> leases_{0};
};

}  // namespace troupe::lock
