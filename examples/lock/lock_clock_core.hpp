#pragma once
/// The decisions of the node's lock clock (lock_clock_actor.hpp) without CAF or a clock, so that the
/// actor and the simulation (tests/sim/lock/lock_clock_sim_test.cpp) run the same rules. One
/// interval at a time:
///
///   interval(live_leases)      -> idle | busy | ask_leader
///   leader_known(leader, now)  -> the request to propose, or nothing (not the leader)
///   answered(reply) | failed() -> the proposal's outcome
///
/// The time rule (README.md, "Time"): expiry is decided by the ticks in the log, so while a lease
/// (holding or waiting) is live in this replica's applied state, its leader proposes a tick every
/// interval; while none is, a tick could neither end nor stamp anything, so the clock proposes
/// nothing and an idle cluster's log does not grow. The count comes from the service's observer,
/// which is current after every apply, after a snapshot restore and during the log replay at start
/// (lock_service.hpp), so a node that becomes leader with leases outstanding ticks. An interval
/// without a tick breaks the leader's measurement: the next tick is a restart (tick_clock.hpp),
/// which counts no time and only lengthens leases, so skipping is always safe; lock time stands
/// still while nothing is live.
///
/// Each tick is an encoded wire ClientRequest carrying an AppRequest for the service "lock", under
/// the clock's own client session: after a failure a fresh random client id, so that a new
/// leadership opens a session with sequence 1 and no answer of an older one is taken for its own.
///
/// Thread-safety: none (one owner: the clock actor, or the simulation).

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "examples/lock/lock_codec.hpp"
#include "examples/lock/tick_clock.hpp"
#include "runtime/base/result.hpp"

namespace troupe::lock {

/// What the clock did so far (the actor publishes these as metrics).
struct lock_clock_stats {
  std::uint64_t idle_intervals = 0;  ///< intervals without a live lease: nothing proposed
  std::uint64_t proposed = 0;        ///< ticks proposed (as leader)
  std::uint64_t committed = 0;       ///< of those, answered by the service
  std::uint64_t failed = 0;          ///< of those, refused, timed out or of unknown outcome
};

class lock_clock_core {
 public:
  enum class step : std::uint8_t {
    idle,        ///< no live lease: nothing to do this interval (the next tick restarts)
    busy,        ///< the previous tick is still in flight: wait for its outcome
    ask_leader,  ///< find out whether this node leads, then call leader_known
  };

  /// `group`: the Raft group the ticks are for; `seed` draws the client ids.
  lock_clock_core(std::uint64_t group, std::uint64_t seed);

  /// The start of an interval, with the live leases (holding or waiting) of this replica.
  step interval(std::uint64_t live_leases);
  /// After ask_leader: whether this node leads now; `now_ms` a monotonic clock. Returns the encoded
  /// ClientRequest to propose, or nothing (not the leader: its next tick as leader restarts). A
  /// request returned is in flight until answered or failed.
  std::optional<std::string> leader_known(bool leader, std::uint64_t now_ms);
  /// The service's reply to the tick in flight (an encoded ClientReply). Its summary, or an error
  /// saying why it is not one (the tick then counts as failed).
  result<tick_summary> answered(std::string_view client_reply);
  /// The tick in flight (or the leader question) failed or its outcome is unknown.
  void failed();

  bool in_flight() const noexcept { return in_flight_; }
  const lock_clock_stats& stats() const noexcept { return stats_; }

 private:
  void new_session();

  std::uint64_t group_;
  std::mt19937_64 rng_;
  tick_clock clock_;
  std::uint64_t client_id_ = 0;
  std::uint64_t sequence_ = 0;
  bool in_flight_ = false;
  bool proposed_ = false;  ///< the thing in flight is a proposal, not the leader question
  lock_clock_stats stats_;
};

}  // namespace troupe::lock
