#pragma once
/// The lock service's payloads: what travels inside a wire AppRequest / AppReply for the service
/// named "lock" (runtime/wire/client.capnp, actors/replicated). A plain byte encoding
/// (consensus/core/snapshot_bytes.hpp: u64 little-endian, length-prefixed strings), the operation
/// first; the layout of each is in lock_codec.cpp. Decoding checks every length and enum value and
/// that nothing follows: bytes from the network give an error value, never a throw.
///
/// Thread-safety: plain functions over values.

#include <cstdint>
#include <string>
#include <string_view>

#include "examples/lock/lock_table.hpp"
#include "runtime/base/result.hpp"

namespace troupe::lock {

/// The registered service name (actors/replicated service_host).
inline constexpr std::string_view service_name = "lock";

enum class lock_op : std::uint8_t {
  acquire = 1,     ///< command: name, ttl_ms, wait
  keep_alive = 2,  ///< command: lease
  release = 3,     ///< command: lease, name (empty: any; else must be the lease's lock)
  tick = 4,        ///< command (the node's lock clock only): elapsed_ms, restart
  status = 5,      ///< query: name
  lease = 6,       ///< query: lease
};

bool is_command(lock_op op) noexcept;
const char* to_string(lock_op op) noexcept;

struct lock_request {
  lock_op op = lock_op::status;
  std::string name;            ///< acquire, status, release
  std::uint64_t ttl_ms = 0;    ///< acquire
  bool wait = false;           ///< acquire
  lease_id lease = 0;          ///< keep_alive, release, lease
  std::uint64_t elapsed_ms = 0;  ///< tick
  bool restart = false;          ///< tick
  friend bool operator==(const lock_request&, const lock_request&) = default;
};

/// What a tick did, and the table's counters after it (the node's lock clock logs expirations).
struct tick_summary {
  std::uint64_t ended = 0;
  std::uint64_t grants = 0;
  std::uint64_t now_ms = 0;
  friend bool operator==(const tick_summary&, const tick_summary&) = default;
};

/// The answer to one request; which fields mean something depends on `op`.
struct lock_answer {
  lock_op op = lock_op::status;
  /// keep_alive, release, lease: false when the lease has ended (expired or released).
  /// acquire: false when refused for lack of room (`refusal` says why; a definite failure).
  bool found = true;
  std::string refusal;
  acquire_result acquired;  ///< acquire
  lease_info lease;         ///< keep_alive, lease (when found)
  lock_status status;       ///< status
  tick_summary tick;        ///< tick
  friend bool operator==(const lock_answer&, const lock_answer&) = default;
};

std::string encode_request(const lock_request& r);
result<lock_request> decode_request(std::string_view bytes);

std::string encode_answer(const lock_answer& a);
result<lock_answer> decode_answer(std::string_view bytes);

}  // namespace troupe::lock
