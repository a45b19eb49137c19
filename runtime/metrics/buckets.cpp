#include "runtime/metrics/buckets.hpp"

#include <cmath>
#include <string>

namespace troupe::metrics {

result<bucket_bounds> exponential_buckets(double start, double factor, std::size_t count) {
  if (!(start > 0.0) || !std::isfinite(start)) {
    return make_error(errc::invalid_argument,
                      "exponential_buckets: start must be > 0, got " + std::to_string(start));
  }
  if (!(factor > 1.0) || !std::isfinite(factor)) {
    return make_error(errc::invalid_argument,
                      "exponential_buckets: factor must be > 1, got " + std::to_string(factor));
  }
  // A limit on everything: more buckets than this is a mistake, and each costs a series per label
  // set.
  if (count < 1 || count > 64) {
    return make_error(errc::invalid_argument,
                      "exponential_buckets: count must be in 1..64, got " + std::to_string(count));
  }
  bucket_bounds bounds;
  bounds.reserve(count);
  double bound = start;
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(bound)) {
      return make_error(errc::invalid_argument, "exponential_buckets: bounds overflow");
    }
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

const bucket_bounds& latency_buckets_seconds() {
  static const bucket_bounds bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
  return bounds;
}

}  // namespace troupe::metrics
