#pragma once
/// Histogram bucket boundaries. Durations are in seconds (Prometheus base unit), so a histogram
/// named `troupe_storage_fsync_duration_seconds` uses `latency_buckets_seconds()`.

#include <cstddef>
#include <vector>

#include "runtime/base/result.hpp"

namespace troupe::metrics {

/// Upper bounds of a histogram's buckets, strictly increasing; the +Inf bucket is implicit.
using bucket_bounds = std::vector<double>;

/// `count` bounds `start`, `start * factor`, `start * factor^2`, ...
/// Errors (invalid_argument) unless start > 0, factor > 1 and 1 <= count <= 64.
result<bucket_bounds> exponential_buckets(double start, double factor, std::size_t count);

/// 100 µs to 10 s in a 1-2.5-5 series (16 bounds): fits fsync, commit and round-trip latencies,
/// from a fast NVMe fsync to a stalled disk, with readable `le` labels ("0.0025", not "0.00256").
const bucket_bounds& latency_buckets_seconds();

}  // namespace troupe::metrics
