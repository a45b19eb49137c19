#pragma once
/// `troupe lock acquire NAME --ttl=10s [--wait] | release NAME --lease=ID | status NAME` with the
/// common client options (runtime/client/client_options.hpp). Output and exit codes:
/// examples/lock/README.md, "The CLI". Parsing and running are separate so that tests drive both.
///
/// Blocking; not thread-safe (one command per process).

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "actors/replicated/replicated_client.hpp"
#include "runtime/base/result.hpp"
#include "runtime/client/client_options.hpp"

namespace troupe::lock {

enum class lock_cli_op { acquire, release, status };

struct lock_command {
  lock_cli_op op = lock_cli_op::status;
  std::string name;
  std::chrono::milliseconds ttl{10'000};  ///< acquire
  bool wait = false;                      ///< acquire
  std::uint64_t lease = 0;                ///< release
  client::common_options common;
};

/// Parses the words after `troupe lock`. Errors (usage) are one line.
result<lock_command> parse_lock_command(const std::vector<std::string>& words);

/// How `acquire` waits and keeps alive (the keep-alive period is TTL/3).
struct acquire_pacing {
  /// Monotonic time and a pause that returns early once `stopped()` (a signal) is true.
  client::client_clock clock = client::client_clock::real();
  std::function<bool()> stopped = [] { return false; };
  /// How often a waiter asks whether it holds the lock yet.
  std::chrono::milliseconds poll{100};
};

/// Runs `c` with `client` (the service "lock"); writes results to `out`, messages to `err`
/// (prefixed "troupe lock <op>: "). Returns the exit code. `acquire` returns only after it released
/// the lock (once `pacing.stopped()`), lost it, or failed.
int run_lock_command(const lock_command& c, replicated::replicated_client& client, std::ostream& out,
                     std::ostream& err, const acquire_pacing& pacing = {});

}  // namespace troupe::lock
