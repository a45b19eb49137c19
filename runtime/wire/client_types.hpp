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

/// How a read is served (Raft thesis section 6.4).
enum class read_consistency : std::uint8_t { linearizable, lease, follower };

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

/// One client request. (client_id, sequence) identifies it for at-most-once application.
struct client_request {
  std::uint64_t client_id = 0;
  std::uint64_t sequence = 0;
  std::uint64_t group_id = 0;
  std::variant<kv_put, kv_get, kv_cas, kv_del, ping, status_query> body;
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

struct client_reply {
  std::uint64_t client_id = 0;
  std::uint64_t sequence = 0;
  client_error error = client_error::ok;
  std::string error_message;
  std::optional<node_address> leader_hint;
  /// monostate: no body (errors, put).
  std::variant<std::monostate, kv_value, cas_result, del_result, pong, status_info> body;
  friend bool operator==(const client_reply&, const client_reply&) = default;
};

}  // namespace troupe::wire
