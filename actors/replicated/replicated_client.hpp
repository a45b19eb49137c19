#pragma once
/// The handle an application uses to reach a replicated service (actors/README.md): commands and
/// queries to the service named at construction, wherever the leader is, retried safely.
///
/// - command(payload): a write. It takes the next sequence number of this client's session and
///   keeps it for every retry (lost reply, timeout, leader change), so the service applies it at
///   most once (the service host's sessions, Raft thesis §6.3). Ends done (applied once, with the
///   service's answer), invalid (the service refused it), failed (definitely not applied) or unknown
///   (may have been applied; no definite answer before the timeout).
/// - query(payload, consistency): a read, never in the log. The consistency levels and what each
///   promises are in docs/consistency.md. The handle keeps the highest log index it has seen in any
///   answer (its *session index*) and sends it with session reads: a node serves them only once it
///   has applied that far, so a session reads its own writes and never goes back in time, even
///   across nodes.
/// Which node it asks: the one it believes leads (found from notLeader hints), else the endpoints
/// in order. Session and stale reads are answered by whichever node it asks, follower or not;
/// list a follower first in `endpoints` to read from it.
///
/// Not thread-safe: one handle per thread. Blocking; every call is bounded by the options' timeout.

#include <cstdint>
#include <string>

#include "runtime/client/kv_client.hpp"
#include "runtime/wire/client_types.hpp"

namespace troupe::replicated {

struct call_result {
  client::kv_outcome outcome = client::kv_outcome::unknown;
  wire::client_error code = wire::client_error::unknown;  ///< the last answer's code
  std::string message;     ///< for people; empty when done
  std::string payload;     ///< the service's answer when done
  std::uint64_t index = 0;  ///< the log index the answer was produced at (done only)
  unsigned attempts = 0;
};

class replicated_client {
 public:
  /// `service`: the registered name (e.g. "counter"); `options.endpoints` not empty; `factory`
  /// opens links (client::connection_factory for real nodes).
  replicated_client(std::string service, client::kv_client_options options, client::link_factory factory,
                    client::client_clock clock = client::client_clock::real());

  call_result command(std::string payload);
  call_result query(std::string payload,
                    wire::read_consistency consistency = wire::read_consistency::linearizable);

  /// The highest log index seen in an answer (0 before any).
  std::uint64_t session_index() const noexcept { return session_index_; }
  /// Starts from a session index learnt elsewhere (e.g. printed by an earlier command-line call).
  void observe_index(std::uint64_t index) noexcept;
  std::uint64_t client_id() const noexcept { return client_.client_id(); }
  const std::string& service() const noexcept { return service_; }

 private:
  call_result finish(client::kv_result r, std::uint64_t min_index);

  std::string service_;
  client::kv_client client_;
  std::uint64_t session_index_ = 0;
};

}  // namespace troupe::replicated
