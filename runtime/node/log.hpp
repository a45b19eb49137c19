#pragma once
/// The node's log: one line per event with ISO-8601 UTC time (milliseconds), level, node id,
/// component and message, as text for people or JSON (one object per line) for machines. No CAF
/// here.
///
/// text: 2026-11-26T12:35:39.123Z INFO  node=1 transport: connected to peer 2
/// json:
/// {"time":"2026-11-26T12:35:39.123Z","level":"info","node":1,"component":"transport","msg":"connected
/// to peer 2"}

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "runtime/base/log_level.hpp"
#include "runtime/base/result.hpp"

namespace troupe::node {

// log_level, to_string(log_level) and log_function live in runtime/base (every component logs).
using troupe::log_function;
using troupe::log_level;

enum class log_format { text, json };

/// "text", "json".
const char* to_string(log_format format) noexcept;
/// Accepts the names above (and "warning" for warn); errors name the accepted values.
result<log_level> parse_log_level(std::string_view text);
result<log_format> parse_log_format(std::string_view text);

/// Formats one event as a single line, without the trailing newline. Control characters in the
/// component and message are escaped (\n, \t, \uXXXX in JSON; \n, \t, \xXX in text) so an event
/// never spans lines. Pure.
std::string format_log_line(log_format format, std::chrono::system_clock::time_point time,
                            log_level level, std::uint64_t node_id, std::string_view component,
                            std::string_view message);

/// "2026-11-26T12:35:39.123Z": UTC, milliseconds, truncated (not rounded).
std::string format_utc_ms(std::chrono::system_clock::time_point time);

/// Writes events at or above a threshold to a sink (stderr by default).
///
/// Thread-safety: all member functions may be called from any thread; lines from concurrent callers
/// never interleave. Filtering is one relaxed atomic load, so a disabled `debug` call costs little,
/// but its arguments are still built: guard expensive messages with `enabled()`.
class logger {
 public:
  /// Receives whole lines, newline included. Called under the logger's mutex.
  using sink = std::function<void(std::string_view line)>;

  logger(std::uint64_t node_id, log_format format, log_level threshold);
  /// As above, writing to `out` instead of stderr (tests, files).
  logger(std::uint64_t node_id, log_format format, log_level threshold, sink out);

  bool enabled(log_level level) const noexcept {
    return static_cast<int>(level) >= threshold_.load(std::memory_order_relaxed);
  }
  void set_threshold(log_level level) noexcept {
    threshold_.store(static_cast<int>(level), std::memory_order_relaxed);
  }
  /// The node id printed on each line; 0 until known (e.g. while the config is being read).
  void set_node_id(std::uint64_t node_id) noexcept {
    node_id_.store(node_id, std::memory_order_relaxed);
  }

  void log(log_level level, std::string_view component, std::string_view message);
  void trace(std::string_view component, std::string_view m) {
    log(log_level::trace, component, m);
  }
  void debug(std::string_view component, std::string_view m) {
    log(log_level::debug, component, m);
  }
  void info(std::string_view component, std::string_view m) { log(log_level::info, component, m); }
  void warn(std::string_view component, std::string_view m) { log(log_level::warn, component, m); }
  void error(std::string_view component, std::string_view m) {
    log(log_level::error, component, m);
  }

  /// An adapter for components that take a `log_function`. It refers to this logger, which must
  /// outlive every copy.
  log_function function();

 private:
  const log_format format_;
  std::atomic<int> threshold_;
  std::atomic<std::uint64_t> node_id_;
  std::mutex mutex_;  // serialises writes to sink_
  sink sink_;
};

}  // namespace troupe::node
