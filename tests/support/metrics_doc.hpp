#pragma once
/// Test support: the table of docs/metrics.md and the families of a Prometheus text scrape, so
/// tests can hold the documentation, the code and live nodes to one another.

#include <map>
#include <set>
#include <string>

namespace troupe::test {

struct metric_row {
  std::string type;             ///< counter, gauge, histogram
  std::set<std::string> labels;  ///< label names
  std::string meaning;
};

/// Rows of the table in docs/metrics.md, by metric name. Throws std::runtime_error if the file
/// cannot be read or a row is malformed.
std::map<std::string, metric_row> read_metrics_doc(const std::string& path);

/// Families of a scrape: TYPE lines give the type; label names are collected from the samples
/// (for histograms, without `le`).
std::map<std::string, metric_row> parse_scrape(const std::string& text);

}  // namespace troupe::test
