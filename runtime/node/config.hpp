#pragma once
/// The configuration of `troupe node`, from a `key = value` file (`--config=FILE`) and
/// `--name=value` flags; flags override the file. Every key is documented in
/// runtime/node/README.md. Parsing and validation are pure functions; only `load_node_config` and
/// `read_secret_file` touch the filesystem. Every error is one line naming the option (`--id`) or
/// the key and place (`node.conf:3: id`).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/host_port.hpp"
#include "runtime/base/result.hpp"
#include "runtime/node/log.hpp"

namespace troupe::node {

// host_port and parse_host_port live in runtime/base (the transport and the client use them too).
using troupe::host_port;
using troupe::parse_host_port;

/// Another member of the initial cluster.
struct peer {
  std::uint64_t id = 0;
  host_port address;
  bool operator==(const peer&) const = default;
};

/// Parses "1=127.0.0.1:7101,2=127.0.0.1:7102" (empty: no peers). Rejects bad or zero ids, bad
/// addresses, duplicate ids or addresses, and `self_id`.
result<std::vector<peer>> parse_peers(std::string_view text, std::uint64_t self_id);

/// Raft timing and admission control of the node's groups.
struct raft_settings {
  std::uint64_t tick_ms = 50;          ///< --raft-tick-ms: one logical tick
  std::uint64_t election_ticks = 20;   ///< --election-ticks: timeout randomized in [E, 2E) ticks
  std::uint64_t heartbeat_ticks = 2;   ///< --heartbeat-ticks: < election_ticks
  std::uint64_t max_pending = 10'000;  ///< --raft-max-pending: proposals + reads before busy
  /// Log compaction (Raft §7): a snapshot once this many entries, or this many command bytes, were
  /// applied since the last one (--snapshot-entries, --snapshot-bytes; 0 disables that threshold).
  std::uint64_t snapshot_entries = 100'000;
  std::uint64_t snapshot_bytes = 64u << 20;
  /// --snapshot-rate: bytes per second a leader sends InstallSnapshot at, over all followers
  /// (0: unlimited), so a transfer never starves the node's other traffic.
  std::uint64_t snapshot_rate = 64u << 20;
  bool operator==(const raft_settings&) const = default;
};

/// Everything `troupe node` needs to start. Secrets are not held here, only their files' paths:
/// read them with `read_secret_file` where they are used, so they never end up in a log line.
struct node_config {
  std::uint64_t id = 0;     ///< this node's id, > 0, unique in the cluster
  host_port listen;         ///< where peers and clients connect (wildcards allowed)
  host_port advertise;      ///< the address others use; default `listen`
  std::vector<peer> peers;  ///< the other members of the initial cluster (used on a new data dir)
  /// --join: members of an existing cluster this node joins (a new data dir starts without a
  /// configuration and waits to be added). Exclusive with `peers`.
  std::vector<host_port> join;
  std::string data_dir;     ///< created by the node if missing
  host_port metrics;        ///< /metrics, /health, /status; default 127.0.0.1:<listen port + 1000>
  std::string cluster_id;   ///< [A-Za-z0-9._-]{1,64}, bound into every handshake
  std::string secret_file;  ///< the shared cluster secret
  std::optional<std::string> client_secret_file;         ///< absent: clients only on loopback
  node::log_format log_format = node::log_format::text;  ///< --log-format
  node::log_level log_level = node::log_level::info;     ///< --log-level
  raft_settings raft;                                    ///< --raft-tick-ms and friends
  /// --max-clients: established client connections this node serves; more are refused in the
  /// handshake with too_many_clients (runtime/transport/README.md).
  std::uint64_t max_clients = 4096;
  /// --force-new-cluster: make this node the only voter of its group on its own data before the
  /// group starts (consensus/actor/force_new_cluster.hpp; docs/operations.md).
  bool force_new_cluster = false;
  /// --restore-from: start a new one-node cluster from this backup file (troupe backup save) on a
  /// data directory that holds no data (consensus/actor/restore_backup.hpp; docs/operations.md).
  std::optional<std::string> restore_from;
};

/// One `key = value`, with where it came from for error messages: "--id" or "node.conf:3".
struct setting {
  std::string key;
  std::optional<std::string> value;  ///< nullopt for a bare `--flag`
  std::string origin;
};

/// A flag as the command-line parser hands it over: `--name=value` or bare `--name`.
struct flag {
  std::string name;
  std::optional<std::string> value;
};

/// Every key `troupe node` accepts, as flags and (except "config") as config-file keys.
const std::vector<std::string_view>& node_config_keys();

/// Parses the text of a config file: one `key = value` per line, blank lines and lines starting
/// with `#` ignored, surrounding spaces trimmed. Errors name `file_name:line`. Keys are checked
/// against `node_config_keys()`; a key given twice is an error.
result<std::vector<setting>> parse_config_text(std::string_view text, std::string_view file_name);

/// Builds and validates the configuration from the file's settings and the flags' (flags win).
/// Checks unknown keys, missing required ones (id, listen, data-dir, cluster-id, secret-file),
/// every value, and consistency (no peer with our id or address, advertise not a wildcard). Pure:
/// secret files are not read here.
result<node_config> make_node_config(const std::vector<setting>& file_settings,
                                     const std::vector<setting>& flag_settings);

/// Reads a secret file and checks it: readable, a regular file, not accessible by others (no bits
/// in mode & 0007: refused, like ssh refuses a world-readable key), at least 16 and at most 4096
/// bytes after one trailing newline is removed. `key` names the option in errors ("secret-file").
result<std::string> read_secret_file(const std::string& path, std::string_view key);

/// The whole job for `troupe node`: reads `--config=FILE` if given, merges with `flags`, validates,
/// and checks that the secret files are usable. Errors are one line.
result<node_config> load_node_config(const std::vector<flag>& flags);

/// One line for the startup log: every setting, secrets' contents never (only whether client
/// authentication is on), e.g. "id=1 listen=127.0.0.1:7101 advertise=... peers=2=...,3=... ...".
std::string describe(const node_config& config);

/// The options of `troupe node`, for `troupe node --help`.
const char* node_config_usage() noexcept;

/// Minimum and maximum secret length in bytes.
inline constexpr std::size_t min_secret_bytes = 16;
inline constexpr std::size_t max_secret_bytes = 4096;

}  // namespace troupe::node
