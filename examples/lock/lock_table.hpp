#pragma once
/// The lock service's replicated state (examples/lock/README.md): named locks held under leases
/// with a time to live, first-come-first-served waiters, and a fencing token with every grant.
///
/// Time. The table never reads a clock (Raft §5: every replica must reach the same state from the
/// same commands). It keeps its own *lock time*, `now_ms()`, which only `tick` moves: the leader
/// measures how long passed since its previous tick and proposes that; a leader that just started
/// (or whose previous tick's outcome it does not know) proposes `restart`, which counts no time and
/// renews every lease to a full TTL (the rule and the drift margin are in the README).
///
/// Leases. Every acquire creates a lease, holding or waiting. A lease expires when lock time
/// reaches `renewed + ttl + margin(ttl)`, where `renewed` is the lock time of the first tick after
/// the renewal (acquire, keep-alive, grant): lock time lags the leader's clock, and the next tick's
/// time is certainly later than the moment the client sent its request. keep_alive renews a lease,
/// release ends it. An expired or
/// released holder's lock goes to the oldest waiter still alive; a lock nobody holds has no waiters.
///
/// Fencing tokens come from one counter for all locks: every grant takes the next value, so tokens
/// increase strictly per lock and across locks (a lock forgotten when free and created again never
/// reuses a token, and nothing per name has to be remembered for it).
///
/// Every bound (names, TTLs, leases, waiters per lock) is checked before anything changes; beyond
/// one the call returns an error and changes nothing.
///
/// Thread-safety: none; one owner (the lock service, on the raft actor's thread).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/base/result.hpp"

namespace troupe::lock {

using lease_id = std::uint64_t;

/// Limits and the drift margin; every replica must use the same values (they decide answers).
struct lock_options {
  std::uint64_t min_ttl_ms = 100;
  std::uint64_t max_ttl_ms = 24ull * 3600 * 1000;
  std::size_t max_name_bytes = 512;
  std::size_t max_leases = 100'000;         ///< holders and waiters of all locks together
  std::size_t max_waiters_per_lock = 10'000;
  /// How much faster the leader's clock may run than a holder's, in millionths: a lease lasts
  /// ttl + ttl * drift_ppm / 1e6 (rounded up) of lock time. 1% by default (README.md, "Time").
  std::uint64_t drift_ppm = 10'000;
};

enum class lease_state : std::uint8_t { holding, waiting };

/// One lease as seen from outside.
struct lease_info {
  lease_id id = 0;
  std::string name;
  lease_state state = lease_state::waiting;
  std::uint64_t ttl_ms = 0;
  /// Lock time at which it expires unless renewed; provisional (now + lifetime) until the tick
  /// after a renewal fixes it, which can only make it later.
  std::uint64_t expiry_ms = 0;
  std::uint64_t token = 0;      ///< the fencing token while holding, else 0
  std::size_t position = 0;     ///< while waiting: 1 = next in line; 0 while holding
  friend bool operator==(const lease_info&, const lease_info&) = default;
};

enum class acquire_outcome : std::uint8_t {
  granted,  ///< the lock was free: `lease` holds it with `token`
  queued,   ///< held, and the caller waits: `lease` is a waiter at `position`
  held,     ///< held, and the caller does not wait: no lease was created
};

struct acquire_result {
  acquire_outcome outcome = acquire_outcome::held;
  lease_info lease;              ///< granted / queued: the new lease
  lease_id holder = 0;           ///< queued / held: who holds the lock
  std::uint64_t holder_token = 0;
  friend bool operator==(const acquire_result&, const acquire_result&) = default;
};

/// A lock changing hands: `lease` now holds `name` with `token`.
struct grant {
  std::string name;
  lease_id lease = 0;
  std::uint64_t token = 0;
  friend bool operator==(const grant&, const grant&) = default;
};

/// What a release or a tick did.
struct transition {
  std::vector<lease_info> ended;  ///< released or expired leases, as they were just before
  std::vector<grant> grants;      ///< locks handed to their next waiter, in lease order
  friend bool operator==(const transition&, const transition&) = default;
};

struct lock_status {
  std::string name;
  std::uint64_t now_ms = 0;            ///< the table's lock time
  std::optional<lease_info> holder;    ///< absent: free
  std::vector<lease_info> waiters;     ///< oldest first
  friend bool operator==(const lock_status&, const lock_status&) = default;
};

struct lock_stats {
  std::uint64_t grants = 0;       ///< acquires granted at once plus waiters promoted
  std::uint64_t expirations = 0;  ///< leases (holding or waiting) ended by their TTL
  std::uint64_t releases = 0;     ///< leases ended by release
  std::uint64_t refusals = 0;     ///< acquires without wait that found the lock held
  friend bool operator==(const lock_stats&, const lock_stats&) = default;
};

class lock_table {
 public:
  explicit lock_table(lock_options options = {});

  /// A new lease on `name` with `ttl_ms`: holds at once if the lock is free, else waits at the end
  /// of the line when `wait`, else nothing changes (`held`). Errors (nothing changes):
  /// invalid_argument (empty name, TTL outside the options), too_large (name too long, lease table
  /// or the lock's line full).
  result<acquire_result> acquire(std::string_view name, std::uint64_t ttl_ms, bool wait);

  /// Renews `id` to a full TTL from now. not_found when the lease ended (expired or released):
  /// its holder must assume it lost the lock.
  result<lease_info> keep_alive(lease_id id);

  /// Ends `id` (a holder gives the lock to its next waiter; a waiter leaves the line). not_found when
  /// it already ended.
  result<transition> release(lease_id id);

  /// Advances lock time by `elapsed_ms` (the leader's measurement since its previous tick), or, when
  /// `restart`, by nothing while renewing every lease to at least a full TTL from now (a new leader
  /// cannot tell how long passed since the previous leader's last tick). Then ends every lease whose
  /// expiry passed and hands each freed lock to its oldest live waiter.
  transition tick(std::uint64_t elapsed_ms, bool restart);

  lock_status status(std::string_view name) const;
  std::optional<lease_info> lease(lease_id id) const;

  std::uint64_t now_ms() const noexcept { return now_ms_; }
  std::uint64_t last_token() const noexcept { return last_token_; }
  std::size_t lease_count() const noexcept { return leases_.size(); }
  /// Locks with a holder (a lock with neither holder nor waiters is forgotten).
  std::size_t held_count() const noexcept { return locks_.size(); }
  const lock_stats& stats() const noexcept { return stats_; }
  const lock_options& options() const noexcept { return options_; }

  /// How long a lease lasts in lock time: ttl plus the drift margin.
  std::uint64_t lifetime_ms(std::uint64_t ttl_ms) const noexcept;

  /// The whole state as bytes (lock_image.cpp); `restore` of them on a table with the same options
  /// gives the same state and the same future answers. Stats are not part of the state.
  std::string snapshot() const;
  /// Replaces the state with an image's. A damaged or inconsistent image is an error (errc::corrupt)
  /// and leaves the table as it was.
  troupe::status restore(std::string_view image);

  /// Checks the invariants (one holder per lock, waiters only behind a holder, indexes consistent,
  /// tokens at most last_token); returns what broke, or an empty string. For tests.
  std::string check_invariants() const;

 private:
  struct lease_rec {
    std::string name;
    std::uint64_t ttl_ms = 0;
    std::uint64_t expiry_ms = 0;
    std::uint64_t token = 0;  ///< 0 while waiting
  };
  struct lock_rec {
    lease_id holder = 0;
    std::deque<lease_id> waiters;
  };

  lease_info info(lease_id id, const lease_rec& rec) const;
  void set_expiry(lease_id id, lease_rec& rec, std::uint64_t expiry_ms);
  /// A renewal (acquire, keep-alive, grant): provisional until the next tick (README.md, "Time").
  void renew(lease_id id, lease_rec& rec);
  /// Removes `id` from the lease table and from its lock (holder or line); the lock is forgotten if
  /// it has neither holder nor waiters left, else (holder gone) its next waiter is promoted into
  /// `out.grants`.
  void end_lease(lease_id id, transition& out, bool expired);
  void promote(const std::string& name, lock_rec& lock, transition& out);

  lock_options options_;
  std::uint64_t now_ms_ = 0;
  lease_id next_lease_ = 1;
  std::uint64_t last_token_ = 0;
  std::map<lease_id, lease_rec> leases_;
  std::map<std::string, lock_rec, std::less<>> locks_;
  std::set<std::pair<std::uint64_t, lease_id>> by_expiry_;
  /// Leases renewed since the last tick: the next tick counts their lifetime from its own time.
  std::set<lease_id> pending_;
  lock_stats stats_;
};

const char* to_string(lease_state s) noexcept;
const char* to_string(acquire_outcome o) noexcept;
inline std::ostream& operator<<(std::ostream& os, lease_state s) { return os << to_string(s); }
inline std::ostream& operator<<(std::ostream& os, acquire_outcome o) { return os << to_string(o); }

}  // namespace troupe::lock
