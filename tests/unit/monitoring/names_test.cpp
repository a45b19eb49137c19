// The metric names the alerting rules and the Grafana dashboard query exist: each is a row of
// docs/metrics.md (for a histogram's _bucket/_sum/_count, its family) or a standard series. The
// rows are held to the code (tests/unit/docs) and to live nodes (tests/cluster/node), so neither
// the rules nor the dashboard can drift from the code. Also: the dashboard is valid JSON that Grafana can import with
// any Prometheus data source.
#include <boost/test/unit_test.hpp>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/metrics_doc.hpp"

namespace pt = boost::property_tree;

namespace {

const std::string source_dir = TROUPE_SOURCE_DIR;

/// Series every Prometheus has whatever it scrapes.
const std::set<std::string> standard = {"up", "scrape_duration_seconds", "scrape_samples_scraped"};


std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The metric names in a PromQL expression: identifiers with our prefixes, and `up`-like standard
/// series used as selectors (`name{` or `name)` / end).
std::set<std::string> metric_names(const std::string& expr) {
  std::set<std::string> names;
  const std::regex ident(R"(\b((troupe|process)_[a-z0-9_]+|up|scrape_[a-z_]+)\b)");
  for (std::sregex_iterator it(expr.begin(), expr.end(), ident), end; it != end; ++it)
    names.insert((*it)[1]);
  return names;
}

/// The type of `name` as documented, following a histogram's series to its family; empty
/// if unknown.
std::string type_of(const std::string& name,
                    const std::map<std::string, troupe::test::metric_row>& doc) {
  auto lookup = [&](const std::string& n) -> std::string {
    if (auto it = doc.find(n); it != doc.end()) return it->second.type;
    return {};
  };
  if (auto t = lookup(name); !t.empty()) return t;
  for (std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      auto family = name.substr(0, name.size() - suffix.size());
      if (lookup(family) == "histogram") return "histogram series";
    }
  }
  return {};
}

void check_names(const std::string& where, const std::vector<std::string>& exprs) {
  const auto doc = troupe::test::read_metrics_doc(source_dir + "/docs/metrics.md");
  for (auto& expr : exprs) {
    for (auto& name : metric_names(expr)) {
      if (standard.count(name)) continue;
      BOOST_TEST(!type_of(name, doc).empty(),
                 where << " queries " << name << ", which docs/metrics.md does not document: " << expr);
      // Histogram families are queried only through their series.
      BOOST_TEST(type_of(name, doc) != "histogram",
                 where << " queries the histogram " << name << " without _bucket/_sum/_count");
    }
  }
}

/// Every value stored under `key` anywhere in the tree.
void collect(const pt::ptree& tree, const std::string& key, std::vector<std::string>& out) {
  for (auto& [k, child] : tree) {
    if (k == key && child.empty()) out.push_back(child.data());
    collect(child, key, out);
  }
}

pt::ptree read_dashboard() {
  pt::ptree tree;
  pt::read_json(source_dir + "/monitoring/grafana/troupe-cluster.json", tree);
  return tree;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_metric_the_alerting_rules_query_is_documented) {
  const auto rules = read_text(source_dir + "/monitoring/prometheus/alerts.yml");
  std::vector<std::string> exprs;
  // `expr: ...` on one line, or `expr: |` followed by indented lines.
  std::istringstream in(rules);
  std::string line;
  bool block = false;
  while (std::getline(in, line)) {
    auto at = line.find("expr:");
    if (at != std::string::npos) {
      auto rest = line.substr(at + 5);
      block = rest.find('|') != std::string::npos;
      if (!block) exprs.push_back(rest);
    } else if (block && line.starts_with("          ")) {
      exprs.push_back(line);
    } else {
      block = false;
    }
  }
  BOOST_REQUIRE_GE(exprs.size(), 10u);
  check_names("alerts.yml", exprs);
}

BOOST_AUTO_TEST_CASE(every_metric_the_dashboard_queries_is_documented) {
  const auto dash = read_dashboard();
  std::vector<std::string> exprs;
  collect(dash, "expr", exprs);
  collect(dash.get_child("templating"), "definition", exprs);
  BOOST_REQUIRE_GE(exprs.size(), 30u);
  check_names("troupe-cluster.json", exprs);
}

BOOST_AUTO_TEST_CASE(the_dashboard_shows_what_the_issue_asks_for) {
  const auto dash = read_dashboard();
  std::vector<std::string> exprs;
  collect(dash, "expr", exprs);
  std::set<std::string> queried;
  for (auto& e : exprs)
    for (auto& n : metric_names(e)) queried.insert(n);
  for (std::string needed :
       {"troupe_raft_leader_id", "troupe_raft_term", "troupe_raft_leader_changes_total",
        "troupe_raft_proposals_committed_total", "troupe_raft_proposals_failed_total",
        "troupe_raft_commit_index", "troupe_raft_applied_index",
        "troupe_raft_fsync_duration_seconds_bucket", "troupe_raft_append_duration_seconds_bucket",
        "troupe_raft_peer_round_trip_seconds_bucket", "troupe_transport_sent_bytes_total",
        "troupe_checkpoint_duration_seconds_bucket", "troupe_checkpoint_written_bytes_total",
        "process_cpu_seconds_total", "process_resident_memory_bytes"}) {
    BOOST_TEST(queried.count(needed) == 1, "the dashboard has no panel querying " << needed);
  }
}

BOOST_AUTO_TEST_CASE(the_dashboard_is_importable_with_any_prometheus_data_source) {
  const auto dash = read_dashboard();
  BOOST_TEST(!dash.get<std::string>("title").empty());
  BOOST_TEST(!dash.get<std::string>("uid").empty());
  // A data source variable, and every panel and query using it rather than a fixed uid.
  bool has_variable = false;
  for (auto& [_, v] : dash.get_child("templating.list")) {
    if (v.get<std::string>("type") == "datasource" && v.get<std::string>("name") == "datasource" &&
        v.get<std::string>("query") == "prometheus")
      has_variable = true;
  }
  BOOST_TEST(has_variable, "no data source variable named 'datasource'");
  std::vector<std::string> uids;
  collect(dash, "uid", uids);
  for (auto& uid : uids) {
    if (uid == dash.get<std::string>("uid") || uid == "-- Grafana --") continue;
    BOOST_TEST(uid == "${datasource}", "a fixed data source uid: " << uid);
  }
  // Panel ids are unique (Grafana relies on it for links and edits).
  std::set<int> ids;
  std::size_t panels = 0;
  for (auto& [_, p] : dash.get_child("panels")) {
    ++panels;
    BOOST_TEST(ids.insert(p.get<int>("id")).second, "duplicate panel id " << p.get<int>("id"));
  }
  BOOST_TEST(panels >= 20u);
}
