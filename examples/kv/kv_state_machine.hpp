#pragma once
/// The replicated key-value service's state machine (examples/kv/README.md): commands and queries
/// are encoded wire ClientRequests (runtime/wire/client.capnp), replies encoded ClientReplies.
///
/// - apply() serves the writes: put, cas, del, txn. Each goes through the client session table
///   first (session_table.hpp: at most once per (clientId, sequence), a retry gets the cached reply).
/// - query() serves the reads: get, range (prefix listing), changes (history since a revision, the
///   basis of watch). It never touches sessions (reads are not in the log).
/// - Bytes that do not decode, a request kind served by the other call (a get in apply, a put in
///   query) or by neither (ping, status), clientId or sequence 0, an empty or oversized key, an
///   oversized value: an invalidRequest reply, the same on every replica; never a throw.
///
/// Deterministic (consensus/core/state_machine.hpp): the state and every reply depend only on the
/// commands applied, in order, and on the options, which must be the same on every replica.
/// Thread-safety: none; the raft actor (or the simulation) is the only caller.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "consensus/core/state_machine.hpp"
#include "examples/kv/kv_store.hpp"
#include "examples/kv/session_table.hpp"
#include "runtime/base/result.hpp"
#include "runtime/wire/client_types.hpp"

namespace troupe::kv {

/// Limits; every replica of a group must use the same values (they decide replies).
struct kv_options {
  std::size_t max_key_bytes = 4096;
  std::size_t max_value_bytes = 1u << 20;
  /// A command or query larger than this is refused before it is decoded.
  std::size_t max_request_bytes = 4u << 20;
  session_limits sessions;
  history_limits history;
  /// Transactions (txn.hpp); its key and value limits are taken from the fields above.
  std::size_t max_txn_compares = 128;
  std::size_t max_txn_operations = 128;
  /// A range or changes reply holds at most this many entries / events, and about this many bytes
  /// of keys and values (at least one entry or revision); a txn's gets read at most this many.
  std::size_t max_range_entries = 10'000;
  std::size_t max_change_events = 1'000;
  std::size_t max_read_reply_bytes = 4u << 20;
};

/// What apply() did with the last command, for tests and metrics.
enum class apply_outcome : std::uint8_t {
  applied,    ///< a fresh request: the state may have changed, the reply is cached
  duplicate,  ///< a retry of the last applied request: answered from the session table
  stale,      ///< older than the session's last request: refused (invalidRequest)
  expired,    ///< session unknown or evicted: refused (sessionExpired)
  invalid,    ///< did not decode or broke a rule before reaching the session table
};

const char* to_string(apply_outcome o) noexcept;

/// Counts of apply outcomes and queries since construction.
struct kv_stats {
  std::uint64_t applied = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t stale = 0;
  std::uint64_t expired = 0;
  std::uint64_t invalid = 0;
  std::uint64_t queries = 0;
};

class kv_state_machine final : public raft::state_machine {
 public:
  explicit kv_state_machine(kv_options options = {});

  /// Applies an encoded ClientRequest committed at `index`. An `index` not above applied_index()
  /// (the caller broke the contract) changes nothing and gets an internal error reply.
  std::string apply(std::uint64_t index, std::string_view command) override;

  /// Answers an encoded ClientRequest that only reads.
  std::string query(std::string_view request) const override;

  std::uint64_t applied_index() const override { return applied_index_; }

  /// The whole applied state (keys, revisions, history, sessions) as of applied_index(), in the
  /// versioned, checksummed format of kv_snapshot.hpp: equal states give equal bytes.
  std::string snapshot() const override;
  /// Exact, from the store's and the sessions' byte counts.
  std::size_t snapshot_size() const override;
  /// snapshot()'s bytes written in place (kv_snapshot.hpp append_snapshot).
  void append_snapshot(std::string& out) const override;

  /// Replaces the state by `image`, taken at log index `index` (Raft §7, InstallSnapshot or a
  /// restart). errc::corrupt for an image that does not decode (damaged, truncated, inconsistent,
  /// another format); errc::invalid_argument if the image was taken at another index than `index`.
  /// On any error the state is unchanged. Local stats are kept (they count this replica's work).
  status restore(std::uint64_t index, std::string_view image) override;

  apply_outcome last_outcome() const { return last_outcome_; }
  kv_stats stats() const {
    kv_stats s = stats_;
    s.queries = queries_;
    return s;
  }
  const kv_store& store() const { return store_; }
  const session_table& sessions() const { return sessions_; }
  const kv_options& options() const { return options_; }

 private:
  /// Runs a fresh write (the session check passed) and builds its reply.
  wire::client_reply execute(const wire::client_request& request);
  wire::client_reply execute_txn(const wire::client_request& request, const wire::kv_txn& txn);
  /// Checks key and value sizes of a request; an empty string if fine, else what is wrong.
  std::string check_limits(const wire::client_request& request) const;
  // Reads (kv_queries.cpp).
  wire::client_reply read_get(const wire::client_request& request, const wire::kv_get& get) const;
  wire::client_reply read_range(const wire::client_request& request, const wire::kv_range& range) const;
  wire::client_reply read_changes(const wire::client_request& request, const wire::kv_changes& changes) const;

  kv_options options_;
  kv_store store_;
  session_table sessions_;
  std::uint64_t applied_index_ = 0;
  apply_outcome last_outcome_ = apply_outcome::invalid;
  kv_stats stats_;
  mutable std::uint64_t queries_ = 0;
};

}  // namespace troupe::kv
