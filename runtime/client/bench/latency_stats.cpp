#include "runtime/client/bench/latency_stats.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace troupe::client::bench {

std::uint32_t percentile_of_sorted(const std::vector<std::uint32_t>& sorted, double p) {
  assert(!sorted.empty() && p > 0 && p <= 100);
  // The epsilon keeps 99.9% of 1000 at rank 999 despite binary floating point (0.999 * 1000 > 999).
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

latency_summary summarize(std::vector<std::uint32_t>& micros) {
  latency_summary s;
  if (micros.empty()) return s;
  std::sort(micros.begin(), micros.end());
  double sum = 0;
  for (auto v : micros) sum += v;
  s.count = micros.size();
  s.mean_ms = sum / static_cast<double>(micros.size()) / 1000.0;
  s.p50_ms = percentile_of_sorted(micros, 50) / 1000.0;
  s.p99_ms = percentile_of_sorted(micros, 99) / 1000.0;
  s.p999_ms = percentile_of_sorted(micros, 99.9) / 1000.0;
  s.max_ms = micros.back() / 1000.0;
  return s;
}

}  // namespace troupe::client::bench
