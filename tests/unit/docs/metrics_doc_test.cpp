// docs/metrics.md against the code: every metric name the sources register has a row, and every
// row names a metric the sources register. (tests/cluster/node checks types and labels against
// live nodes.)
#define BOOST_TEST_MODULE metrics_doc
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/metrics_doc.hpp"

namespace fs = std::filesystem;

namespace {

/// Metric names in string literals of the sources that talk to Prometheus.
std::set<std::string> names_in_code() {
  std::set<std::string> names;
  const std::regex literal("\"((troupe|process)_[a-z0-9_]+)\"");
  for (auto top : {"runtime", "consensus", "snapshot", "actors", "examples", "cli"}) {
    auto dir = fs::path(TROUPE_SOURCE_DIR) / top;
    if (!fs::exists(dir)) continue;
    for (auto& f : fs::recursive_directory_iterator(dir)) {
      if (!f.is_regular_file() || f.path().extension() != ".cpp") continue;
      std::ifstream in(f.path());
      std::stringstream text;
      text << in.rdbuf();
      const auto s = text.str();
      if (s.find("prometheus") == std::string::npos) continue;
      for (std::sregex_iterator it(s.begin(), s.end(), literal), end; it != end; ++it) {
        names.insert((*it)[1]);
      }
    }
  }
  return names;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_metric_in_the_code_is_documented_and_every_documented_metric_exists) {
  auto doc = troupe::test::read_metrics_doc(std::string(TROUPE_SOURCE_DIR) + "/docs/metrics.md");
  BOOST_REQUIRE_GT(doc.size(), 10u);
  auto code = names_in_code();
  BOOST_REQUIRE_GT(code.size(), 10u);
  for (auto& name : code) {
    BOOST_CHECK_MESSAGE(doc.count(name) == 1, name << " is registered in the code but has no row in docs/metrics.md");
  }
  for (auto& [name, row] : doc) {
    BOOST_CHECK_MESSAGE(code.count(name) == 1, name << " is documented but no source registers it");
    BOOST_CHECK_MESSAGE(row.type == "counter" || row.type == "gauge" || row.type == "histogram",
                        name << ": unknown type " << row.type);
    BOOST_CHECK_MESSAGE((row.type == "counter") == name.ends_with("_total"),
                        name << ": `_total` is for counters only, and every counter ends in it");
    BOOST_CHECK_MESSAGE(!row.meaning.empty(), name << ": no meaning given");
  }
}
