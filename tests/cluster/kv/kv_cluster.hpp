#pragma once
/// A 3-node `troupe node` cluster on loopback for the key-value process tests: start, kill and
/// restart nodes by slot, find the leader and applied indexes from each node's /metrics, run the
/// `troupe kv` CLI, and drive closed-loop writer threads through kv_client that record every
/// acknowledged write. Waits are on conditions with deadlines that only catch hangs.

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/client/kv_client.hpp"
#include "tests/support/process.hpp"

namespace troupe::test::kv {

inline constexpr auto hang_deadline = std::chrono::seconds(60);  // only catches hangs

/// Sum of the samples of `name` (any labels) in a Prometheus text scrape; nullopt if absent.
std::optional<double> metric_value(const std::string& scrape, const std::string& name);

struct cli_result {
  int exit_code = -1;
  std::string out;  ///< stdout alone
  std::string err;  ///< stderr alone
};

class kv_cluster {
 public:
  kv_cluster();
  ~kv_cluster();

  std::string addr(int i) const { return "127.0.0.1:" + std::to_string(ports_[i]); }
  std::string endpoints() const { return addr(0) + "," + addr(1) + "," + addr(2); }
  std::uint16_t metrics_port(int i) const { return metrics_ports_[i]; }
  std::vector<std::string> endpoint_list() const { return {addr(0), addr(1), addr(2)}; }

  /// Starts node i (0..2), with `extra_args` after the usual ones, and waits for its "ready" line.
  void start(int i, const std::vector<std::string>& extra_args = {});
  void start_all();
  bool running(int i) const { return nodes_[i] != nullptr; }
  /// Sends `sig` and waits for the exit; returns the wait status. The node's output stays readable
  /// through transcript(i) until it is started again.
  int stop(int i, int sig);
  void signal(int i, int sig) { nodes_[i]->signal(sig); }
  /// SIGSTOP to node i, returning once all of it has stopped (kill() returns before the threads
  /// stop; child_process::stop); false if it did not stop within `deadline`.
  bool pause(int i, std::chrono::milliseconds deadline) { return nodes_[i]->stop(deadline); }
  pid_t pid(int i) const { return nodes_[i]->pid(); }
  std::string transcript(int i) const { return nodes_[i] ? nodes_[i]->transcript() : stopped_output_[i]; }

  /// /metrics of node i, or nullopt if it does not answer.
  std::optional<std::string> scrape(int i) const;
  /// The running node whose troupe_raft_is_leader is 1, waiting for one (except `not_this`).
  int wait_for_leader(int not_this = -1) const;
  /// troupe_raft_applied_index of node i (0 if it does not answer).
  double applied_index(int i) const;

  /// Runs `troupe kv ARGS...` with this cluster's id and client secret, `input` on its stdin; waits
  /// for it.
  cli_result kv(std::vector<std::string> args, const std::string& input = {}) const;
  /// Runs `troupe SUBCOMMAND ARGS...` (e.g. "counter") the same way.
  cli_result cli(const std::string& subcommand, std::vector<std::string> args,
                 const std::string& input = {}) const;

  /// Starts `troupe kv ARGS...` (stdout and stderr in one pipe) without waiting: for `watch`.
  std::unique_ptr<child_process> spawn_kv(const std::vector<std::string>& args) const;
  /// Starts `troupe SUBCOMMAND ARGS...` the same way (e.g. `troupe lock acquire`).
  std::unique_ptr<child_process> spawn_cli(const std::string& subcommand, const std::vector<std::string>& args) const;

  /// A path in the cluster's temporary directory (its secrets are "cluster.secret" and
  /// "client.secret"), and the troupe binary: for tests that start more nodes.
  std::string file(const std::string& name) const { return dir_.file(name); }
  const std::string& troupe_binary() const { return troupe_; }

  /// kv_client options for this cluster; link factory with its id and secret.
  client::kv_client_options client_options() const;
  client::link_factory client_factory() const;

 private:
  std::vector<std::string> node_args(int i) const;
  temp_dir dir_{"troupe-kv-test"};
  std::uint16_t ports_[3];
  std::uint16_t metrics_ports_[3];
  std::unique_ptr<child_process> nodes_[3];
  std::string stopped_output_[3];  ///< the output of a stopped node
  std::string troupe_;
  std::shared_ptr<const link::secret> client_secret_;
};

/// A node started with --join beside a kv_cluster (ids 4, 5, ...): it waits to be added with
/// `troupe cluster add`.
struct joiner {
  std::uint64_t id;
  std::uint16_t port = free_port();
  std::uint16_t metrics_port = free_port();
  std::unique_ptr<child_process> proc;
  std::string addr() const { return "127.0.0.1:" + std::to_string(port); }
};
/// Starts `j` with --join=<the cluster's endpoints> and `extra_args`; waits for "waiting to be added".
void start_joiner(const kv_cluster& c, joiner& j, const std::vector<std::string>& extra_args = {});
/// /metrics at 127.0.0.1:`port`, or nullopt if it does not answer.
std::optional<std::string> scrape_port(std::uint16_t port);
/// Runs `troupe cluster ARGS... --endpoints=ENDPOINTS --timeout=30s`; returns its exit code and output.
std::pair<int, std::string> cluster_cli(const kv_cluster& c, const std::vector<std::string>& args,
                                        const std::string& endpoints);
/// Waits until the node whose metrics are at `port` applied at least `index`.
void wait_applied(std::uint16_t port, double index);

/// Closed-loop writers: each thread writes unique keys ("w<thread>-<n>" = "v<thread>-<n>") through
/// its own kv_client, one write outstanding, and records the outcome of each. Stop with stop().
class writer_load {
 public:
  writer_load(const kv_cluster& c, int threads);
  ~writer_load();
  /// Waits until `total` writes in all were acknowledged; false at the deadline.
  bool wait_acked(std::size_t total, std::chrono::milliseconds deadline);
  void stop();

  std::size_t acked() const;
  /// Every acknowledged key with its value.
  std::map<std::string, std::string> acknowledged() const;
  std::vector<std::string> failures() const;  ///< messages of definite failures
  std::vector<std::string> unknowns() const;  ///< keys whose outcome stayed unknown

 private:
  void run(int thread);
  const kv_cluster& cluster_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::string> acked_;
  std::vector<std::string> failures_, unknowns_;
  std::vector<std::thread> threads_;
};

}  // namespace troupe::test::kv
