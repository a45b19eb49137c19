#include "runtime/node/log.hpp"

#include <cstdio>
#include <ctime>

namespace troupe::node {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

/// Appends `text` so that it stays on one line: \n, \r, \t and backslash as escapes, other
/// control characters as \u00XX (JSON) or \xXX (text); in JSON also the double quote. UTF-8
/// passes through unchanged.
void append_escaped(std::string& out, std::string_view text, log_format format) {
  const bool json = format == log_format::json;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += json ? "\\\"" : "\"";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += json ? "\\u00" : "\\x";
          out += hex_digits[u >> 4];
          out += hex_digits[u & 0xf];
        } else {
          out += c;
        }
    }
  }
}

void write_stderr(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace


const char* to_string(log_format format) noexcept {
  return format == log_format::json ? "json" : "text";
}

result<log_level> parse_log_level(std::string_view text) {
  if (text == "trace") return log_level::trace;
  if (text == "debug") return log_level::debug;
  if (text == "info") return log_level::info;
  if (text == "warn" || text == "warning") return log_level::warn;
  if (text == "error") return log_level::error;
  return make_error(errc::invalid_argument, "unknown log level '" + std::string(text) +
                                                "' (expected trace, debug, info, warn or error)");
}

result<log_format> parse_log_format(std::string_view text) {
  if (text == "text") return log_format::text;
  if (text == "json") return log_format::json;
  return make_error(errc::invalid_argument,
                    "unknown log format '" + std::string(text) + "' (expected text or json)");
}

std::string format_utc_ms(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms_since_epoch = floor<milliseconds>(time.time_since_epoch()).count();
  // floor, so that times before 1970 still give milliseconds in 0..999.
  auto seconds = static_cast<std::time_t>(ms_since_epoch / 1000);
  auto ms = ms_since_epoch % 1000;
  if (ms < 0) {
    ms += 1000;
    seconds -= 1;
  }
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[96];  // room for any int fields, so snprintf can never truncate
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string format_log_line(log_format format, std::chrono::system_clock::time_point time,
                            log_level level, std::uint64_t node_id, std::string_view component,
                            std::string_view message) {
  std::string line;
  line.reserve(64 + component.size() + message.size());
  if (format == log_format::json) {
    line += "{\"time\":\"";
    line += format_utc_ms(time);
    line += "\",\"level\":\"";
    line += to_string(level);
    line += "\",\"node\":";
    line += std::to_string(node_id);
    line += ",\"component\":\"";
    append_escaped(line, component, log_format::json);
    line += "\",\"msg\":\"";
    append_escaped(line, message, log_format::json);
    line += "\"}";
    return line;
  }
  line += format_utc_ms(time);
  line += ' ';
  // Upper case, padded to 5 so that messages line up.
  switch (level) {
    case log_level::trace:
      line += "TRACE";
      break;
    case log_level::debug:
      line += "DEBUG";
      break;
    case log_level::info:
      line += "INFO ";
      break;
    case log_level::warn:
      line += "WARN ";
      break;
    case log_level::error:
      line += "ERROR";
      break;
  }
  line += " node=";
  line += std::to_string(node_id);
  line += ' ';
  append_escaped(line, component, log_format::text);
  line += ": ";
  append_escaped(line, message, log_format::text);
  return line;
}

logger::logger(std::uint64_t node_id, log_format format, log_level threshold)
    : logger(node_id, format, threshold, write_stderr) {}

logger::logger(std::uint64_t node_id, log_format format, log_level threshold, sink out)
    : format_(format),
      threshold_(static_cast<int>(threshold)),
      node_id_(node_id),
      sink_(out ? std::move(out) : sink(write_stderr)) {}

void logger::log(log_level level, std::string_view component, std::string_view message) {
  if (!enabled(level)) return;
  // Format outside the lock; only the write is serialised.
  std::string line = format_log_line(format_, std::chrono::system_clock::now(), level,
                                     node_id_.load(std::memory_order_relaxed), component, message);
  line += '\n';
  std::lock_guard lock(mutex_);
  sink_(line);
}

log_function logger::function() {
  return [this](log_level level, std::string_view component, std::string_view text) {
    log(level, component, text);
  };
}

}  // namespace troupe::node
