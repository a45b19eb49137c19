#pragma once
/// Plain C++ forms of the client protocol (runtime/wire/client.capnp): what the client CLI and the
/// node's client service exchange. No Cap'n Proto include; runtime/wire/client_codec.hpp converts.
/// Keys and values are arbitrary bytes held in std::string.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "runtime/wire/common_types.hpp"

namespace troupe::wire {

/// How a read is served (Raft thesis section 6.4; docs/consistency.md): linearizable (ReadIndex
/// through the leader), lease (the leader's lease), follower (any node, the leader's read index),
/// session (any node once applied >= the request's min index), stale (any node, at once).
enum class read_consistency : std::uint8_t { linearizable, lease, follower, session, stale };

const char* to_string(read_consistency c) noexcept;

/// Why a kv read at session consistency is refused (invalid_request), by the client library before
/// sending and by the node for any other client: KvGet, KvRange and KvChanges carry no session
/// index, so it would be a stale read under a stronger name (docs/consistency.md).
inline constexpr const char* kv_session_read_refusal =
    "session consistency needs a session index, which a kv request cannot carry: "
    "use follower (linearizable from any node) or stale";

struct kv_put {
  std::string key;
  std::string value;
  friend bool operator==(const kv_put&, const kv_put&) = default;
};

struct kv_get {
  std::string key;
  read_consistency consistency = read_consistency::linearizable;
  friend bool operator==(const kv_get&, const kv_get&) = default;
};

/// Compare-and-swap: sets `new_value` if the key holds `expected` (std::nullopt: the key must not
/// exist).
struct kv_cas {
  std::string key;
  std::optional<std::string> expected;
  std::string new_value;
  friend bool operator==(const kv_cas&, const kv_cas&) = default;
};

struct kv_del {
  std::string key;
  friend bool operator==(const kv_del&, const kv_del&) = default;
};

struct ping {
  std::uint64_t nonce = 0;
  friend bool operator==(const ping&, const ping&) = default;
};

struct status_query {
  friend bool operator==(const status_query&, const status_query&) = default;
};

// --- config center (issue 6; client.capnp says what each field means) ---

/// Read: one key, or every key starting with `key` when `prefix`, in key order.
struct kv_range {
  std::string key;
  bool prefix = false;
  std::string start_after;  ///< paging: only keys after this one (empty: from the first)
  std::uint32_t limit = 0;  ///< 0: the server's maximum
  bool keys_only = false;
  read_consistency consistency = read_consistency::linearizable;
  friend bool operator==(const kv_range&, const kv_range&) = default;
};

enum class compare_op : std::uint8_t { equal, not_equal, less, greater };
enum class compare_target : std::uint8_t { value, version, create_revision, mod_revision };

/// One condition of a transaction: `target` of `key` compared with `value` (target value) or
/// `number` (the others).
struct kv_compare {
  std::string key;
  compare_op op = compare_op::equal;
  compare_target target = compare_target::value;
  std::string value;
  std::uint64_t number = 0;
  friend bool operator==(const kv_compare&, const kv_compare&) = default;
};

/// One operation of a transaction branch (a get's consistency is ignored there).
using kv_txn_op = std::variant<kv_put, kv_del, kv_get>;

/// Write: if every compare holds run `success`, else `failure`, atomically, as one revision.
struct kv_txn {
  std::vector<kv_compare> compares;
  std::vector<kv_txn_op> success;
  std::vector<kv_txn_op> failure;
  friend bool operator==(const kv_txn&, const kv_txn&) = default;
};

/// Read: changes with revision >= from_revision to `key` (or keys with that prefix), in order.
struct kv_changes {
  std::string key;
  bool prefix = false;
  std::uint64_t from_revision = 0;  ///< 0: from now
  std::uint32_t limit = 0;          ///< 0: the server's maximum
  read_consistency consistency = read_consistency::linearizable;
  friend bool operator==(const kv_changes&, const kv_changes&) = default;
};

/// `troupe checkpoint ...` (runtime/wire/checkpoint.capnp ClientCommand).
enum class checkpoint_verb : std::uint8_t { take, list, show, restore, remove, export_dot };

struct checkpoint_request {
  checkpoint_verb verb = checkpoint_verb::list;
  std::uint64_t id = 0;  ///< show, restore, remove, export_dot
  friend bool operator==(const checkpoint_request&, const checkpoint_request&) = default;
};

/// The coordinator's answer (ClientResult): `status` "ok", a checkpoint status name or an error
/// code name; `text` for people.
struct checkpoint_result {
  std::uint64_t id = 0;
  std::string status;
  std::string text;
  friend bool operator==(const checkpoint_result&, const checkpoint_result&) = default;
};

// --- replicated application services (client.capnp AppRequest; actors/README.md) ---

enum class app_call : std::uint8_t { command, query };

/// A command or query for the service named `service` of the node's service host.
struct app_request {
  std::string service;
  app_call call = app_call::command;
  std::string payload;  ///< the service's own encoding
  read_consistency consistency = read_consistency::linearizable;  ///< queries only
  std::uint64_t min_index = 0;  ///< session queries: served once applied >= this
  friend bool operator==(const app_request&, const app_request&) = default;
};

/// The service's answer: `index` is the log index a command was applied at, or the applied index
/// a query was served at.
struct app_reply {
  std::string payload;
  std::uint64_t index = 0;
  friend bool operator==(const app_reply&, const app_reply&) = default;
};

/// `troupe cluster add|promote|remove` (client.capnp MemberChange).
enum class member_change_kind : std::uint8_t { add_voter, add_learner, remove };

struct member_change {
  member_change_kind kind = member_change_kind::add_voter;
  std::uint64_t node_id = 0;
  std::string address;  ///< host:port; may be empty for a promotion or a removal
  friend bool operator==(const member_change&, const member_change&) = default;
};

/// Membership changes (several at once) or a leadership transfer (client.capnp ClusterCommand).
struct cluster_request {
  std::vector<member_change> changes;  ///< used when transfer_to == 0
  std::uint64_t transfer_to = 0;       ///< non-zero: transfer leadership to this node
  friend bool operator==(const cluster_request&, const cluster_request&) = default;
};

/// `troupe backup save` (client.capnp BackupRequest): backup_id 0 takes a new backup.
struct backup_request {
  std::uint64_t backup_id = 0;
  std::uint64_t offset = 0;
  std::uint32_t max_bytes = 0;
  friend bool operator==(const backup_request&, const backup_request&) = default;
};

/// One chunk of a backup file (client.capnp BackupChunk).
struct backup_chunk {
  std::uint64_t backup_id = 0;
  std::uint64_t total_bytes = 0;
  std::uint64_t offset = 0;
  std::string data;
  std::uint64_t index = 0;
  std::uint64_t term = 0;
  friend bool operator==(const backup_chunk&, const backup_chunk&) = default;
};

/// One client request. (client_id, sequence) identifies it for at-most-once application.
struct client_request {
  std::uint64_t client_id = 0;
  std::uint64_t sequence = 0;
  std::uint64_t group_id = 0;
  std::variant<kv_put, kv_get, kv_cas, kv_del, ping, status_query, kv_range, kv_txn, kv_changes,
               checkpoint_request, app_request, cluster_request, backup_request>
      body;
  friend bool operator==(const client_request&, const client_request&) = default;
};

/// Outcome codes of a client request. `unknown` is what a reply with a code this build does not
/// know decodes to (a newer node), so that old clients keep working.
enum class client_error : std::uint16_t {
  ok,
  not_leader,
  no_such_key,
  cas_mismatch,
  busy,
  timeout,
  invalid_request,
  session_expired,
  unavailable,
  internal,
  unknown,
};

const char* to_string(client_error code) noexcept;

struct kv_value {
  bool found = false;
  std::string value;
  friend bool operator==(const kv_value&, const kv_value&) = default;
};

struct cas_result {
  bool succeeded = false;
  std::optional<std::string> current;  ///< on failure: the value found, nullopt if absent
  friend bool operator==(const cas_result&, const cas_result&) = default;
};

struct del_result {
  bool existed = false;
  friend bool operator==(const del_result&, const del_result&) = default;
};

struct pong {
  std::uint64_t nonce = 0;
  friend bool operator==(const pong&, const pong&) = default;
};

enum class raft_role : std::uint8_t { follower, candidate, leader, learner, pre_candidate, unknown };

struct status_info {
  std::uint64_t node_id = 0;
  std::uint64_t group_id = 0;
  std::uint64_t term = 0;
  raft_role role = raft_role::follower;
  std::uint64_t leader_id = 0;  ///< 0: no leader known
  std::uint64_t commit_index = 0;
  std::uint64_t applied_index = 0;
  std::uint64_t last_log_index = 0;
  std::vector<node_address> members;
  friend bool operator==(const status_info&, const status_info&) = default;
};

struct kv_entry {
  std::string key;
  std::string value;
  std::uint64_t create_revision = 0;
  std::uint64_t mod_revision = 0;
  std::uint64_t version = 0;
  friend bool operator==(const kv_entry&, const kv_entry&) = default;
};

struct kv_range_result {
  std::vector<kv_entry> entries;
  bool more = false;          ///< keys were left out: ask again with start_after = the last key
  std::uint64_t revision = 0;  ///< the store's revision the entries were read at
  friend bool operator==(const kv_range_result&, const kv_range_result&) = default;
};

struct kv_txn_get_result {
  bool found = false;
  kv_entry entry;
  friend bool operator==(const kv_txn_get_result&, const kv_txn_get_result&) = default;
};

/// monostate: a put's result.
using kv_txn_op_result = std::variant<std::monostate, del_result, kv_txn_get_result>;

struct kv_txn_result {
  bool succeeded = false;      ///< the compares held
  std::uint64_t revision = 0;  ///< the store's revision after the transaction
  std::vector<kv_txn_op_result> results;  ///< one per operation of the branch that ran
  friend bool operator==(const kv_txn_result&, const kv_txn_result&) = default;
};

enum class kv_event_kind : std::uint8_t { put, del };

struct kv_event {
  std::uint64_t revision = 0;
  kv_event_kind kind = kv_event_kind::put;
  std::string key;
  std::string value;
  std::uint64_t create_revision = 0;
  std::uint64_t version = 0;
  friend bool operator==(const kv_event&, const kv_event&) = default;
};

struct kv_changes_result {
  std::vector<kv_event> events;
  std::uint64_t next_revision = 0;  ///< ask again from here: no gap, no duplicate
  bool more = false;
  std::uint64_t revision = 0;
  bool compacted = false;  ///< from_revision was compacted away (error invalid_request)
  std::uint64_t compacted_revision = 0;
  friend bool operator==(const kv_changes_result&, const kv_changes_result&) = default;
};

struct client_reply {
  std::uint64_t client_id = 0;
  std::uint64_t sequence = 0;
  client_error error = client_error::ok;
  std::string error_message;
  std::optional<node_address> leader_hint;
  /// monostate: no body (errors, put).
  std::variant<std::monostate, kv_value, cas_result, del_result, pong, status_info, kv_range_result,
               kv_txn_result, kv_changes_result, checkpoint_result, app_reply, backup_chunk>
      body;
  friend bool operator==(const client_reply&, const client_reply&) = default;
};

}  // namespace troupe::wire
