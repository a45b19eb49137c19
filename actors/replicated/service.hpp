#pragma once
/// What an application author writes to get a replicated service (actors/README.md): a
/// deterministic state machine with a name, hosted by every node's Raft group through
/// `service_host` (service_host.hpp) and reached from anywhere through `replicated_client`
/// (replicated_client.hpp). Pure C++: no CAF, no I/O, no clock.
///
/// Determinism is the contract (Raft §5, "replicated state machines", and
/// consensus/core/state_machine.hpp): every replica applies the same commands in the same order
/// and must reach the same state and give the same answers. So `apply` may read nothing but its
/// arguments and the service's state: no clock, no randomness, no I/O. A service that needs time
/// (a lease) puts the proposer's timestamp in the command. Bad input is answered with an error value
/// (the same on every replica), never a throw.
///
/// The host takes care of what every service needs and no service should write again: routing by
/// name, client sessions (each (clientId, sequence) is applied at most once and a retry gets the
/// first answer, Raft thesis §6.3), the read consistency of queries, and the log index each answer
/// was produced at (for session reads).
///
/// Thread-safety: none; the host (on the raft actor's thread, or the simulation) is the only caller.

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/base/result.hpp"

namespace troupe::replicated {

/// Where a command sits: the same on every replica.
struct apply_context {
  std::uint64_t index = 0;      ///< the command's log index (increasing; gaps allowed)
  std::uint64_t client_id = 0;  ///< the session that sent it (non-zero)
  std::uint64_t sequence = 0;   ///< its number in that session (non-zero)
};

class service {
 public:
  virtual ~service() = default;

  /// Applies a committed command (the bytes the client's `command` carried) and returns the
  /// answer for the client. An error (e.g. a command that does not parse) reaches the client as
  /// invalidRequest with its message; it is recorded in the session like any answer, so a retry
  /// gets it again. Called at most once per (client_id, sequence).
  virtual result<std::string> apply(const apply_context& at, std::string_view command) = 0;

  /// Answers a read-only request against the applied state. An error reaches the client as
  /// invalidRequest.
  virtual result<std::string> query(std::string_view request) const = 0;

  /// The whole state as bytes (Raft thesis §5: a snapshot of the state machine); `restore` of them
  /// on a fresh service gives the same state and the same future answers.
  virtual std::string snapshot() const = 0;

  /// Replaces the state with a snapshot's. An error leaves the service unusable: the host refuses
  /// the whole restore.
  virtual status restore(std::string_view image) = 0;
};

}  // namespace troupe::replicated
