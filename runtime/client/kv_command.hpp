#pragma once
/// `troupe kv put KEY VALUE | get KEY | cas KEY EXPECTED NEW | cas --expect-absent KEY NEW | del KEY`
/// with the common client options (client_options.hpp) and `--consistency=linearizable|lease|follower`
/// for get. A value that starts with '-' goes after `--`.
///
/// Output: get prints the value alone (then a newline) on stdout; put, cas and del print "OK".
/// Messages go to stderr. Exit codes (cli/commands.hpp): 0 done; 1 definite failure (cas mismatch,
/// key absent, busy or no node reachable until the timeout, refused); 2 usage or bad input; 3
/// outcome unknown (timeout or connection lost after sending: the write may or may not be applied).
///
/// Parsing and running are separate so that tests drive both without a cluster.

#include <iosfwd>
#include <optional>
#include <string>

#include "cli/args.hpp"
#include "runtime/client/client_options.hpp"
#include "runtime/client/kv_client.hpp"

namespace troupe::client {

enum class kv_op { put, get, cas, del };

struct kv_command {
  kv_op op = kv_op::get;
  std::string key;
  std::string value;                     ///< put: the value; cas: the new value
  std::optional<std::string> expected;   ///< cas: nullopt with --expect-absent
  wire::read_consistency consistency = wire::read_consistency::linearizable;
  common_options common;
};

/// Parses the words after `troupe kv`. Errors (usage) are one line.
result<kv_command> parse_kv_command(const std::vector<std::string>& words);

/// The exit code for an outcome: done 0, failed 1, invalid 2, unknown 3.
int exit_code_for(kv_outcome outcome) noexcept;

/// Runs `command` with `client`; writes the result to `out` and messages to `err` (prefixed with
/// "troupe kv <op>: "). Returns the exit code.
int run_kv_command(const kv_command& command, kv_client& client, std::ostream& out, std::ostream& err);

/// kv_client options for the common options (endpoints, timeout; group 1).
kv_client_options kv_options_for(const common_options& common);

}  // namespace troupe::client
