#include "tests/cluster/observability/cluster_harness.hpp"

#include <boost/property_tree/json_parser.hpp>
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <unistd.h>

#include <sstream>
#include <thread>

namespace troupe::test {

namespace pt = boost::property_tree;

pt::ptree parse_json(const std::string& text, const std::string& what) {
  pt::ptree tree;
  std::istringstream in(text);
  try {
    pt::read_json(in, tree);
  } catch (const pt::json_parser_error& e) {
    throw std::runtime_error(what + ": invalid JSON (" + e.what() + "): " + text.substr(0, 500));
  }
  return tree;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds interval) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(interval);  // polling interval of a wait with a deadline
  }
}

three_node_cluster::three_node_cluster(std::string command, std::vector<std::string> extra)
    : troupe_(binary_path("troupe")), command_(std::move(command)), extra_(std::move(extra)) {
  for (int i = 0; i < 3; ++i) {
    ports_[i] = free_port();
    metrics_ports_[i] = free_port();
  }
  write_file(dir_.file("cluster.secret"), "an-observability-test-secret....\n", 0600);
}

three_node_cluster::~three_node_cluster() {
  // Stop cleanly where possible (SIGTERM), so that no node outlives the test; the child_process
  // destructor SIGKILLs any that does not stop in time.
  for (auto& n : nodes_) {
    if (!n) continue;
    n->signal(SIGTERM);
    n->wait_exit(std::chrono::seconds(10));
  }
}

std::vector<std::string> three_node_cluster::node_args(int i) const {
  std::vector<std::string> args{troupe_,
          command_,
          "--id=" + std::to_string(i + 1),
          "--listen=127.0.0.1:" + std::to_string(ports_[i]),
          "--peers=" + local_peers(ports_, static_cast<std::size_t>(i)),
          "--data-dir=" + dir_.file("data" + std::to_string(i + 1)),
          "--cluster-id=obs-test",
          "--secret-file=" + dir_.file("cluster.secret"),
          "--metrics=127.0.0.1:" + std::to_string(metrics_ports_[i])};
  args.insert(args.end(), extra_.begin(), extra_.end());
  return args;
}

void three_node_cluster::start(int i) {
  nodes_[i] = std::make_unique<child_process>(node_args(i), std::vector<std::string>{},
                                              dir_.file("node" + std::to_string(i + 1) + ".log"));
  BOOST_REQUIRE_MESSAGE(nodes_[i]->wait_for_line(std::regex(" ready: "), hang_deadline),
                        "node " << i + 1 << " did not start:\n" << nodes_[i]->transcript());
}

void three_node_cluster::start_all() {
  for (int i = 0; i < 3; ++i) start(i);
}

void three_node_cluster::kill(int i) {
  BOOST_REQUIRE(nodes_[i]);
  nodes_[i]->signal(SIGKILL);
  nodes_[i]->wait_exit(hang_deadline);
  nodes_[i].reset();
}

std::optional<pt::ptree> three_node_cluster::status(int i) const {
  try {
    auto r = http_get("127.0.0.1", metrics_ports_[i], "/status.json", std::chrono::seconds(5));
    if (r.status != 200) return std::nullopt;
    return parse_json(r.body, "node " + std::to_string(i + 1) + " /status.json");
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
}

int three_node_cluster::health(int i) const {
  try {
    return http_get("127.0.0.1", metrics_ports_[i], "/health", std::chrono::seconds(5)).status;
  } catch (const std::runtime_error&) {
    return 0;
  }
}

std::optional<std::uint64_t> three_node_cluster::leader_seen_by(int i) const {
  auto s = status(i);
  if (!s) return std::nullopt;
  auto leader = s->get_optional<std::string>("raft.leader");
  if (!leader || *leader == "null" || leader->empty()) return std::nullopt;
  return std::stoull(*leader);
}

std::uint64_t three_node_cluster::wait_for_agreed_leader(std::chrono::milliseconds deadline) const {
  std::uint64_t agreed = 0;
  bool ok = eventually(
      [&] {
        std::optional<std::uint64_t> first;
        for (int i = 0; i < 3; ++i) {
          if (!nodes_[i]) continue;
          auto l = leader_seen_by(i);
          if (!l) return false;
          if (first && *first != *l) return false;
          first = l;
        }
        if (!first) return false;
        // The leader must itself be running (a killed leader may still be remembered briefly).
        if (!nodes_[*first - 1]) return false;
        agreed = *first;
        return true;
      },
      deadline);
  BOOST_REQUIRE_MESSAGE(ok, "the running nodes never agreed on a running leader");
  return agreed;
}

}  // namespace troupe::test
