#include "runtime/metrics/process_collector.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace troupe::metrics {
namespace {

result<std::string> read_text_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::io, std::string("cannot read ") + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Splits on single spaces, as the kernel writes /proc/<pid>/stat.
std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n')) ++pos;
    std::size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n') ++end;
    if (end > pos) fields.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return fields;
}

bool to_u64(std::string_view text, std::uint64_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size();
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

result<proc_stat_fields> parse_proc_pid_stat(std::string_view text) {
  auto close = text.rfind(')');
  if (close == std::string_view::npos) {
    return make_error(errc::malformed, "/proc/self/stat: no ')' after the command name");
  }
  // After "pid (comm)" the fields are numbered from 3 (state); we need 14, 15, 22, 23, 24.
  auto fields = split_fields(text.substr(close + 1));
  auto field = [&](std::size_t number, std::uint64_t& out) -> status {
    std::size_t index = number - 3;
    if (index >= fields.size() || !to_u64(fields[index], out)) {
      return make_error(errc::malformed, "/proc/self/stat: field " + std::to_string(number) +
                                             " missing or not a number");
    }
    return {};
  };
  proc_stat_fields out;
  for (auto [number, target] : {std::pair{14u, &out.utime_ticks},
                                {15u, &out.stime_ticks},
                                {22u, &out.start_time_ticks},
                                {23u, &out.vsize_bytes},
                                {24u, &out.rss_pages}}) {
    if (auto s = field(number, *target); !s) return s.err();
  }
  return out;
}

result<std::uint64_t> parse_boot_time(std::string_view proc_stat_text) {
  std::size_t pos = 0;
  while (pos < proc_stat_text.size()) {
    auto end = proc_stat_text.find('\n', pos);
    if (end == std::string_view::npos) end = proc_stat_text.size();
    auto line = proc_stat_text.substr(pos, end - pos);
    if (line.starts_with("btime ")) {
      std::uint64_t value = 0;
      if (!to_u64(line.substr(6), value)) {
        return make_error(errc::malformed, "/proc/stat: btime is not a number");
      }
      return value;
    }
    pos = end + 1;
  }
  return make_error(errc::malformed, "/proc/stat: no btime line");
}

result<process_sample> read_process_sample() {
  // The boot time never changes while we run; read it once.
  static const result<std::uint64_t> boot_time = []() -> result<std::uint64_t> {
    auto text = read_text_file("/proc/stat");
    if (!text) return text.err();
    return parse_boot_time(*text);
  }();
  if (!boot_time) return boot_time.err();

  auto stat_text = read_text_file("/proc/self/stat");
  if (!stat_text) return stat_text.err();
  auto stat = parse_proc_pid_stat(*stat_text);
  if (!stat) return stat.err();

  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (ticks_per_second <= 0 || page_size <= 0) {
    return make_error(errc::io, "sysconf: no clock tick rate or page size");
  }
  const auto ticks = static_cast<double>(ticks_per_second);

  process_sample s;
  s.cpu_seconds = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks;
  s.resident_memory_bytes = static_cast<double>(stat->rss_pages) * static_cast<double>(page_size);
  s.virtual_memory_bytes = static_cast<double>(stat->vsize_bytes);
  s.start_time_seconds =
      static_cast<double>(*boot_time) + static_cast<double>(stat->start_time_ticks) / ticks;

  std::error_code ec;
  std::size_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++fds;
  }
  if (ec) return make_error(errc::io, "cannot list /proc/self/fd: " + ec.message());
  // The iterator's own descriptor is counted too; the Go client counts it as well.
  s.open_fds = static_cast<double>(fds);

  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return make_error(errc::io, "getrlimit(RLIMIT_NOFILE) failed");
  }
  s.max_fds = static_cast<double>(limit.rlim_cur);
  return s;
}

std::vector<prometheus::MetricFamily> to_metric_families(const process_sample& sample) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  out.push_back(family("process_cpu_seconds_total",
                       "Total user and system CPU time spent in seconds.", MetricType::Counter,
                       sample.cpu_seconds));
  out.push_back(family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                       sample.open_fds));
  out.push_back(family("process_max_fds", "Maximum number of open file descriptors.",
                       MetricType::Gauge, sample.max_fds));
  out.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                       MetricType::Gauge, sample.virtual_memory_bytes));
  out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                       MetricType::Gauge, sample.resident_memory_bytes));
  out.push_back(family("process_start_time_seconds",
                       "Start time of the process since unix epoch in seconds.", MetricType::Gauge,
                       sample.start_time_seconds));
  return out;
}

std::vector<prometheus::MetricFamily> process_collector::Collect() const {
  auto sample = read_process_sample();
  if (!sample) return {};
  return to_metric_families(*sample);
}

}  // namespace troupe::metrics
