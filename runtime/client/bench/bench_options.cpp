#include "runtime/client/bench/bench_options.hpp"

#include <cmath>
#include <cstdlib>

#include "cli/args.hpp"
#include "runtime/base/host_port.hpp"
#include "runtime/client/client_options.hpp"

namespace troupe::client::bench {

namespace {

result<std::vector<level_spec>> parse_levels(const std::vector<std::string>& items) {
  std::vector<level_spec> out;
  for (auto& item : items) {
    auto colon = item.find(':');
    char* end = nullptr;
    level_spec l;
    if (colon != std::string::npos) {
      l.clients = static_cast<int>(std::strtol(item.c_str(), &end, 10));
      bool ok = end == item.c_str() + colon;
      l.ops = std::strtoull(item.c_str() + colon + 1, &end, 10);
      if (ok && *end == 0 && l.clients > 0 && l.clients <= 4096 && l.ops > 0) {
        out.push_back(l);
        continue;
      }
    }
    return make_error(errc::invalid_argument,
                      "--put-levels: expected CLIENTS:OPS,... (e.g. 1:30000,64:120000), got '" + item + "'");
  }
  return out;
}

}  // namespace

result<bench_options> parse_bench_options(const std::vector<std::string>& a) {
  auto parsed = cli::parse_args(a);
  if (!parsed) return parsed.err();
  auto known = common_option_names();
  for (auto n : {"server-pids", "scale", "put-levels", "get-clients", "get-ops", "keyspace",
                 "preload-clients", "value-bytes", "data-dir", "keep-data", "driver"}) {
    known.push_back(n);
  }
  if (auto st = parsed->check(known); !st) return st.err();
  if (auto st = parsed->check_positionals(0, 0); !st) return st.err();
  bench_options o;
  if (parsed->has("endpoints")) {
    auto common = read_common_options(*parsed);
    if (!common) return common.err();
    for (auto& [h, p] : common->endpoints) o.endpoints.push_back(host_port{h, p}.to_string());
    o.cluster_id = common->cluster_id;
    o.client_secret = common->client_secret;
    o.timeout = common->timeout;
    auto pids = parsed->get_list("server-pids");
    if (!pids) return pids.err();
    for (auto& p : *pids) {
      char* end = nullptr;
      long v = std::strtol(p.c_str(), &end, 10);
      if (*end != 0 || v <= 0) return make_error(errc::invalid_argument, "--server-pids: not a pid: '" + p + "'");
      o.server_pids.push_back(static_cast<pid_t>(v));
    }
  } else if (parsed->has("server-pids") || parsed->has("cluster-id") || parsed->has("client-secret-file")) {
    return make_error(errc::invalid_argument,
                      "--server-pids, --cluster-id and --client-secret-file go with --endpoints");
  }
  auto scale_text = parsed->get_string("scale", "1");
  if (!scale_text) return scale_text.err();
  char* end = nullptr;
  double scale = std::strtod(scale_text->c_str(), &end);
  if (*end != 0 || !(scale > 0) || scale > 100) {
    return make_error(errc::invalid_argument, "--scale: expected a number in (0, 100], got '" + *scale_text + "'");
  }
  if (parsed->has("put-levels")) {
    auto items = parsed->get_list("put-levels");
    if (!items) return items.err();
    auto levels = parse_levels(*items);
    if (!levels) return levels.err();
    o.puts = std::move(*levels);
  }
  auto get_clients = parsed->get_uint("get-clients", 64);
  auto get_ops = parsed->get_uint("get-ops", 100000);
  auto keyspace = parsed->get_uint("keyspace", 100000);
  auto preload = parsed->get_uint("preload-clients", 16);
  auto value_bytes = parsed->get_uint("value-bytes", 256);
  for (auto* r : {&get_clients, &get_ops, &keyspace, &preload, &value_bytes}) {
    if (!*r) return r->err();
  }
  if (*get_clients == 0 || *get_clients > 4096 || *preload == 0 || *preload > 4096 || *keyspace == 0 ||
      *value_bytes > (1u << 20)) {
    return make_error(errc::invalid_argument,
                      "--get-clients and --preload-clients: 1..4096; --keyspace: at least 1; "
                      "--value-bytes: at most 1 MiB");
  }
  auto scaled = [&](std::uint64_t n) {
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::floor(static_cast<double>(n) * scale)));
  };
  for (auto& l : o.puts) l.ops = scaled(l.ops);
  o.gets = {static_cast<int>(*get_clients), scaled(*get_ops)};
  o.keyspace = *keyspace;
  o.preload_clients = static_cast<int>(*preload);
  o.value_bytes = *value_bytes;
  auto dir = parsed->get_string("data-dir", "");
  if (!dir) return dir.err();
  o.data_dir = *dir;
  auto keep = parsed->get_flag("keep-data");
  if (!keep) return keep.err();
  o.keep_data = *keep;
  auto driver = parsed->get_string("driver", "loop");
  if (!driver) return driver.err();
  if (*driver != "loop" && *driver != "threads") {
    return make_error(errc::invalid_argument, "--driver: expected loop or threads, got '" + *driver + "'");
  }
  o.event_loop = *driver == "loop";
  return o;
}

}  // namespace troupe::client::bench
