#pragma once
/// Entry points of the `troupe` subcommands. cli/main.cpp dispatches on the leading positional words
/// (`troupe node ...`, `troupe bench transport ...`) and passes the remaining arguments, unparsed, to
/// one of these. Each returns the process exit code: 0 done; 1 definite failure; 2 usage or bad input;
/// 3 outcome unknown (timeout, connection lost after sending).

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace troupe::raft {
class state_machine;
}

namespace troupe::cli {

using args = std::vector<std::string>;

/// Makes the state machine of a node's Raft group (the troupe binary passes the key-value service
/// of examples/kv; runtime/node does not depend on examples/).
using state_machine_factory = std::function<std::unique_ptr<raft::state_machine>()>;

int node_main(const args& a, const state_machine_factory& make_state_machine);  ///< troupe node (runtime/node)
int ping_main(const args& a);             ///< troupe ping --endpoints=...: authenticated client round trip
int bench_transport_main(const args& a);  ///< troupe bench transport [--runs=3 ...]
int kv_main(const args& a);               ///< troupe kv put|get|cas|del ... (runtime/client/kv_command)
int bench_kv_main(const args& a);         ///< troupe bench kv [--scale=1 ...] (runtime/client/bench)
int status_main(const args& a);           ///< troupe status [--metrics=...] [--json] (cli/status_command)
int backup_main(const args& a);           ///< troupe backup save FILE (runtime/client/backup_command)
int cluster_main(const args& a);          ///< troupe cluster status|add|promote|remove|transfer-leader (runtime/client/cluster_command)
/// troupe bank: a node (with the same Raft group as `troupe node`) hosting bank accounts (examples/bank)
int bank_main(const args& a, const state_machine_factory& make_state_machine);
int checkpoint_main(const args& a);       ///< troupe checkpoint take|list|show|restore|delete|export (snapshot/cli)
int lock_main(const args& a);             ///< troupe lock acquire|release|status (examples/lock)
int counter_main(const args& a);          ///< troupe counter incr|get ... (examples/counter)

}  // namespace troupe::cli
