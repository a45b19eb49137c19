#pragma once
/// Entry points of the `troupe` subcommands. cli/main.cpp dispatches on the leading positional words
/// (`troupe node ...`, `troupe bench transport ...`) and passes the remaining arguments, unparsed, to
/// one of these. Each returns the process exit code: 0 done; 1 definite failure; 2 usage or bad input;
/// 3 outcome unknown (timeout, connection lost after sending).

#include <string>
#include <vector>

namespace troupe::cli {

using args = std::vector<std::string>;

int node_main(const args& a);             ///< troupe node --id=... (runtime/node)
int ping_main(const args& a);             ///< troupe ping --endpoints=...: authenticated client round trip
int bench_transport_main(const args& a);  ///< troupe bench transport [--runs=3 ...]
int kv_main(const args& a);               ///< troupe kv put|get|cas|del ... (runtime/client/kv_command)
int bench_kv_main(const args& a);         ///< troupe bench kv [--scale=1 ...] (runtime/client/bench)

}  // namespace troupe::cli
