#pragma once
/// Test harness of the observability tests: a 3-node cluster of real `troupe node` processes on
/// loopback, each with its metrics address, plus JSON helpers for the HTTP APIs the tests read
/// (the nodes' /status.json, Prometheus, chromedriver). Waits are conditions with deadlines that
/// only catch hangs.

#include <boost/property_tree/ptree.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace troupe::test {

inline constexpr std::chrono::seconds hang_deadline{60};

/// Parses JSON; throws std::runtime_error with `what` on invalid input.
boost::property_tree::ptree parse_json(const std::string& text, const std::string& what);

/// Polls `condition` every `interval` until it holds; false at the deadline.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds deadline = hang_deadline,
                std::chrono::milliseconds interval = std::chrono::milliseconds(100));

class three_node_cluster {
 public:
  /// `command` is the troupe subcommand each node runs ("node", "bank", ...) and `extra` its
  /// further flags.
  explicit three_node_cluster(std::string command = "node", std::vector<std::string> extra = {});
  ~three_node_cluster();

  /// Starts every node and waits for each to log "ready".
  void start_all();
  /// Starts node `i` (0-based) again after a kill, on the same data directory.
  void start(int i);
  /// SIGKILL: the node gets no chance to say goodbye.
  void kill(int i);
  bool running(int i) const { return nodes_[i] != nullptr; }

  std::uint16_t metrics_port(int i) const { return metrics_ports_[i]; }
  std::uint64_t id(int i) const { return static_cast<std::uint64_t>(i + 1); }
  std::string metrics_address(int i) const { return "127.0.0.1:" + std::to_string(metrics_ports_[i]); }
  const temp_dir& dir() const { return dir_; }

  /// Node i's /status.json, parsed; nullopt if it does not answer.
  std::optional<boost::property_tree::ptree> status(int i) const;
  /// Node i's /health status code; 0 if it does not answer.
  int health(int i) const;
  /// The leader id node i reports (raft.leader), or nullopt.
  std::optional<std::uint64_t> leader_seen_by(int i) const;
  /// Waits until every running node reports the same leader; returns it (fails the test if not).
  std::uint64_t wait_for_agreed_leader(std::chrono::milliseconds deadline = hang_deadline) const;

 private:
  std::vector<std::string> node_args(int i) const;
  temp_dir dir_{"troupe-obs-test"};
  std::uint16_t ports_[3];
  std::uint16_t metrics_ports_[3];
  std::unique_ptr<child_process> nodes_[3];
  std::string troupe_;
  std::string command_;
  std::vector<std::string> extra_;
};

}  // namespace troupe::test
