#pragma once
/// Reconnect delays: exponential backoff with "equal jitter" (half fixed, half random), so that
/// nodes restarting together do not dial in lockstep, yet a delay never collapses to zero. Pure:
/// the random generator is injected, so one seed replays one sequence of delays.

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <random>

namespace troupe::transport {

class backoff {
 public:
  backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(std::max<std::chrono::milliseconds>(initial, std::chrono::milliseconds(1))),
        max_(std::max(max, initial_)) {}

  /// The delay before the next attempt; each call doubles the ceiling up to `max`.
  template <class Rng>
  std::chrono::milliseconds next(Rng& rng) {
    const auto ceiling = std::min<std::int64_t>(max_.count(), initial_.count() << std::min(attempt_, 20u));
    ++attempt_;
    std::uniform_int_distribution<std::int64_t> jitter(0, ceiling / 2);
    const auto delay = std::chrono::milliseconds(ceiling - ceiling / 2 + jitter(rng));
    assert(delay.count() >= 1 && delay <= max_);
    return delay;
  }

  /// Call when a connection was established: the next failure starts from `initial` again.
  void reset() noexcept { attempt_ = 0; }
  unsigned attempts() const noexcept { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  unsigned attempt_ = 0;
};

}  // namespace troupe::transport
