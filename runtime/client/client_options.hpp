#pragma once
/// The options every `troupe` client subcommand shares: `--endpoints=host:port,...`,
/// `--cluster-id=ID` (default: $TROUPE_CLUSTER_ID, else "troupe"), `--client-secret-file=FILE`
/// (default: $TROUPE_CLIENT_SECRET_FILE; without one, only a node that has no client secret
/// accepts us, and only on loopback) and `--timeout=DURATION` (default 5s).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/args.hpp"
#include "runtime/base/result.hpp"
#include "runtime/client/connection.hpp"

namespace troupe::client {

struct common_options {
  std::vector<std::pair<std::string, std::uint16_t>> endpoints;
  std::string cluster_id;
  std::shared_ptr<const link::secret> client_secret;
  std::chrono::milliseconds timeout{5000};
};

/// The option names above, for parsed_args::check.
const std::vector<std::string_view>& common_option_names();

/// Reads the common options. Errors name the option (one line).
result<common_options> read_common_options(const cli::parsed_args& args);

/// `--consistency=`: linearizable, lease, follower, session or stale (docs/consistency.md).
result<wire::read_consistency> parse_read_consistency(std::string_view word);

/// Connection options for one endpoint of `o`.
connection_options connection_options_for(const common_options& o, std::size_t endpoint);

}  // namespace troupe::client
