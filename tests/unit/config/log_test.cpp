#define BOOST_TEST_MODULE node_log
#include <boost/test/unit_test.hpp>

#include <map>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/node/log.hpp"

using namespace troupe::node;
using namespace std::chrono;

namespace {

const system_clock::time_point example_time{
    milliseconds(1795696539123)};  // 2026-11-26T12:35:39.123Z

/// A minimal parser for what the json format writes: one flat object of string and integer values.
/// Returns nullopt for anything else, so a malformed line fails the test.
std::optional<std::map<std::string, std::string>> parse_flat_json(const std::string& s) {
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && s[i] == ' ') ++i;
  };
  auto parse_string = [&]() -> std::optional<std::string> {
    if (i >= s.size() || s[i] != '"') return std::nullopt;
    ++i;
    std::string v;
    while (i < s.size() && s[i] != '"') {
      char c = s[i++];
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;  // raw control: invalid JSON
      if (c != '\\') {
        v += c;
        continue;
      }
      if (i >= s.size()) return std::nullopt;
      char e = s[i++];
      switch (e) {
        case 'n':
          v += '\n';
          break;
        case 't':
          v += '\t';
          break;
        case 'r':
          v += '\r';
          break;
        case '"':
          v += '"';
          break;
        case '\\':
          v += '\\';
          break;
        case '/':
          v += '/';
          break;
        case 'u': {
          if (i + 4 > s.size()) return std::nullopt;
          v += static_cast<char>(std::stoi(s.substr(i, 4), nullptr, 16));
          i += 4;
          break;
        }
        default:
          return std::nullopt;
      }
    }
    if (i >= s.size()) return std::nullopt;
    ++i;
    return v;
  };
  skip_ws();
  if (i >= s.size() || s[i++] != '{') return std::nullopt;
  for (;;) {
    skip_ws();
    auto key = parse_string();
    if (!key) return std::nullopt;
    skip_ws();
    if (i >= s.size() || s[i++] != ':') return std::nullopt;
    skip_ws();
    if (i < s.size() && s[i] == '"') {
      auto v = parse_string();
      if (!v) return std::nullopt;
      out[*key] = *v;
    } else {
      std::size_t start = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
      if (i == start) return std::nullopt;
      out[*key] = s.substr(start, i - start);
    }
    skip_ws();
    if (i >= s.size()) return std::nullopt;
    if (s[i] == ',') {
      ++i;
      continue;
    }
    if (s[i] == '}') {
      ++i;
      break;
    }
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(time_is_iso_8601_utc_with_milliseconds) {
  BOOST_TEST(format_utc_ms(example_time) == "2026-11-26T12:35:39.123Z");
  BOOST_TEST(format_utc_ms(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
  // Truncated, not rounded: 999.9 ms stays in the same second.
  BOOST_TEST(format_utc_ms(system_clock::time_point{microseconds(999'900)}) ==
             "1970-01-01T00:00:00.999Z");
  BOOST_TEST(format_utc_ms(system_clock::time_point{milliseconds(-1)}) ==
             "1969-12-31T23:59:59.999Z");
}

BOOST_AUTO_TEST_CASE(text_line_holds_time_level_node_component_and_message) {
  auto line = format_log_line(log_format::text, example_time, log_level::warn, 3, "transport",
                              "peer 2 refused: wrong cluster id");
  BOOST_TEST(line ==
             "2026-11-26T12:35:39.123Z WARN  node=3 transport: peer 2 refused: wrong cluster id");
  const std::regex shape(R"((\S+Z) (TRACE|DEBUG|INFO |WARN |ERROR) node=(\d+) ([^:]+): (.*))");
  std::smatch m;
  BOOST_REQUIRE(std::regex_match(line, m, shape));
  BOOST_TEST(m[3] == "3");
  BOOST_TEST(m[4] == "transport");
  BOOST_TEST(m[5] == "peer 2 refused: wrong cluster id");
}

BOOST_AUTO_TEST_CASE(text_line_escapes_newlines_so_an_event_stays_on_one_line) {
  auto line = format_log_line(log_format::text, example_time, log_level::error, 1, "storage",
                              "first\nsecond\ttab\x01");
  BOOST_TEST(line.find('\n') == std::string::npos);
  BOOST_TEST(line.ends_with("storage: first\\nsecond\\ttab\\x01"));
}

BOOST_AUTO_TEST_CASE(json_line_parses_back_to_the_same_fields) {
  const std::string message = "quote \" backslash \\ newline \n control \x02 unicode \xc3\xa9";
  auto line = format_log_line(log_format::json, example_time, log_level::info,
                              18446744073709551615u, "raft", message);
  BOOST_TEST(line.find('\n') == std::string::npos);
  auto fields = parse_flat_json(line);
  BOOST_REQUIRE_MESSAGE(fields.has_value(), "not a flat JSON object: " << line);
  BOOST_TEST((*fields)["time"] == "2026-11-26T12:35:39.123Z");
  BOOST_TEST((*fields)["level"] == "info");
  BOOST_TEST((*fields)["node"] == "18446744073709551615");
  BOOST_TEST((*fields)["component"] == "raft");
  BOOST_TEST((*fields)["msg"] == message);
  BOOST_TEST(fields->size() == 5u);
}

BOOST_AUTO_TEST_CASE(logger_writes_only_events_at_or_above_its_threshold) {
  std::vector<std::string> lines;
  logger log(7, log_format::text, log_level::info,
             [&](std::string_view line) { lines.emplace_back(line); });
  BOOST_TEST(!log.enabled(log_level::debug));
  BOOST_TEST(log.enabled(log_level::warn));
  log.debug("node", "hidden");
  log.info("node", "shown");
  log.error("node", "also shown");
  BOOST_REQUIRE(lines.size() == 2u);
  BOOST_TEST(lines[0].ends_with(" INFO  node=7 node: shown\n"));
  log.set_threshold(log_level::trace);
  log.trace("node", "now shown");
  BOOST_TEST(lines.size() == 3u);
  log.set_node_id(9);
  log.info("node", "renumbered");
  BOOST_TEST(lines.back().find("node=9 ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(log_function_adapter_forwards_to_the_logger) {
  std::vector<std::string> lines;
  logger log(1, log_format::json, log_level::debug,
             [&](std::string_view line) { lines.emplace_back(line); });
  log_function f = log.function();
  f(log_level::debug, "wire", "malformed frame from peer 4");
  f(log_level::trace, "wire", "filtered");
  BOOST_REQUIRE(lines.size() == 1u);
  auto fields = parse_flat_json(lines[0].substr(0, lines[0].size() - 1));
  BOOST_REQUIRE(fields.has_value());
  BOOST_TEST((*fields)["component"] == "wire");
  BOOST_TEST((*fields)["level"] == "debug");
}

BOOST_AUTO_TEST_CASE(concurrent_writers_never_interleave_lines) {
  std::string out;  // the sink runs under the logger's mutex
  logger log(1, log_format::json, log_level::info, [&](std::string_view line) { out += line; });
  constexpr int threads = 4;
  constexpr int per_thread = 500;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        log.info("thread" + std::to_string(t), "event " + std::to_string(i));
      }
    });
  }
  for (auto& w : workers) w.join();
  std::size_t count = 0;
  std::size_t start = 0;
  while (start < out.size()) {
    auto end = out.find('\n', start);
    BOOST_REQUIRE(end != std::string::npos);
    BOOST_REQUIRE(parse_flat_json(out.substr(start, end - start)).has_value());
    ++count;
    start = end + 1;
  }
  BOOST_TEST(count == static_cast<std::size_t>(threads * per_thread));
}

BOOST_AUTO_TEST_CASE(level_and_format_names_parse_and_bad_ones_are_named) {
  BOOST_TEST((*parse_log_level("warning") == log_level::warn));
  BOOST_TEST((*parse_log_level("trace") == log_level::trace));
  BOOST_TEST((*parse_log_format("json") == log_format::json));
  auto bad_level = parse_log_level("loud");
  BOOST_REQUIRE(!bad_level.ok());
  BOOST_TEST(bad_level.err().message.find("'loud'") != std::string::npos);
  auto bad_format = parse_log_format("xml");
  BOOST_REQUIRE(!bad_format.ok());
  BOOST_TEST(bad_format.err().message.find("text or json") != std::string::npos);
}
