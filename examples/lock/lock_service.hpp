#pragma once
/// The lock service as a replicated service (actors/replicated/service.hpp): a `lock_table` behind
/// the payloads of lock_codec.hpp. The service host in front of it (one per node's Raft group) routes
/// requests named "lock" here and applies each (clientId, sequence) at most once, so a retried
/// acquire never creates a second lease.
///
/// - apply: acquire, keep_alive, release, tick. A payload that does not decode, a query sent as a
///   command, an empty name or a TTL outside the options: an error (the client sees invalidRequest).
///   A keep-alive or release of an ended lease: an answer with found = false. An acquire refused for
///   lack of room (lease table or the lock's line full): found = false with `refusal`.
/// - query: status, lease.
/// - snapshot / restore: the table's image (lock_image.cpp).
///
/// An optional observer hears of every change, for metrics (the node counts grants and expirations
/// with it) and for the node's lock clock (it ticks only while a lease is live); it is called on the
/// caller's thread, after the change.
///
/// Deterministic; thread-safety: none (the service host is the only caller).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "actors/replicated/service.hpp"
#include "examples/lock/lock_codec.hpp"
#include "examples/lock/lock_table.hpp"

namespace troupe::lock {

/// Hears what the table did. Must not throw; called on the service host's thread.
class lock_observer {
 public:
  virtual ~lock_observer() = default;
  /// After every command and after every successful restore (a snapshot installed, or the one a
  /// restarting node starts from), with the table as it is now: its counters since this replica
  /// started (replays of the log at start included), the locks held and the live leases. So the
  /// observer always describes the state this replica applied, also on a node that just started or
  /// just became leader; the node's lock clock relies on the lease count (it ticks only while a
  /// lease is live, README.md "Time"). The reference is valid only during the call.
  virtual void changed(const lock_table& table) = 0;
};

class lock_service final : public replicated::service {
 public:
  explicit lock_service(lock_options options = {}, std::shared_ptr<lock_observer> observer = nullptr);

  result<std::string> apply(const replicated::apply_context& at, std::string_view command) override;
  result<std::string> query(std::string_view request) const override;
  std::string snapshot() const override { return table_.snapshot(); }
  troupe::status restore(std::string_view image) override;

  const lock_table& table() const noexcept { return table_; }

 private:
  result<lock_answer> run(const lock_request& r);

  lock_table table_;
  std::shared_ptr<lock_observer> observer_;
};

}  // namespace troupe::lock
