#pragma once
/// The standard `process_*` metrics, read from /proc/self at each scrape, under the names the Go
/// and Python Prometheus clients use, so stock dashboards and alerts work unchanged. prometheus-cpp
/// has no collector of its own for these (DESIGN.md 7). Linux only.

#include <cstdint>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "runtime/base/result.hpp"

namespace troupe::metrics {

/// One reading of the process's resource use, in base units.
struct process_sample {
  double cpu_seconds = 0;            ///< user + system CPU time
  double resident_memory_bytes = 0;  ///< RSS
  double virtual_memory_bytes = 0;   ///< VSZ
  double open_fds = 0;               ///< entries of /proc/self/fd
  double max_fds = 0;                ///< soft RLIMIT_NOFILE
  double start_time_seconds = 0;     ///< since the Unix epoch
};

/// The fields of /proc/<pid>/stat that the collector uses, still in kernel units.
struct proc_stat_fields {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t start_time_ticks = 0;  ///< since boot
  std::uint64_t vsize_bytes = 0;
  std::uint64_t rss_pages = 0;
};

/// Parses the text of /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses,
/// so fields are counted from the last ')'. Errors (malformed) name the missing or bad field.
result<proc_stat_fields> parse_proc_pid_stat(std::string_view text);

/// Extracts the boot time (`btime`, seconds since the epoch) from the text of /proc/stat.
result<std::uint64_t> parse_boot_time(std::string_view proc_stat_text);

/// Reads every value of `process_sample` for the calling process. Errors (io, malformed) name the
/// file.
result<process_sample> read_process_sample();

/// A prometheus::Collectable producing the six `process_*` families from `read_process_sample()`.
/// Register it with the metrics endpoint next to the node's registry. Thread-safe: Collect() holds
/// no state besides constants. If /proc cannot be read, Collect() returns no families rather than
/// failing the scrape; the other collectables are still served.
class process_collector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

/// Turns a sample into the six families (exposed for tests).
std::vector<prometheus::MetricFamily> to_metric_families(const process_sample& sample);

}  // namespace troupe::metrics
