/// `troupe status [--metrics=HOST:PORT,...] [--json] [--timeout=5s]`: what a node's status page shows
/// (this node, the members with their roles, indexes, lag and connection state, recent leader
/// changes and checkpoints), read from the node's metrics address: /status.txt as a table, or
/// /status.json with --json.
///
/// Why the metrics address and not the client connection: it is the very data the status page shows
/// (one renderer, runtime/status, so the two cannot disagree); it needs no client secret, so an
/// operator can look at a node that refuses clients or has no leader; and the node answers from its
/// status board without involving the raft actor. The metrics address is loopback by default, so run
/// it on the node's machine or point it at an exposed address.
///
/// Exit codes: 0 every node answered and is healthy; 1 a node is unhealthy or did not answer (the
/// output says which); 2 usage.

#include <cstdio>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "runtime/base/host_port.hpp"
#include "runtime/metrics/http_client.hpp"

namespace troupe::cli {

namespace {

constexpr const char* status_usage =
    "usage: troupe status [--metrics=HOST:PORT,...] [--json] [--timeout=5s]\n"
    "  --metrics   nodes' metrics addresses (default 127.0.0.1:8101)\n"
    "  --json      print /status.json (an array when several nodes are given)\n"
    "  --timeout   per node (default 5s)\n";

int usage(const std::string& why) {
  std::cerr << "troupe status: " << why << "\n" << status_usage;
  return 2;
}

}  // namespace

int status_main(const args& a) {
  auto parsed = parse_args(a);
  if (!parsed) return usage(parsed.err().message);
  if (parsed->has("help")) {
    std::cout << status_usage;
    return 0;
  }
  if (auto st = parsed->check({"metrics", "json", "timeout", "help"}); !st) return usage(st.err().message);
  if (auto st = parsed->check_positionals(0, 0); !st) return usage(st.err().message);
  auto list = parsed->get_list("metrics", {"127.0.0.1:8101"});
  if (!list) return usage(list.err().message);
  auto json = parsed->get_flag("json");
  if (!json) return usage(json.err().message);
  auto timeout = parsed->get_duration("timeout", std::chrono::seconds(5));
  if (!timeout) return usage(timeout.err().message);
  std::vector<host_port> nodes;
  for (auto& text : *list) {
    auto hp = parse_host_port(text);
    if (!hp) return usage("--metrics: " + hp.err().message);
    nodes.push_back(*hp);
  }

  int exit_code = 0;
  std::string json_out;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& node = nodes[i];
    auto reply = metrics::http_get(node.host, node.port, *json ? "/status.json" : "/status.txt", *timeout);
    if (!reply || reply->status != 200) {
      std::cerr << "troupe status: " << node.to_string() << ": "
                << (reply ? "answered HTTP " + std::to_string(reply->status) +
                                " (is this a Troupe node's metrics address?)"
                          : reply.err().message)
                << "\n";
      exit_code = 1;
      continue;
    }
    // Health comes from the node's own verdict, the same as /health.
    auto health = metrics::http_get(node.host, node.port, "/health", *timeout);
    if (!health || health->status != 200) exit_code = 1;
    if (*json) {
      std::string body = reply->body;
      while (!body.empty() && body.back() == '\n') body.pop_back();
      json_out += (json_out.empty() ? "" : ",\n") + body;
    } else {
      if (i > 0) std::cout << "\n";
      std::cout << reply->body << std::flush;
    }
  }
  if (*json) std::cout << (nodes.size() > 1 ? "[" + json_out + "]" : json_out) << "\n";
  return exit_code;
}

}  // namespace troupe::cli
