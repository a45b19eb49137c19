// monitoring/prometheus/alerts.yml: promtool accepts it, its unit tests (alerts_test.yml) pass and
// can fail, and every alert has a runbook entry in docs/operations.md.
#define BOOST_TEST_MODULE monitoring
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
namespace support = troupe::test;

namespace {

const std::string rules_dir = std::string(TROUPE_SOURCE_DIR) + "/monitoring/prometheus";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct run_result {
  int exit_code = -1;
  std::string output;
};

/// Runs promtool with `args` in `dir` and waits for it (the deadline only catches hangs).
run_result promtool(const std::string& dir, const std::string& args) {
  const auto tool = support::find_tool("promtool");
  BOOST_REQUIRE_MESSAGE(!tool.empty(), "promtool not found in " TROUPE_BINARY_DIR
                                       "/tools nor on PATH: run scripts/install-deps.sh build");
  support::child_process p({"/bin/sh", "-c", "cd \"$0\" && exec \"$1\" " + args, dir, tool});
  auto status = p.wait_exit(60s);
  BOOST_REQUIRE_MESSAGE(status.has_value(), "promtool did not finish: " << p.transcript());
  return {WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, p.transcript()};
}

std::set<std::string> alert_names(const std::string& rules) {
  std::set<std::string> names;
  const std::regex alert(R"(-\s+alert:\s*(\w+))");
  for (std::sregex_iterator it(rules.begin(), rules.end(), alert), end; it != end; ++it)
    names.insert((*it)[1]);
  return names;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(promtool_accepts_the_alerting_rules) {
  auto r = promtool(rules_dir, "check rules alerts.yml");
  BOOST_TEST_MESSAGE(r.output);
  BOOST_TEST(r.exit_code == 0, "promtool check rules: " << r.output);
  BOOST_TEST(r.output.find("SUCCESS") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(the_main_alerts_fire_on_synthetic_series_and_stay_quiet_otherwise) {
  auto r = promtool(rules_dir, "test rules alerts_test.yml");
  BOOST_TEST_MESSAGE(r.output);
  BOOST_TEST(r.exit_code == 0, "promtool test rules: " << r.output);
  // Every alert of alerts.yml is exercised by at least one test case.
  const auto tests = read_text(rules_dir + "/alerts_test.yml");
  for (auto& name : alert_names(read_text(rules_dir + "/alerts.yml"))) {
    BOOST_TEST(tests.find("alertname: " + name) != std::string::npos,
               name << " has no test in alerts_test.yml");
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_expectation_makes_promtool_test_rules_fail) {
  // Guards against a test file that passes whatever the rules do: a healthy leader must not raise
  // TroupeNoLeader, so expecting it must fail.
  support::temp_dir dir("troupe-rules");
  fs::copy_file(rules_dir + "/alerts.yml", dir.file("alerts.yml"));
  support::write_file(dir.file("wrong_test.yml"), R"(rule_files: [alerts.yml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'troupe_raft_has_leader{job="troupe",instance="n1",group="1"}'
        values: '1x20'
    alert_rule_test:
      - eval_time: 4m
        alertname: TroupeNoLeader
        exp_alerts:
          - exp_labels: {severity: critical, job: troupe, instance: n1, group: "1"}
)");
  auto r = promtool(dir.path(), "test rules wrong_test.yml");
  BOOST_TEST(r.exit_code != 0, "promtool accepted a wrong expectation: " << r.output);
  BOOST_TEST(r.output.find("TroupeNoLeader") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(every_alert_has_a_runbook_entry_and_links_to_it) {
  const auto rules = read_text(rules_dir + "/alerts.yml");
  const auto runbook = read_text(std::string(TROUPE_SOURCE_DIR) + "/docs/operations.md");
  const auto names = alert_names(rules);
  BOOST_REQUIRE_GE(names.size(), 10u);
  for (auto& name : names) {
    BOOST_TEST(runbook.find("\n### " + name + "\n") != std::string::npos,
               name << " has no '### " << name << "' entry in docs/operations.md");
    BOOST_TEST(rules.find("runbook_url: \"docs/operations.md#" + lower(name) + "\"") != std::string::npos,
               name << " does not link to its runbook entry");
    // What it means, what to check, what to do.
    auto at = runbook.find("\n### " + name + "\n");
    if (at == std::string::npos) continue;
    auto next = runbook.find("\n### ", at + 1);
    auto entry = runbook.substr(at, next == std::string::npos ? std::string::npos : next - at);
    for (auto part : {"**Means.**", "**Check.**", "**Do.**"})
      BOOST_TEST(entry.find(part) != std::string::npos, name << ": runbook entry lacks " << part);
  }
}
