#include "tests/support/metrics_doc.hpp"

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace troupe::test {

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

}  // namespace

std::map<std::string, metric_row> read_metrics_doc(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::map<std::string, metric_row> rows;
  const std::regex row("^\\| `([a-z0-9_]+)` \\|([^|]*)\\|([^|]*)\\|(.*)\\|$");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    metric_row r;
    r.type = trim(m[2]);
    std::stringstream labels(m[3].str());
    for (std::string l; std::getline(labels, l, ',');) {
      if (!trim(l).empty()) r.labels.insert(trim(l));
    }
    r.meaning = trim(m[4]);
    if (!rows.emplace(m[1], r).second) throw std::runtime_error(path + ": two rows for " + m[1].str());
  }
  return rows;
}

std::map<std::string, metric_row> parse_scrape(const std::string& text) {
  std::map<std::string, metric_row> families;
  const std::regex type_line("^# TYPE ([a-zA-Z0-9_:]+) ([a-z]+)$");
  const std::regex sample("^([a-zA-Z0-9_:]+)(\\{([^}]*)\\})? .*$");
  const std::regex label("([a-zA-Z0-9_]+)=\"");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type_line)) {
      families[m[1]].type = m[2];
      continue;
    }
    if (line.empty() || line[0] == '#' || !std::regex_match(line, m, sample)) continue;
    std::string name = m[1];
    for (auto suffix : {"_bucket", "_sum", "_count"}) {
      auto base = name.size() > std::string(suffix).size()
                      ? name.substr(0, name.size() - std::string(suffix).size())
                      : std::string{};
      if (name.ends_with(suffix) && families.count(base) && families[base].type == "histogram") {
        name = base;
      }
    }
    const std::string labels = m[3];
    for (std::sregex_iterator it(labels.begin(), labels.end(), label), end; it != end; ++it) {
      if ((*it)[1] != "le") families[name].labels.insert((*it)[1]);
    }
  }
  return families;
}

}  // namespace troupe::test
