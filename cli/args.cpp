#include "cli/args.hpp"

#include <algorithm>
#include <charconv>

namespace troupe::cli {
namespace {

error invalid(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '_'; });
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string dashed(std::string_view name) {
  return "--" + std::string(name);
}

}  // namespace

result<parsed_args> parse_args(const std::vector<std::string>& args) {
  parsed_args out;
  bool options_ended = false;
  for (const auto& arg : args) {
    if (options_ended) {
      out.positionals_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg.starts_with("--")) {
      std::string_view body(arg);
      body.remove_prefix(2);
      auto eq = body.find('=');
      std::string_view name = body.substr(0, eq);
      if (!valid_name(name)) return invalid("malformed option '" + arg + "'");
      option o{std::string(name), std::nullopt};
      if (eq != std::string_view::npos) o.value = std::string(body.substr(eq + 1));
      out.options_.push_back(std::move(o));
      continue;
    }
    if (arg.size() >= 2 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9')) {
      return invalid("unknown option '" + arg + "': options are written --name=value");
    }
    out.positionals_.push_back(arg);
  }
  return out;
}

const option* parsed_args::find(std::string_view name) const noexcept {
  for (auto it = options_.rbegin(); it != options_.rend(); ++it) {
    if (it->name == name) return &*it;
  }
  return nullptr;
}

status parsed_args::check(const std::vector<std::string_view>& known) const {
  for (std::size_t i = 0; i < options_.size(); ++i) {
    const auto& name = options_[i].name;
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return invalid("unknown option " + dashed(name));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (options_[j].name == name) return invalid(dashed(name) + ": given more than once");
    }
  }
  return {};
}

status parsed_args::check_positionals(std::size_t min, std::size_t max) const {
  if (positionals_.size() > max) {
    return invalid("unexpected argument '" + positionals_[max] + "'");
  }
  if (positionals_.size() < min) {
    return invalid("expected " + std::to_string(min) + " argument" + (min == 1 ? "" : "s") +
                   ", got " + std::to_string(positionals_.size()));
  }
  return {};
}

result<std::string> parsed_args::get_string(std::string_view name) const {
  const option* o = find(name);
  if (o == nullptr) return invalid("missing required option " + dashed(name) + "=VALUE");
  if (!o->value)
    return invalid(dashed(name) + ": needs a value (write " + dashed(name) + "=VALUE)");
  return *o->value;
}

result<std::string> parsed_args::get_string(std::string_view name, std::string fallback) const {
  if (find(name) == nullptr) return fallback;
  return get_string(name);
}

result<std::uint64_t> parsed_args::get_uint(std::string_view name) const {
  auto text = get_string(name);
  if (!text) return text.err();
  auto v = to_u64(*text);
  if (!v) return invalid(dashed(name) + ": expected an unsigned integer, got '" + *text + "'");
  return *v;
}

result<std::uint64_t> parsed_args::get_uint(std::string_view name, std::uint64_t fallback) const {
  if (find(name) == nullptr) return fallback;
  return get_uint(name);
}

result<bool> parsed_args::get_flag(std::string_view name) const {
  const option* o = find(name);
  if (o == nullptr) return false;
  if (!o->value) return true;
  const std::string& v = *o->value;
  if (v == "true" || v == "yes" || v == "1") return true;
  if (v == "false" || v == "no" || v == "0") return false;
  return invalid(dashed(name) + ": expected true or false, got '" + v + "'");
}

result<std::chrono::milliseconds> parsed_args::get_duration(
    std::string_view name, std::chrono::milliseconds fallback) const {
  if (find(name) == nullptr) return fallback;
  auto text = get_string(name);
  if (!text) return text.err();
  const std::string& t = *text;
  auto bad = [&] {
    return invalid(dashed(name) + ": expected a duration such as 250ms, 5s or 2m, got '" + t + "'");
  };
  if (t == "0") return std::chrono::milliseconds(0);
  auto digits_end = t.find_first_not_of("0123456789");
  if (digits_end == 0 || digits_end == std::string::npos) return bad();
  auto number = to_u64(std::string_view(t).substr(0, digits_end));
  if (!number) return bad();
  const std::string unit = t.substr(digits_end);
  std::uint64_t factor = 0;
  if (unit == "ms") factor = 1;
  if (unit == "s") factor = 1000;
  if (unit == "m") factor = 60'000;
  if (unit == "h") factor = 3'600'000;
  if (factor == 0) return bad();
  // Refuse values that would overflow rather than wrap.
  constexpr std::uint64_t max_ms = std::uint64_t{1} << 62;
  if (*number > max_ms / factor) return invalid(dashed(name) + ": duration too large: '" + t + "'");
  return std::chrono::milliseconds(static_cast<std::int64_t>(*number * factor));
}

result<std::vector<std::string>> parsed_args::get_list(std::string_view name,
                                                       std::vector<std::string> fallback) const {
  if (find(name) == nullptr) return fallback;
  auto text = get_string(name);
  if (!text) return text.err();
  std::vector<std::string> items;
  std::size_t start = 0;
  for (;;) {
    auto comma = text->find(',', start);
    std::string item =
        text->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) return invalid(dashed(name) + ": empty item in '" + *text + "'");
    items.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

}  // namespace troupe::cli
