#pragma once
/// The state machine of a node's Raft group when it hosts application services (actors/README.md):
/// it routes each committed command and each read by service name to a registered `service`
/// (service.hpp), and hands every other request (the key-value protocol) to a fallback state
/// machine (examples/kv's kv_state_machine in the `troupe` binary), so one group serves kv and
/// every service at once.
///
/// Commands and queries are encoded wire ClientRequests whose body is an AppRequest
/// (runtime/wire/client.capnp); answers are encoded ClientReplies with an AppReply body carrying
/// the service's bytes and the log index the answer was produced at. For a command:
/// 1. bytes that do not decode, clientId or sequence 0, a query sent as a command, a service name
///    not registered: invalidRequest, the same on every replica, nothing recorded;
/// 2. the host's client sessions (session_table.hpp, Raft thesis §6.3): a duplicate gets the first
///    answer byte for byte, a stale copy invalidRequest, a forgotten session sessionExpired;
/// 3. a fresh command: service::apply; its answer (or its refusal, as invalidRequest) is recorded
///    in the session and returned.
/// The host's sessions are its own, separate from the fallback's: a client id must be used either
/// for key-value requests or for service requests (replicated_client and kv_client each pick
/// their own random id).
///
/// Every replica must register the same services under the same names before the first apply
/// (the `troupe` binary does it in its state-machine factory).
///
/// Thread-safety: none; the raft actor (or the simulation) is the only caller.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "actors/replicated/service.hpp"
#include "actors/replicated/session_table.hpp"
#include "consensus/core/state_machine.hpp"
#include "runtime/base/result.hpp"
#include "runtime/wire/message.hpp"

namespace troupe::replicated {

/// Limits; every replica must use the same values (they decide answers).
struct host_options {
  /// A command or query larger than this is refused before it is decoded.
  std::size_t max_request_bytes = 4u << 20;
  session_limits sessions;
};

/// Counts of command outcomes (all services), for tests and metrics.
struct host_stats {
  std::uint64_t applied = 0;     ///< fresh commands handed to a service
  std::uint64_t duplicates = 0;  ///< answered from the session table
  std::uint64_t stale = 0;
  std::uint64_t expired = 0;
  std::uint64_t invalid = 0;     ///< refused before the session table
  std::uint64_t queries = 0;
  std::uint64_t delegated = 0;   ///< commands handed to the fallback (key-value)
};

class service_host final : public raft::state_machine {
 public:
  /// `fallback` serves every request that is not an AppRequest (may be null: those are refused).
  explicit service_host(std::unique_ptr<raft::state_machine> fallback = nullptr,
                        host_options options = {});

  /// Registers `s` under `name` (non-empty, unique). Call before the first apply, on every replica
  /// alike.
  void add(std::string name, std::unique_ptr<service> s);

  std::string apply(std::uint64_t index, std::string_view command) override;
  std::string query(std::string_view request) const override;
  std::uint64_t applied_index() const override { return applied_; }

  /// Everything, deterministic (equal states give equal bytes): the host's sessions in eviction
  /// order, each service's snapshot by name (in name order) and the fallback's, in
  /// consensus/core/snapshot_bytes.hpp's encoding.
  std::string snapshot() const override;
  /// Everything but the services' images (their sizes are known only once taken): exact for a
  /// host without services.
  std::size_t snapshot_size() const override;
  /// snapshot()'s bytes, written in place into `out` reserved once at their exact size (the
  /// services' images are taken first), the fallback's image too (state_machine::append_snapshot).
  void append_snapshot(std::string& out) const override;
  /// Replaces the whole state with a snapshot()'s; afterwards applied_index() == index. errc::corrupt
  /// when the image does not decode, names a service not registered here (or misses one), or a
  /// service or the fallback refuses its part; the state is then unchanged.
  status restore(std::uint64_t index, std::string_view image) override;

  /// A copy: `queries` is counted by the const query().
  host_stats stats() const {
    host_stats s = stats_;
    s.queries = queries_;
    return s;
  }
  const session_table& sessions() const { return sessions_; }
  /// The registered service `name`, or null.
  const service* find(std::string_view name) const;
  raft::state_machine* fallback() const { return fallback_.get(); }

 private:
  std::string apply_app(std::uint64_t index, const wire::message& msg);

  std::unique_ptr<raft::state_machine> fallback_;
  host_options options_;
  std::map<std::string, std::unique_ptr<service>, std::less<>> services_;
  session_table sessions_;
  std::uint64_t applied_ = 0;
  host_stats stats_;
  mutable std::uint64_t queries_ = 0;
};

}  // namespace troupe::replicated
