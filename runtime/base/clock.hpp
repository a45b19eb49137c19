#pragma once
/// Reading the clocks, for actor shells and I/O only: pure cores take the time as an argument (so
/// that tests and simulations drive it). Thread-safe.

#include <chrono>
#include <cstdint>

namespace troupe {

/// Nanoseconds on the steady clock: for intervals and deadlines, never for display.
inline std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Milliseconds on the steady clock: for ages shown at millisecond resolution.
inline std::int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Milliseconds since the Unix epoch (wall clock): for display and records, never for intervals.
inline std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace troupe
