#include "examples/counter/counter_service.hpp"

#include <charconv>

#include "consensus/core/snapshot_bytes.hpp"

namespace troupe::counter {

namespace {

/// Splits "verb rest" at the first space.
std::pair<std::string_view, std::string_view> split(std::string_view s) {
  const auto space = s.find(' ');
  if (space == std::string_view::npos) return {s, {}};
  return {s.substr(0, space), s.substr(space + 1)};
}

error bad(std::string why) { return make_error(errc::invalid_argument, std::move(why)); }

}  // namespace

std::string incr_command(std::string_view name, std::int64_t by) {
  return "incr " + std::to_string(by) + " " + std::string(name);
}

std::string get_query(std::string_view name) { return "get " + std::string(name); }

result<std::string> counter_service::apply(const replicated::apply_context&, std::string_view command) {
  auto [verb, rest] = split(command);
  if (verb != "incr") return bad("unknown command '" + std::string(verb) + "': expected incr");
  auto [by_text, name] = split(rest);
  std::int64_t by = 0;
  auto [end, ec] = std::from_chars(by_text.data(), by_text.data() + by_text.size(), by);
  if (ec != std::errc() || end != by_text.data() + by_text.size()) return bad("incr: BY is not an integer");
  if (name.empty()) return bad("incr: the counter name is empty");
  auto it = counters_.find(name);
  std::int64_t next = 0;
  if (__builtin_add_overflow(it == counters_.end() ? 0 : it->second, by, &next)) {
    return bad("incr: the counter would overflow");
  }
  counters_[std::string(name)] = next;
  return std::to_string(next);
}

result<std::string> counter_service::query(std::string_view request) const {
  auto [verb, name] = split(request);
  if (verb != "get" || name.empty()) return bad("expected 'get NAME'");
  auto it = counters_.find(name);
  return std::to_string(it == counters_.end() ? 0 : it->second);
}

std::string counter_service::snapshot() const {
  raft::snapshot_writer out;
  out.u64(counters_.size());
  for (const auto& [name, value] : counters_) {
    out.bytes(name);
    out.u64(static_cast<std::uint64_t>(value));
  }
  return out.take();
}

status counter_service::restore(std::string_view image) {
  raft::snapshot_reader in(image);
  std::map<std::string, std::int64_t, std::less<>> counters;
  const std::uint64_t n = in.count(16);
  for (std::uint64_t i = 0; i < n && in.ok(); ++i) {
    std::string name = in.bytes();
    counters[std::move(name)] = static_cast<std::int64_t>(in.u64());
  }
  if (!in.ok() || !in.at_end() || counters.size() != n) {
    return make_error(errc::corrupt, "counter snapshot: the image does not hold counters");
  }
  counters_ = std::move(counters);
  return {};
}

}  // namespace troupe::counter
