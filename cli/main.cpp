// The `troupe` binary: dispatches on the leading positional words to the subcommands' entry points
// (cli/commands.hpp) and passes the rest of the arguments to them unparsed.

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "actors/replicated/service_host.hpp"
#include "examples/counter/counter_service.hpp"
#include "examples/kv/kv_state_machine.hpp"
#include "examples/lock/lock_node.hpp"

namespace {

constexpr const char* usage_text =
    "usage: troupe <command> [arguments] [--option=value ...]\n"
    "\n"
    "commands:\n"
    "  node              run a node (troupe node --help for its options)\n"
    "  ping              authenticated round trip to nodes (--endpoints=host:port,...)\n"
    "  status            a node's view of the cluster from its metrics address (--metrics=host:port,...)\n"
    "  cluster           status (as troupe status) | add ID HOST:PORT [--learner] | promote ID |\n"
    "                    remove ID | transfer-leader ID (--endpoints=...)\n"
    "  backup            save FILE: a consistent backup of the cluster (restore: troupe node --restore-from)\n"
    "  kv                put KEY VALUE | get KEY | cas KEY EXPECTED NEW | del KEY (--endpoints=...)\n"
    "  counter           incr NAME [--by=N] | get NAME [--consistency=...] (--endpoints=...)\n"
    "  lock              acquire NAME [--ttl=10s] [--wait] | release NAME --lease=ID | status NAME\n"
    "  bench transport   measure actor-to-actor messaging between two processes\n"
    "  bench kv          key-value throughput and latency of a 3-node cluster (the etcd anchor's load)\n"
    "  bank              a node hosting the bank example's accounts (troupe bank --help)\n"
    "  checkpoint        take | list | show ID | restore ID | delete ID | export ID --dot\n"
    "  help              show this text\n"
    "\n"
    "  --help            show this text\n"
    "  --version         print the version\n";

int usage_error(const std::string& why) {
  std::fprintf(stderr, "troupe: %s\n\n%s", why.c_str(), usage_text);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("missing command");
  const std::string_view command = args.front();
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(usage_text, stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("troupe %s\n", TROUPE_VERSION);
    return 0;
  }
  troupe::cli::args rest(args.begin() + 1, args.end());
  // The node's Raft group hosts the key-value store and the application services
  // (actors/README.md); every node registers the same services under the same names.
  // The lock service's clock runs in `troupe node` (examples/lock/README.md, "Time").
  const troupe::lock::lock_hosting locks;
  auto kv_state_machine = [&locks]() -> std::unique_ptr<troupe::raft::state_machine> {
    auto host = std::make_unique<troupe::replicated::service_host>(std::make_unique<troupe::kv::kv_state_machine>());
    host->add("counter", std::make_unique<troupe::counter::counter_service>());
    host->add(std::string(troupe::lock::service_name), locks.service());
    return host;
  };
  if (command == "node") return troupe::cli::node_main_with(rest, kv_state_machine, &locks.app());
  if (command == "ping") return troupe::cli::ping_main(rest);
  if (command == "kv") return troupe::cli::kv_main(rest);
  if (command == "counter") return troupe::cli::counter_main(rest);
  if (command == "lock") return troupe::cli::lock_main(rest);
  if (command == "status") return troupe::cli::status_main(rest);
  if (command == "cluster") {
    // `troupe status` is the short alias of `troupe cluster status` (issue 7).
    if (rest.empty()) {
      return usage_error("'cluster' needs a subcommand: status | add | promote | remove | transfer-leader");
    }
    return troupe::cli::cluster_main(rest);
  }
  if (command == "backup") return troupe::cli::backup_main(rest);
  if (command == "bank") return troupe::cli::bank_main(rest, kv_state_machine);
  if (command == "checkpoint") return troupe::cli::checkpoint_main(rest);
  if (command == "bench") {
    if (rest.empty()) return usage_error("'bench' needs a target: troupe bench transport");
    if (rest.front() == "transport") {
      return troupe::cli::bench_transport_main(troupe::cli::args(rest.begin() + 1, rest.end()));
    }
    if (rest.front() == "kv") {
      return troupe::cli::bench_kv_main(troupe::cli::args(rest.begin() + 1, rest.end()));
    }
    return usage_error("unknown benchmark '" + rest.front() + "'");
  }
  return usage_error("unknown command '" + std::string(command) + "'");
}
