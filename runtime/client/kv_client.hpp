#pragma once
/// A key-value client that finds the leader by itself and retries safely (Raft thesis 6.3: a client
/// session is a client id and a sequence number; the state machine applies each (id, sequence) at
/// most once and answers a retry from its session table).
///
/// Contract of one operation (put, get, cas, del, range, changes, txn):
/// - A write (put, cas, del, txn) takes the next sequence number (from 1) and keeps it for every
///   retry, so a retry after a lost reply never applies the command twice. A read (get, range,
///   changes) reuses the last one (reads are not in the log; each call still waits for its own
///   reply).
/// - A `sessionExpired` answer (the cluster forgot this client) starts a new session under a new
///   random client id; the operation goes on there unless an earlier copy may have been applied.
/// - It talks to the remembered leader, else tries the endpoints in turn; it follows a `notLeader`
///   reply's leader hint, and remembers the node that answered as the leader.
/// - It retries on timeout, connection loss, `notLeader`, `unavailable` and a node's `timeout`
///   answer, backs off (exponential, jittered) on `busy` and after a round of endpoints that all
///   failed, until the overall timeout.
/// - It ends with a definite outcome (done or failed) or `unknown`: a copy of the request may have
///   reached a node and no definite answer came back before the timeout.
///
/// Not thread-safe: one kv_client per thread. It keeps one connection open (to the leader).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/wire/client_types.hpp"

namespace troupe::link {
class secret;
}

namespace troupe::client {

/// One open client session to one node, as kv_client needs it. The real one wraps `connection`;
/// tests use fakes.
class node_link {
 public:
  virtual ~node_link() = default;
  /// The node id the node gave in its handshake.
  virtual std::uint64_t node_id() const = 0;
  /// As connection::call: the reply for (client id, sequence), or errc::timeout / errc::closed /
  /// errc::malformed.
  virtual result<wire::client_reply> call(const wire::client_request& request,
                                          std::chrono::milliseconds deadline) = 0;
};

/// Opens a link to `address` ("host:port") for `client_id` within `connect_timeout`. Errors as
/// connection::open: errc::refused (authentication, cluster id: retrying cannot help), anything
/// else is "not reachable now".
using link_factory = std::function<result<std::unique_ptr<node_link>>(
    const std::string& address, std::uint64_t client_id, std::chrono::milliseconds connect_timeout)>;

/// Time as kv_client sees it; tests inject a simulated clock.
struct client_clock {
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::milliseconds)> sleep;
  static client_clock real();
};

struct kv_client_options {
  std::vector<std::string> endpoints;  ///< "host:port", at least one
  std::uint64_t group_id = 1;          ///< the Raft group that serves the key-value store
  std::chrono::milliseconds timeout{5000};          ///< per operation, all retries included
  std::chrono::milliseconds attempt_timeout{2000};  ///< one try at one node
  std::chrono::milliseconds backoff_initial{10};
  std::chrono::milliseconds backoff_max{500};
  std::uint64_t client_id = 0;  ///< 0: random non-zero
  std::uint64_t seed = 0;       ///< backoff jitter; 0: random
};

/// How an operation ended. Maps onto the CLI exit codes 0 / 1 / 3 / 2.
enum class kv_outcome {
  done,     ///< applied (or read) exactly once
  failed,   ///< definitely not applied: cas mismatch, key absent, busy, refused, unreachable
  unknown,  ///< may or may not have been applied (timeout, connection lost after sending)
  invalid,  ///< the node rejected the request as malformed (bad input)
};

const char* to_string(kv_outcome o) noexcept;

struct kv_result {
  kv_outcome outcome = kv_outcome::unknown;
  /// The last answer's code (ok, cas_mismatch, no_such_key, busy...); `unknown` when the last try
  /// got no answer.
  wire::client_error code = wire::client_error::unknown;
  std::string message;               ///< for people; empty when done
  std::optional<std::string> value;  ///< get: the value; failed cas: the current value, if any
  unsigned attempts = 0;             ///< requests sent or tried, retries included
  std::uint64_t sequence = 0;        ///< the sequence number this operation used (last try)
  bool refused = false;  ///< a node refused the handshake (secret, cluster id): no retry can help
  /// The answer's body when a node answered: range, changes and txn results (also the changes
  /// body of an `invalidRequest` for a compacted revision); monostate otherwise.
  decltype(wire::client_reply::body) body;
  /// An earlier try of this operation may have been applied (its answer was lost): set with
  /// `invalid`, whose reason may then be the earlier try's own effect (troupe cluster).
  bool maybe_applied = false;
};

/// Whether `body` is a read: served by the read path, never in the log or the session table, so it
/// takes no sequence number of its own (get, range, changes, ping, status, an application query).
bool is_read(const decltype(wire::client_request::body)& body) noexcept;

class kv_client {
 public:
  /// `options.endpoints` must not be empty; `factory` opens links (connection_factory for real
  /// nodes).
  kv_client(kv_client_options options, link_factory factory, client_clock clock = client_clock::real());
  ~kv_client();
  kv_client(const kv_client&) = delete;
  kv_client& operator=(const kv_client&) = delete;

  kv_result put(const std::string& key, const std::string& value);
  /// `get`, `range` and `changes` at `session` consistency end `invalid` without sending: a kv
  /// request carries no session index, so a node could only serve it like `stale`.
  kv_result get(const std::string& key,
                wire::read_consistency consistency = wire::read_consistency::linearizable);
  /// `expected` nullopt: the key must be absent.
  kv_result cas(const std::string& key, const std::optional<std::string>& expected,
                const std::string& new_value);
  kv_result del(const std::string& key);
  /// Reads: done with a kv_range_result / kv_changes_result in `body`. A changes request from a
  /// compacted revision ends `invalid` with the kv_changes_result (compacted set) in `body`.
  kv_result range(wire::kv_range request);
  kv_result changes(wire::kv_changes request);
  /// A write: done with a kv_txn_result in `body` (whichever branch ran).
  kv_result txn(wire::kv_txn request);
  /// A replicated service's command (a write: next sequence, kept for every retry) or query (a
  /// read): done with a wire::app_reply in `body`; a service's refusal ends `invalid` with its
  /// message. actors/replicated/replicated_client.hpp is the typed handle on top.
  kv_result app(wire::app_request request);
  /// A membership change or leadership transfer, sent to the leader like a write: done once the
  /// leader reports it complete; invalid when it does not fit the configuration (message says
  /// why); unknown when no definite answer came (it may have happened: check cluster status).
  kv_result cluster(wire::cluster_request request);

  std::uint64_t client_id() const noexcept { return client_id_; }
  /// The endpoint believed to be the leader, if any.
  std::optional<std::string> leader() const;
  /// The node id of the current connection, 0 when none is open.
  std::uint64_t connected_node() const noexcept;

 private:
  kv_result run(wire::client_request request);
  kv_result finish_ok(wire::client_request const& request, wire::client_reply reply,
                      unsigned attempts);
  std::size_t endpoint_index(const std::string& address);
  void forget_leader(std::size_t failed);
  std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point until) const;

  kv_client_options options_;
  link_factory factory_;
  client_clock clock_;
  std::mt19937_64 rng_;
  std::uint64_t client_id_;
  std::uint64_t sequence_ = 0;
  std::optional<std::size_t> leader_;  ///< index into options_.endpoints
  std::size_t next_ = 0;               ///< next endpoint to try when no leader is known
  std::unique_ptr<node_link> link_;
  std::size_t link_endpoint_ = 0;
};

/// The factory of real connections (runtime/client/connection.hpp) with the given cluster id and
/// client secret (null: an unauthenticated session, which a node grants on loopback only when it
/// has no client secret).
link_factory connection_factory(std::string cluster_id,
                                std::shared_ptr<const link::secret> client_secret);

}  // namespace troupe::client
