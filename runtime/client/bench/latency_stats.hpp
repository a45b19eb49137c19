#pragma once
/// Latency summary of one benchmark level: mean and percentiles of per-request latencies, the way
/// the etcd anchor's load generator reports them (nearest-rank percentiles). Pure.

#include <cstdint>
#include <vector>

namespace troupe::client::bench {

struct latency_summary {
  std::size_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

/// Summarises latencies given in microseconds (sorts `micros`). Empty input gives all zeros.
latency_summary summarize(std::vector<std::uint32_t>& micros);

/// The nearest-rank percentile `p` (0 < p <= 100) of sorted values: the smallest value with at
/// least p% of the values at or below it.
std::uint32_t percentile_of_sorted(const std::vector<std::uint32_t>& sorted, double p);

}  // namespace troupe::client::bench
