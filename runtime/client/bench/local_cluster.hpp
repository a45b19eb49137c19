#pragma once
/// A throwaway cluster of `troupe node` processes on loopback for `troupe bench kv`: fresh data
/// directories, random cluster and client secrets, free ports; each node's output goes to
/// <dir>/nodeN.log. The nodes are this binary again (/proc/self/exe node ...). Not thread-safe.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/client/kv_client.hpp"

namespace troupe::client::bench {

class local_cluster {
 public:
  /// Starts `nodes` nodes with data under `dir` (created; must be empty or absent).
  static result<std::unique_ptr<local_cluster>> start(const std::string& dir, int nodes = 3);
  /// Stops the nodes (stop()).
  ~local_cluster();
  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;

  const std::vector<std::string>& endpoints() const noexcept { return endpoints_; }
  const std::vector<pid_t>& pids() const noexcept { return pids_; }
  const std::string& cluster_id() const noexcept { return cluster_id_; }
  std::shared_ptr<const link::secret> client_secret() const { return client_secret_; }

  /// Error if a node has exited (with its log file named), for waits that poll the cluster.
  status check_alive();
  /// SIGTERM to every node, waits up to `grace` for each, then SIGKILL. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(30));

 private:
  local_cluster() = default;
  std::string dir_;
  std::string cluster_id_ = "bench";
  std::vector<std::string> endpoints_;
  std::vector<pid_t> pids_;
  std::shared_ptr<const link::secret> client_secret_;
};

}  // namespace troupe::client::bench
