#pragma once
/// What the node's lock clock proposes (README.md, "Time"): the leader's measurement of how long
/// passed since its previous tick, or a restart. Pure: the caller passes its monotonic time.
///
/// Rule: a tick measures from the moment the previous tick was *proposed*, and only when that one is
/// known to be committed (its proposal answered ok). After anything else (first tick, not leader,
/// outcome unknown, timeout) the next tick is a restart: it counts no time. So the intervals the
/// committed ticks add up never overlap, also across leaders (a former leader's tick that commits
/// late reached the new leader's log before its election, hence before its restart), and lock time
/// never runs ahead of the real time that passed.
///
/// One tick in flight at a time: `next` may be called again only after `committed` or `failed`.
/// Thread-safety: none.

#include <cstdint>

#include "examples/lock/lock_codec.hpp"

namespace troupe::lock {

class tick_clock {
 public:
  /// The tick to propose now (`now_ms`: a monotonic clock, never going back).
  lock_request next(std::uint64_t now_ms) {
    lock_request r;
    r.op = lock_op::tick;
    r.restart = !last_committed_;
    r.elapsed_ms = last_committed_ ? now_ms - last_sent_ms_ : 0;
    sent_ms_ = now_ms;
    return r;
  }
  /// The tick from the last `next` was committed and applied.
  void committed() {
    last_committed_ = true;
    last_sent_ms_ = sent_ms_;
  }
  /// Anything else: the next tick restarts.
  void failed() { last_committed_ = false; }

 private:
  bool last_committed_ = false;
  std::uint64_t last_sent_ms_ = 0;
  std::uint64_t sent_ms_ = 0;
};

}  // namespace troupe::lock
