#pragma once
/// Lamport's logical clock (Lamport 1978, "Time, Clocks, and the Ordering of Events in a
/// Distributed System", rules IR1 and IR2). Not thread-safe: one clock belongs to one actor.

#include <algorithm>
#include <cassert>
#include <cstdint>

namespace troupe::clocks {

/// A scalar logical clock: if event a happens before event b then time(a) < time(b). The converse
/// does not hold; use vector_clock to decide happens-before.
class lamport_clock {
 public:
  lamport_clock() = default;
  explicit lamport_clock(std::uint64_t start) : time_(start) {}

  /// The timestamp of the latest event; 0 before any.
  std::uint64_t now() const noexcept { return time_; }

  /// A local event or a send (IR1): advances the clock and returns the event's timestamp, which a
  /// send carries on its message.
  std::uint64_t tick() noexcept {
    assert(time_ < UINT64_MAX && "lamport clock overflow");
    return ++time_;
  }

  /// A receive of a message stamped `remote` (IR2): the receive happens after the send, so the
  /// clock moves past both. Returns the receive event's timestamp.
  std::uint64_t receive(std::uint64_t remote) noexcept {
    time_ = std::max(time_, remote);
    return tick();
  }

 private:
  std::uint64_t time_ = 0;
};

}  // namespace troupe::clocks
