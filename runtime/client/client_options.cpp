#include "runtime/client/client_options.hpp"

#include <cstdlib>

#include "runtime/node/config.hpp"

namespace troupe::client {

const std::vector<std::string_view>& common_option_names() {
  static const std::vector<std::string_view> names{"endpoints", "cluster-id", "client-secret-file",
                                                   "timeout"};
  return names;
}

result<wire::read_consistency> parse_read_consistency(std::string_view word) {
  using wire::read_consistency;
  for (auto c : {read_consistency::linearizable, read_consistency::lease, read_consistency::follower,
                 read_consistency::session, read_consistency::stale}) {
    if (word == wire::to_string(c)) return c;
  }
  return make_error(errc::invalid_argument, "--consistency: expected linearizable, lease, follower, "
                                            "session or stale, got '" + std::string(word) + "'");
}

result<common_options> read_common_options(const cli::parsed_args& args) {
  common_options o;
  auto endpoints = args.get_list("endpoints");
  if (!endpoints) return endpoints.err();
  if (endpoints->empty()) {
    return make_error(errc::invalid_argument, "--endpoints: required, e.g. --endpoints=127.0.0.1:7101");
  }
  for (auto& e : *endpoints) {
    auto hp = node::parse_host_port(e);
    if (!hp) return make_error(errc::invalid_argument, "--endpoints: " + hp.err().message);
    o.endpoints.emplace_back(hp->host, hp->port);
  }
  const char* env_cluster = std::getenv("TROUPE_CLUSTER_ID");
  auto cluster = args.get_string("cluster-id", env_cluster ? env_cluster : "troupe");
  if (!cluster) return cluster.err();
  o.cluster_id = *cluster;
  const char* env_secret = std::getenv("TROUPE_CLIENT_SECRET_FILE");
  auto secret_file = args.get_string("client-secret-file", env_secret ? env_secret : "");
  if (!secret_file) return secret_file.err();
  if (!secret_file->empty()) {
    auto text = node::read_secret_file(*secret_file, "client-secret-file");
    if (!text) return text.err();
    auto s = link::secret::from_file_contents(std::string_view(*text));
    if (!s) return make_error(s.err().code, "--client-secret-file: " + s.err().message);
    o.client_secret = std::make_shared<const link::secret>(std::move(*s));
  }
  auto timeout = args.get_duration("timeout", std::chrono::milliseconds(5000));
  if (!timeout) return timeout.err();
  if (timeout->count() <= 0) return make_error(errc::invalid_argument, "--timeout: must be positive");
  o.timeout = *timeout;
  return o;
}

connection_options connection_options_for(const common_options& o, std::size_t endpoint) {
  connection_options c;
  c.host = o.endpoints.at(endpoint).first;
  c.port = o.endpoints.at(endpoint).second;
  c.cluster_id = o.cluster_id;
  c.client_secret = o.client_secret;
  c.connect_timeout = o.timeout;
  return c;
}

}  // namespace troupe::client
