#include "runtime/node/config.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>

namespace troupe::node {
namespace {

constexpr std::size_t max_config_bytes = 1 << 20;

error invalid(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// A strictly decimal unsigned 64-bit integer (no sign, no spaces, no hex).
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (!is_digits(s)) return std::nullopt;
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

result<std::uint64_t> parse_node_id(std::string_view s) {
  auto v = parse_u64(s);
  if (!v || *v == 0) {
    return invalid("expected a node id (an integer from 1 to 18446744073709551615), got '" +
                   std::string(s) + "'");
  }
  return *v;
}

bool is_token(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '-';
  });
}

/// "where: key: " for file settings, "--key: " for flags.
std::string place(const setting& s) {
  if (s.origin.starts_with("--")) return s.origin + ": ";
  return s.origin + ": " + s.key + ": ";
}

bool is_known_key(std::string_view key) {
  const auto& keys = node_config_keys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

/// Closes a file descriptor when it goes out of scope.
struct file_descriptor {
  explicit file_descriptor(int descriptor) noexcept : fd(descriptor) {}
  int fd;
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  ~file_descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

/// Reads until end of file or `limit` bytes, whichever comes first.
result<std::string> read_up_to(int fd, std::size_t limit) {
  std::string out(limit, '\0');
  std::size_t got = 0;
  while (got < limit) {
    ssize_t n = ::read(fd, out.data() + got, limit - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      return make_error(errc::io, std::string("cannot read: ") + std::strerror(e));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

result<std::vector<peer>> parse_peers(std::string_view text, std::uint64_t self_id) {
  std::vector<peer> peers;
  if (trim(text).empty()) return peers;
  std::size_t start = 0;
  for (;;) {
    auto comma = text.find(',', start);
    auto item =
        trim(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    const std::string quoted = "'" + std::string(item) + "'";
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return invalid("expected id=host:port, got " + quoted);
    auto id = parse_node_id(trim(item.substr(0, eq)));
    if (!id) return invalid("in " + quoted + ": " + id.err().message);
    auto address = parse_host_port(trim(item.substr(eq + 1)));
    if (!address) return invalid("in " + quoted + ": " + address.err().message);
    if (*id == self_id) {
      return invalid("peer " + std::to_string(*id) +
                     " is this node's own id; list only the other members");
    }
    for (const auto& p : peers) {
      if (p.id == *id) return invalid("peer id " + std::to_string(*id) + " appears twice");
      if (p.address == *address) {
        return invalid("address " + address->to_string() + " appears twice (peers " +
                       std::to_string(p.id) + " and " + std::to_string(*id) + ")");
      }
    }
    peers.push_back({*id, *address});
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return peers;
}

const std::vector<std::string_view>& node_config_keys() {
  static const std::vector<std::string_view> keys{
      "config",  "id",         "listen",      "advertise",          "peers",      "data-dir",
      "metrics", "cluster-id", "secret-file", "client-secret-file", "log-format", "log-level",
      "raft-tick-ms", "election-ticks", "heartbeat-ticks", "raft-max-pending", "force-new-cluster",
      "join", "snapshot-entries", "snapshot-bytes", "snapshot-rate", "restore-from", "max-clients"};
  return keys;
}

result<std::vector<setting>> parse_config_text(std::string_view text, std::string_view file_name) {
  std::vector<setting> out;
  std::map<std::string, std::size_t, std::less<>> seen;  // key -> line
  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto line = trim(text.substr(pos, end - pos));
    ++line_number;
    pos = end + 1;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = std::string(file_name) + ":" + std::to_string(line_number);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      return invalid(where + ": expected 'key = value', got '" + std::string(line) + "'");
    }
    std::string key(trim(line.substr(0, eq)));
    std::string value(trim(line.substr(eq + 1)));
    if (key.starts_with("--")) {
      return invalid(where + ": write keys without '--' in a config file ('" + key.substr(2) +
                     " = ...')");
    }
    if (key.empty()) return invalid(where + ": missing key before '='");
    if (key == "config") return invalid(where + ": config: may only be given as --config=FILE");
    if (!is_known_key(key)) return invalid(where + ": unknown key '" + key + "'");
    if (auto it = seen.find(key); it != seen.end()) {
      return invalid(where + ": " + key + ": already set on line " + std::to_string(it->second));
    }
    seen.emplace(key, line_number);
    out.push_back({std::move(key), std::move(value), where});
  }
  return out;
}

result<node_config> make_node_config(const std::vector<setting>& file_settings,
                                     const std::vector<setting>& flag_settings) {
  // Later settings win: file first, then flags. Unknown keys and bare flags are refused here.
  std::map<std::string, setting, std::less<>> merged;
  std::map<std::string, std::string, std::less<>> flag_seen;
  for (const auto* group : {&file_settings, &flag_settings}) {
    for (const auto& s : *group) {
      if (!is_known_key(s.key)) {
        return invalid(s.origin.starts_with("--") ? "unknown option " + s.origin
                                                  : s.origin + ": unknown key '" + s.key + "'");
      }
      if (group == &flag_settings) {
        if (flag_seen.contains(s.key)) return invalid(s.origin + ": given more than once");
        flag_seen.emplace(s.key, s.origin);
      }
      // --force-new-cluster is a switch: bare means true.
      if (!s.value && s.key != "force-new-cluster") {
        return invalid(place(s) + "needs a value (write --" + s.key + "=VALUE)");
      }
      if (s.key == "config") continue;  // handled by load_node_config
      merged.insert_or_assign(s.key, s);
    }
  }
  auto get = [&](std::string_view key) -> const setting* {
    auto it = merged.find(key);
    return it == merged.end() ? nullptr : &it->second;
  };
  auto required = [&](std::string_view key) -> result<const setting*> {
    const setting* s = get(key);
    if (s == nullptr) {
      return invalid("missing required option --" + std::string(key) + " (or '" + std::string(key) +
                     " = ...' in the config file)");
    }
    if (s->value->empty()) return invalid(place(*s) + "must not be empty");
    return s;
  };

  node_config c;
  auto id = required("id");
  if (!id) return id.err();
  auto parsed_id = parse_node_id(*(*id)->value);
  if (!parsed_id) return invalid(place(**id) + parsed_id.err().message);
  c.id = *parsed_id;

  auto listen = required("listen");
  if (!listen) return listen.err();
  auto parsed_listen = parse_host_port(*(*listen)->value);
  if (!parsed_listen) return invalid(place(**listen) + parsed_listen.err().message);
  c.listen = *parsed_listen;

  if (const setting* s = get("advertise")) {
    auto a = parse_host_port(*s->value);
    if (!a) return invalid(place(*s) + a.err().message);
    if (a->is_wildcard()) {
      return invalid(place(*s) + a->to_string() +
                     " is a wildcard address others cannot connect to");
    }
    c.advertise = *a;
  } else if (c.listen.is_wildcard()) {
    return invalid(place(**listen) + c.listen.to_string() +
                   " is a wildcard address: set --advertise to the address peers should use");
  } else {
    c.advertise = c.listen;
  }

  if (const setting* s = get("peers")) {
    auto p = parse_peers(*s->value, c.id);
    if (!p) return invalid(place(*s) + p.err().message);
    for (const auto& member : *p) {
      if (member.address == c.advertise) {
        return invalid(place(*s) + "peer " + std::to_string(member.id) +
                       " has this node's address " + c.advertise.to_string());
      }
    }
    c.peers = std::move(*p);
  }

  if (const setting* s = get("join")) {
    // A node joining an existing cluster: it starts without a configuration and waits to be added.
    if (!c.peers.empty()) return invalid(place(*s) + "give either --peers (a new cluster) or --join, not both");
    std::string_view rest = *s->value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      auto item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      auto a = parse_host_port(item);
      if (!a) return invalid(place(*s) + a.err().message);
      c.join.push_back(*a);
    }
    if (c.join.empty()) return invalid(place(*s) + "expected host:port,...");
  }

  auto data_dir = required("data-dir");
  if (!data_dir) return data_dir.err();
  c.data_dir = *(*data_dir)->value;

  if (const setting* s = get("metrics")) {
    // Port 0 (any free port) is allowed for the metrics address: the node logs the port it bound.
    auto m = parse_host_port(*s->value, /*allow_port_zero=*/true);
    if (!m) return invalid(place(*s) + m.err().message);
    c.metrics = *m;
  } else {
    // Loopback, listen port + 1000: a predictable default that is not exposed beyond the machine.
    const unsigned port = c.listen.port + 1000u;
    if (port > 65535) {
      return invalid(place(**listen) + "no default metrics port above " +
                     std::to_string(c.listen.port) + " + 1000: set --metrics=host:port");
    }
    c.metrics = host_port{"127.0.0.1", static_cast<std::uint16_t>(port)};
  }
  if (c.metrics.port != 0 && c.metrics.port == c.listen.port &&
      (c.metrics.host == c.listen.host || c.listen.is_wildcard())) {
    return invalid("--metrics: " + c.metrics.to_string() + " is the listen address");
  }

  auto cluster_id = required("cluster-id");
  if (!cluster_id) return cluster_id.err();
  if (!is_token(*(*cluster_id)->value)) {
    return invalid(place(**cluster_id) + "expected 1 to 64 of A-Z a-z 0-9 . _ -, got '" +
                   *(*cluster_id)->value + "'");
  }
  c.cluster_id = *(*cluster_id)->value;

  auto secret = required("secret-file");
  if (!secret) return secret.err();
  c.secret_file = *(*secret)->value;

  if (const setting* s = get("client-secret-file")) {
    if (s->value->empty()) return invalid(place(*s) + "must not be empty");
    c.client_secret_file = *s->value;
  }
  if (const setting* s = get("log-format")) {
    auto f = parse_log_format(*s->value);
    if (!f) return invalid(place(*s) + f.err().message);
    c.log_format = *f;
  }
  if (const setting* s = get("log-level")) {
    auto l = parse_log_level(*s->value);
    if (!l) return invalid(place(*s) + l.err().message);
    c.log_level = *l;
  }
  // Raft timing and admission: each an integer in a range that keeps the protocol sane.
  auto bounded = [&](const char* key, std::uint64_t lo, std::uint64_t hi,
                     std::uint64_t& out) -> status {
    const setting* s = get(key);
    if (s == nullptr) return {};
    auto v = parse_u64(*s->value);
    if (!v || *v < lo || *v > hi) {
      return invalid(place(*s) + "expected an integer from " + std::to_string(lo) + " to " +
                     std::to_string(hi) + ", got '" + *s->value + "'");
    }
    out = *v;
    return {};
  };
  if (auto st = bounded("raft-tick-ms", 1, 10'000, c.raft.tick_ms); !st) return st.err();
  if (auto st = bounded("election-ticks", 3, 1'000, c.raft.election_ticks); !st) return st.err();
  if (auto st = bounded("heartbeat-ticks", 1, 1'000, c.raft.heartbeat_ticks); !st) return st.err();
  if (auto st = bounded("raft-max-pending", 1, 10'000'000, c.raft.max_pending); !st) return st.err();
  if (auto st = bounded("max-clients", 1, 1'000'000, c.max_clients); !st) return st.err();
  if (auto st = bounded("snapshot-entries", 0, 1'000'000'000, c.raft.snapshot_entries); !st) return st.err();
  // Byte amounts: an integer with an optional binary suffix (64MiB, 512KiB).
  auto bytes = [&](const char* key, std::uint64_t& out) -> status {
    const setting* s = get(key);
    if (s == nullptr) return {};
    std::string_view text = *s->value;
    std::uint64_t unit = 1;
    for (auto [suffix, factor] : {std::pair<std::string_view, std::uint64_t>{"KiB", 1u << 10},
                                  {"MiB", 1u << 20}, {"GiB", 1u << 30}}) {
      if (text.size() > suffix.size() && text.ends_with(suffix)) {
        text.remove_suffix(suffix.size());
        unit = factor;
        break;
      }
    }
    auto v = parse_u64(text);
    constexpr std::uint64_t max = std::uint64_t{1} << 50;
    if (!v || *v > max / unit) {
      return invalid(place(*s) + "expected a byte count (an integer, optionally with KiB, MiB or GiB), got '" +
                     *s->value + "'");
    }
    out = *v * unit;
    return {};
  };
  if (auto st = bytes("snapshot-bytes", c.raft.snapshot_bytes); !st) return st.err();
  if (auto st = bytes("snapshot-rate", c.raft.snapshot_rate); !st) return st.err();
  if (const setting* s = get("force-new-cluster")) {
    if (!s->value || *s->value == "true") {
      c.force_new_cluster = true;
    } else if (*s->value != "false") {
      return invalid(place(*s) + "expected true or false (or the bare flag), got '" + *s->value + "'");
    }
  }
  if (const setting* s = get("restore-from")) {
    if (!s->value || s->value->empty()) return invalid(place(*s) + "expected a backup file (troupe backup save)");
    if (!c.peers.empty() || !c.join.empty() || c.force_new_cluster) {
      return invalid(place(*s) + "a restore starts a one-node cluster: give neither --peers, --join nor "
                                 "--force-new-cluster (grow it afterwards with troupe cluster add)");
    }
    c.restore_from = *s->value;
  }
  if (c.raft.heartbeat_ticks >= c.raft.election_ticks) {
    return invalid("--heartbeat-ticks: " + std::to_string(c.raft.heartbeat_ticks) +
                   " must be below --election-ticks (" + std::to_string(c.raft.election_ticks) + ")");
  }
  return c;
}

result<std::string> read_secret_file(const std::string& path, std::string_view key) {
  const std::string where = std::string(key) + " " + path + ": ";
  file_descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    const int e = errno;
    return make_error(errc::io, where + "cannot open: " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(errc::invalid_argument, where + "not a regular file");
  }
  // Refused rather than warned about: a secret others can read is no longer a secret.
  if ((st.st_mode & 0007) != 0) {
    return make_error(errc::invalid_argument, where + "is accessible by other users (mode " +
                                                  octal_mode(st.st_mode) +
                                                  "); run chmod 600 on it");
  }
  // One byte for a trailing newline and one more to tell "too long" from "exactly the limit".
  auto content = read_up_to(file.fd, max_secret_bytes + 2);
  if (!content) return make_error(errc::io, where + content.err().message);
  if (!content->empty() && content->back() == '\n') content->pop_back();
  if (content->empty()) return make_error(errc::invalid_argument, where + "is empty");
  if (content->size() < min_secret_bytes) {
    return make_error(errc::invalid_argument,
                      where + "is too short (" + std::to_string(content->size()) +
                          " bytes; at least " + std::to_string(min_secret_bytes) + " needed)");
  }
  if (content->size() > max_secret_bytes) {
    return make_error(errc::invalid_argument, where + "is too long (more than " +
                                                  std::to_string(max_secret_bytes) + " bytes)");
  }
  return std::move(*content);
}

result<node_config> load_node_config(const std::vector<flag>& flags) {
  std::vector<setting> flag_settings;
  flag_settings.reserve(flags.size());
  std::optional<std::string> config_path;
  for (const auto& f : flags) {
    flag_settings.push_back({f.name, f.value, "--" + f.name});
    if (f.name == "config") {
      if (!f.value || f.value->empty()) return invalid("--config: needs a file (--config=FILE)");
      if (config_path) return invalid("--config: given more than once");
      config_path = f.value;
    }
  }
  std::vector<setting> file_settings;
  if (config_path) {
    file_descriptor file{::open(config_path->c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) {
      const int e = errno;
      return make_error(errc::io,
                        "--config: cannot open " + *config_path + ": " + std::strerror(e));
    }
    auto text = read_up_to(file.fd, max_config_bytes + 1);
    if (!text) return make_error(errc::io, "--config: " + *config_path + ": " + text.err().message);
    if (text->size() > max_config_bytes) {
      return invalid("--config: " + *config_path + " is larger than 1 MiB");
    }
    auto parsed = parse_config_text(*text, *config_path);
    if (!parsed) return parsed.err();
    file_settings = std::move(*parsed);
  }
  auto config = make_node_config(file_settings, flag_settings);
  if (!config) return config.err();
  if (auto s = read_secret_file(config->secret_file, "secret-file"); !s) return s.err();
  if (config->client_secret_file) {
    if (auto s = read_secret_file(*config->client_secret_file, "client-secret-file"); !s) {
      return s.err();
    }
  }
  return config;
}

std::string describe(const node_config& c) {
  std::string peers;
  for (const auto& p : c.peers) {
    if (!peers.empty()) peers += ',';
    peers += std::to_string(p.id) + "=" + p.address.to_string();
  }
  return "id=" + std::to_string(c.id) + " listen=" + c.listen.to_string() +
         " advertise=" + c.advertise.to_string() + " peers=" + (peers.empty() ? "none" : peers) +
         (c.join.empty() ? std::string() : " join=" + std::to_string(c.join.size()) + " address(es)") +
         " data-dir=" + c.data_dir + " metrics=" + c.metrics.to_string() +
         " cluster-id=" + c.cluster_id +
         " client-auth=" + (c.client_secret_file ? "secret" : "loopback-only") +
         " log-format=" + to_string(c.log_format) + " log-level=" + to_string(c.log_level) +
         " raft-tick-ms=" + std::to_string(c.raft.tick_ms) +
         " election-ticks=" + std::to_string(c.raft.election_ticks) +
         " heartbeat-ticks=" + std::to_string(c.raft.heartbeat_ticks) +
         " raft-max-pending=" + std::to_string(c.raft.max_pending) +
         " snapshot-entries=" + std::to_string(c.raft.snapshot_entries) +
         " snapshot-bytes=" + std::to_string(c.raft.snapshot_bytes) +
         " snapshot-rate=" + std::to_string(c.raft.snapshot_rate) +
         " max-clients=" + std::to_string(c.max_clients) +
         (c.force_new_cluster ? " force-new-cluster" : "") +
         (c.restore_from ? " restore-from=" + *c.restore_from : std::string());
}

const char* node_config_usage() noexcept {
  return "usage: troupe node --id=N --listen=HOST:PORT --data-dir=DIR --cluster-id=NAME\n"
         "                   --secret-file=FILE [options]\n"
         "  --config=FILE              read 'key = value' lines (same keys); flags override it\n"
         "  --id=N                     this node's id, 1..2^64-1\n"
         "  --listen=HOST:PORT         address for peers and clients\n"
         "  --advertise=HOST:PORT      address others use (default: --listen)\n"
         "  --peers=ID=HOST:PORT,...   the other members of the initial cluster (first start only:\n"
         "                             later starts use the stored configuration)\n"
         "  --join=HOST:PORT,...       join an existing cluster: start without a configuration and\n"
         "                             wait until its leader adds this node (troupe cluster add)\n"
         "  --data-dir=DIR             where the node keeps its state\n"
         "  --metrics=HOST:PORT        /metrics, /health, /status (default 127.0.0.1:<listen "
         "port+1000>)\n"
         "  --cluster-id=NAME          1-64 of A-Z a-z 0-9 . _ -\n"
         "  --secret-file=FILE         shared cluster secret, >= 16 bytes, mode 600\n"
         "  --client-secret-file=FILE  client secret; without it clients are served on loopback "
         "only\n"
         "  --log-format=text|json     (default text)\n"
         "  --log-level=LEVEL          trace, debug, info, warn, error (default info)\n"
         "  --raft-tick-ms=N           Raft's logical clock tick (default 50)\n"
         "  --election-ticks=N         election timeout in ticks, randomized in [N, 2N) (default 20)\n"
         "  --heartbeat-ticks=N        leader heartbeat interval in ticks, < election (default 2)\n"
         "  --raft-max-pending=N       proposals + reads waiting per node before busy (default "
         "10000)\n"
         "  --snapshot-entries=N       compact the log after N applied entries (default 100000; 0: "
         "never by count)\n"
         "  --snapshot-bytes=BYTES     ... or after that many command bytes (default 64MiB; 0: never "
         "by size)\n"
         "  --snapshot-rate=BYTES      InstallSnapshot bytes per second a leader sends (default 64MiB;\n"
         "                             0: unlimited)\n"
         "  --max-clients=N            client connections served at once; more are refused "
         "(default 4096)\n"
         "  --force-new-cluster=true   (or bare) disaster recovery: restart this surviving node as a\n"
         "                             one-node cluster on its own data (docs/operations.md; once)\n"
         "  --restore-from=FILE        start a new one-node cluster from a backup (troupe backup save)\n"
         "                             on an empty data directory; grow it with troupe cluster add\n";
}

}  // namespace troupe::node
