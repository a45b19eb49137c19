#pragma once
/// The options of `troupe bench kv` (bench_kv.cpp has the workload): defaults are the etcd anchor's
/// levels; `--scale` multiplies every op count. Parsing is pure (no I/O except reading a client
/// secret file named by --client-secret-file).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/base/result.hpp"

namespace troupe::link {
class secret;
}

namespace troupe::client::bench {

struct level_spec {
  int clients = 0;
  std::uint64_t ops = 0;
};

struct bench_options {
  std::vector<std::string> endpoints;  ///< empty: start a local cluster
  std::string cluster_id = "troupe";
  std::shared_ptr<const link::secret> client_secret;
  std::chrono::milliseconds timeout{10000};
  std::vector<pid_t> server_pids;
  std::vector<level_spec> puts{{1, 30000}, {16, 80000}, {64, 120000}, {256, 120000}};
  level_spec gets{64, 100000};
  std::uint64_t keyspace = 100000;
  int preload_clients = 16;
  std::size_t value_bytes = 256;
  std::string data_dir;  ///< empty: a fresh directory under $TMPDIR or /tmp
  bool keep_data = false;
  /// How the clients run: `loop` (default), all on one thread's event loop (closed_loop.hpp), or
  /// `threads`, one blocking thread each (kv_client): the load generator's own CPU per operation
  /// differs (it shares the cores with the nodes), the workload does not.
  bool event_loop = true;
};

/// Parses the words after `troupe bench kv`. Errors (usage) are one line naming the option.
result<bench_options> parse_bench_options(const std::vector<std::string>& words);

}  // namespace troupe::client::bench
