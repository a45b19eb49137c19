#pragma once
/// `troupe kv put KEY VALUE | get KEY | cas KEY EXPECTED NEW | cas --expect-absent KEY NEW | del KEY`
/// `| list PREFIX [--limit=N] [--keys-only] | watch PREFIX [--from=REV] [--count=N] [--key] | txn`
/// with the common client options (client_options.hpp) and `--consistency=linearizable|lease|follower`
/// for get. A value that starts with '-' goes after `--`. list and watch: kv_watch_command.cpp.
///
/// Output: get prints the value alone (then a newline) on stdout; put, cas and del print "OK".
/// Messages go to stderr. Exit codes (cli/commands.hpp): 0 done; 1 definite failure (cas mismatch,
/// key absent, busy or no node reachable until the timeout, refused); 2 usage or bad input; 3
/// outcome unknown (timeout or connection lost after sending: the write may or may not be applied).
///
/// Parsing and running are separate so that tests drive both without a cluster.

#include <chrono>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "cli/args.hpp"
#include "runtime/client/client_options.hpp"
#include "runtime/client/kv_client.hpp"

namespace troupe::client {

enum class kv_op { put, get, cas, del, list, watch, txn };

struct kv_command {
  kv_op op = kv_op::get;
  std::string key;
  std::string value;                     ///< put: the value; cas: the new value
  std::optional<std::string> expected;   ///< cas: nullopt with --expect-absent
  wire::read_consistency consistency = wire::read_consistency::linearizable;
  // list
  std::uint64_t limit = 0;  ///< at most this many keys; 0: all
  bool keys_only = false;
  // watch
  std::uint64_t from = 0;   ///< first revision; 0: from now
  std::uint64_t count = 0;  ///< stop after this many events; 0: until a signal
  bool exact_key = false;   ///< --key: the key alone, not a prefix
  // txn
  std::string script;  ///< the script (kv_main reads it from stdin)
  common_options common;
};

/// Parses the words after `troupe kv`. Errors (usage) are one line.
result<kv_command> parse_kv_command(const std::vector<std::string>& words);

/// The exit code for an outcome: done 0, failed 1, invalid 2, unknown 3.
int exit_code_for(kv_outcome outcome) noexcept;

/// Runs `command` with `client`; writes the result to `out` and messages to `err` (prefixed with
/// "troupe kv <op>: "). Returns the exit code.
int run_kv_command(const kv_command& command, kv_client& client, std::ostream& out, std::ostream& err);

/// `list`: pages through `range` PREFIX (prefix, startAfter = the last key) until `more` is false or
/// `limit` keys were printed; one line per key, `KEY<TAB>VALUE<TAB>create=C mod=M version=V` (`KEY`
/// alone with keys_only). Each page is one linearizable read; the listing as a whole is not one
/// snapshot. Exit 0 (also when empty), 1 failed, 2 invalid, 3 no answer.
/// `page_size`: keys per range request (the server's maximum by default; tests page with less).
int run_kv_list(const kv_command& command, kv_client& client, std::ostream& out, std::ostream& err,
                std::uint32_t page_size = 10'000);

/// `watch` (kv_watch.hpp): one line per event, `REV PUT KEY VALUE` or `REV DELETE KEY`, flushed at
/// once; pauses `poll_interval` (through `sleep`) after an empty page or a failed poll, and says so
/// once on `err` while no node answers. Ends with 0 after `command.count` events or when `stopped()`
/// turns true (checked between polls); 1 when the revision was compacted away or a node refused
/// us; 2 when a node rejected the request.
int run_kv_watch(const kv_command& command, kv_client& client, std::ostream& out, std::ostream& err,
                 const std::function<bool()>& stopped,
                 const std::function<void(std::chrono::milliseconds)>& sleep,
                 std::chrono::milliseconds poll_interval = std::chrono::milliseconds(100));

/// `txn` (the script from stdin: kv_txn_script.hpp): prints `succeeded revision=R` or `failed
/// revision=R`, then one line per result of the branch that ran: `OK` (put), `deleted KEY` / `absent
/// KEY` (del), `KEY<TAB>VALUE<TAB>create=C mod=M version=V` / `absent KEY` (get). Exit 0 when the
/// compares held, 1 when the failure branch ran (or a definite failure), 2 rejected, 3 unknown.
int run_kv_txn(const wire::kv_txn& txn, kv_client& client, std::ostream& out, std::ostream& err);

/// kv_client options for the common options (endpoints, timeout; group 1).
kv_client_options kv_options_for(const common_options& common);

}  // namespace troupe::client
