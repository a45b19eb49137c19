// A real Prometheus (Debian's `prometheus`) on loopback scrapes a 3-node cluster every second, with
// our alerting rules loaded: its query API shows every target up and exactly one leader over three
// consecutive scrape rounds; after the leader is killed, its target goes down and a new leader
// appears.
#define BOOST_TEST_MODULE prometheus
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include <boost/property_tree/json_parser.hpp>

#include "tests/cluster/observability/cluster_harness.hpp"

using namespace troupe::test;
namespace pt = boost::property_tree;

namespace {

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

/// One Prometheus server with a generated configuration, its own data directory and port.
class prometheus_server {
 public:
  prometheus_server(const three_node_cluster& cluster, const std::string& dir) : port_(free_port()) {
    const auto binary = find_tool("prometheus");
    BOOST_REQUIRE_MESSAGE(!binary.empty(), "prometheus not found: run scripts/install-deps.sh");
    std::string targets;
    for (int i = 0; i < 3; ++i) targets += (i ? ", '" : "'") + cluster.metrics_address(i) + "'";
    write_file(dir + "/prometheus.yml",
               "global:\n"
               "  scrape_interval: 1s\n"
               "  scrape_timeout: 900ms\n"
               "  evaluation_interval: 1s\n"
               "rule_files: ['" + std::string(TROUPE_SOURCE_DIR) + "/monitoring/prometheus/alerts.yml']\n"
               "scrape_configs:\n"
               "  - job_name: troupe\n"
               "    static_configs:\n"
               "      - targets: [" + targets + "]\n");
    process_ = std::make_unique<child_process>(
        std::vector<std::string>{binary, "--config.file=" + dir + "/prometheus.yml",
                                 "--storage.tsdb.path=" + dir + "/tsdb",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--log.level=info"},
        std::vector<std::string>{}, dir + "/prometheus.log");
    BOOST_REQUIRE_MESSAGE(process_->wait_for_line(std::regex("Server is ready to receive web requests"),
                                                  hang_deadline),
                          "prometheus did not start:\n" << process_->transcript());
  }

  /// An instant query; the result vector as (labels, value) pairs. Fails the test on API errors.
  std::vector<std::pair<std::map<std::string, std::string>, double>> query(const std::string& promql) {
    auto r = http_get("127.0.0.1", port_, "/api/v1/query?query=" + url_encode(promql));
    BOOST_REQUIRE_MESSAGE(r.status == 200, promql << ": HTTP " << r.status << " " << r.body);
    auto tree = parse_json(r.body, "prometheus query " + promql);
    BOOST_REQUIRE_EQUAL(tree.get<std::string>("status"), "success");
    std::vector<std::pair<std::map<std::string, std::string>, double>> out;
    for (auto& [_, sample] : tree.get_child("data.result")) {
      std::map<std::string, std::string> labels;
      for (auto& [k, v] : sample.get_child("metric")) labels[k] = v.data();
      std::string value;  // "value": [timestamp, "value"]: the last element
      for (auto& [__, part] : sample.get_child("value")) value = part.data();
      out.emplace_back(std::move(labels), std::stod(value));
    }
    return out;
  }

  /// Evaluates `promql`: "" and the number of samples if Prometheus accepts it, else its error.
  std::pair<std::string, std::size_t> evaluate(const std::string& promql) {
    auto r = http_get("127.0.0.1", port_, "/api/v1/query?query=" + url_encode(promql));
    auto tree = parse_json(r.body, "prometheus query " + promql);
    if (tree.get<std::string>("status") != "success")
      return {tree.get<std::string>("error", "HTTP " + std::to_string(r.status)), 0};
    return {"", tree.get_child("data.result").size()};
  }

  /// Names of the alerting rules the server loaded.
  std::set<std::string> rules() {
    auto r = http_get("127.0.0.1", port_, "/api/v1/rules?type=alert");
    BOOST_REQUIRE_EQUAL(r.status, 200);
    auto tree = parse_json(r.body, "prometheus rules");
    std::set<std::string> names;
    for (auto& [_, group] : tree.get_child("data.groups"))
      for (auto& [__, rule] : group.get_child("rules")) names.insert(rule.get<std::string>("name"));
    return names;
  }

  /// The single value of a query that yields one sample, or NaN (which equals nothing).
  double scalar(const std::string& promql) {
    auto r = query(promql);
    if (r.size() != 1) return std::numeric_limits<double>::quiet_NaN();
    return r.front().second;
  }

  ~prometheus_server() {
    if (process_) {
      process_->signal(SIGTERM);
      process_->wait_exit(std::chrono::seconds(20));
    }
  }

 private:
  std::uint16_t port_;
  std::unique_ptr<child_process> process_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(prometheus_sees_every_node_up_one_leader_and_a_new_leader_after_a_kill) {
  three_node_cluster cluster;
  cluster.start_all();
  prometheus_server prom(cluster, cluster.dir().path());

  // Our alerting rules loaded into the real server: every alert of alerts.yml is there.
  {
    auto rules = prom.rules();
    std::ifstream in(std::string(TROUPE_SOURCE_DIR) + "/monitoring/prometheus/alerts.yml");
    std::size_t alerts_in_file = 0;
    for (std::string line; std::getline(in, line);)
      if (line.find("- alert: ") != std::string::npos) ++alerts_in_file;
    BOOST_TEST(alerts_in_file >= 10u);
    BOOST_TEST(rules.size() == alerts_in_file);
    BOOST_TEST(rules.count("TroupeNoLeader") == 1u);
  }

  // Until the first scrape rounds are in and a leader is elected.
  BOOST_REQUIRE_MESSAGE(eventually([&] {
                          return prom.scalar("count(up{job=\"troupe\"} == 1)") == 3.0 &&
                                 prom.scalar("sum(troupe_raft_is_leader{job=\"troupe\"})") == 1.0;
                        }),
                        "prometheus never saw 3 targets up and one leader");

  // Three consecutive scrape rounds (the oldest of the targets' last scrapes moves on three times),
  // each with every target up and exactly one leader.
  double last_round = prom.scalar("min(timestamp(up{job=\"troupe\"}))");
  for (int round = 0; round < 3; ++round) {
    BOOST_REQUIRE_MESSAGE(eventually([&] {
                            auto t = prom.scalar("min(timestamp(up{job=\"troupe\"}))");
                            if (!(t > last_round)) return false;
                            last_round = t;
                            return true;
                          }),
                          "no new scrape round");
    BOOST_TEST(prom.scalar("count(up{job=\"troupe\"} == 1)") == 3.0);
    BOOST_TEST(prom.scalar("sum(troupe_raft_is_leader{job=\"troupe\"})") == 1.0);
    BOOST_TEST(prom.scalar("count(troupe_raft_has_leader{job=\"troupe\"} == 1)") == 3.0);
    BOOST_TEST(prom.scalar("count(count by (value) (troupe_raft_leader_id{job=\"troupe\"}))") == 1.0,
               "the nodes disagree about the leader");
  }

  // Every query of the Grafana dashboard is valid PromQL for this Prometheus, with the dashboard's
  // variables as Grafana would fill them in, and the panels about live Raft state show data.
  {
    pt::ptree dashboard;
    pt::read_json(std::string(TROUPE_SOURCE_DIR) + "/monitoring/grafana/troupe-cluster.json", dashboard);
    const std::set<std::string> must_show = {"Role per node", "Term per node", "Leader per node",
                                             "Commit index", "Connection state to peers",
                                             "Bytes sent to peers", "CPU", "Resident memory"};
    std::size_t queries = 0, shown = 0;
    for (auto& [_, panel] : dashboard.get_child("panels")) {
      const auto title = panel.get<std::string>("title");
      if (!panel.get_child_optional("targets")) continue;
      for (auto& [__, target] : panel.get_child("targets")) {
        auto expr = target.get<std::string>("expr");
        for (auto [from, to] : {std::pair<std::string, std::string>{"$job", "troupe"},
                                {"$instance", ".*"}, {"$group", ".*"}, {"$__rate_interval", "5s"}}) {
          for (auto at = expr.find(from); at != std::string::npos; at = expr.find(from, at))
            expr.replace(at, from.size(), to);
        }
        auto [error, samples] = prom.evaluate(expr);
        ++queries;
        BOOST_TEST(error.empty(), "panel '" << title << "': " << expr << ": " << error);
        if (must_show.count(title)) {
          BOOST_TEST(samples > 0u, "panel '" << title << "' shows nothing: " << expr);
          ++shown;
        }
      }
    }
    BOOST_TEST(queries >= 40u);
    BOOST_TEST(shown == must_show.size());  // one query each
  }

  // Which node leads, according to Prometheus.
  auto leaders = prom.query("troupe_raft_is_leader{job=\"troupe\"} == 1");
  BOOST_REQUIRE_EQUAL(leaders.size(), 1u);
  const auto old_instance = leaders.front().first.at("instance");
  int old_leader = -1;
  for (int i = 0; i < 3; ++i)
    if (cluster.metrics_address(i) == old_instance) old_leader = i;
  BOOST_REQUIRE_GE(old_leader, 0);
  BOOST_TEST_MESSAGE("leader: node " << old_leader + 1 << " at " << old_instance);

  cluster.kill(old_leader);
  const std::string old_sel = "instance=\"" + old_instance + "\"";
  BOOST_TEST(eventually([&] { return prom.scalar("up{job=\"troupe\"," + old_sel + "}") == 0.0; }),
             "prometheus never saw the killed leader's target down");
  std::string new_instance;
  BOOST_REQUIRE_MESSAGE(eventually([&] {
                          auto now = prom.query("troupe_raft_is_leader{job=\"troupe\"} == 1");
                          if (now.size() != 1 || now.front().first.at("instance") == old_instance)
                            return false;
                          new_instance = now.front().first.at("instance");
                          return true;
                        }),
                        "prometheus never saw a new leader");
  BOOST_TEST_MESSAGE("new leader at " << new_instance);
  // The survivors agree on the new leader, and no series of the dead node counts any more.
  BOOST_TEST(eventually([&] {
    return prom.scalar("sum(troupe_raft_is_leader{job=\"troupe\"})") == 1.0 &&
           prom.scalar("count(troupe_raft_has_leader{job=\"troupe\"} == 1)") == 2.0;
  }));
  BOOST_TEST(prom.scalar("count(up{job=\"troupe\"} == 1)") == 2.0);
}
