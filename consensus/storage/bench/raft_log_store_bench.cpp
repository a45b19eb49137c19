// raft_log_store_bench DIR [SYNCS_PER_LEVEL] [ENTRY_BYTES] [PRELOAD]: the cost of the SQLite Raft log
// store per durable entry, one sync() (one transaction, one fsync) per batch as the raft shell does
// per ready. Not a test: prints one line per level. See README.md.
//
// Levels: batches of 1, 8, 32 and 128 entries, each without and with compaction running. Each level
// starts from a fresh file preloaded with PRELOAD entries (default 100,000, as many as a node holds
// between two snapshots at its default --snapshot-entries), closed and reopened (so the preload's
// WAL is checkpointed and the measurement starts from a file, not a WAL), then runs SYNCS_PER_LEVEL
// syncs (default 1,000). With compaction, the log is compacted every quarter of the level's entries
// to keep PRELOAD entries, as the driver's snapshots do; the store deletes the prefix a slice per
// sync, so each entry is deleted once: amortized, the level pays one row deletion per entry.
//
// Reported per entry: CPU (user + system, getrusage of the whole process, so the background
// checkpointer thread counts; its own share in clock ticks from /proc/self/task), and read/write
// system calls (/proc/self/io syscr/syscw: SQLite does pread64/pwrite64 only) and bytes
// (rchar/wchar); fsyncs are one per sync plus the checkpoints' (count them with perf stat -e
// syscalls:sys_enter_fdatasync). Per sync: wall-clock latency p50/p99/max (the checkpoint the
// committing thread runs once per checkpoint_restart_wal_pages shows in the tail).
// Environment: BENCH_BATCHES=8 runs one batch size, BENCH_COMPACTION=on|off one of the two,
// BENCH_PRUNE=N sets prune_entries_per_sync (rows of the compacted prefix deleted per sync).
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "consensus/storage/sqlite_log_storage.hpp"

using namespace troupe;
using namespace troupe::raft;

namespace {

struct sample {
  double user_s = 0;
  double system_s = 0;
  std::uint64_t syscr = 0, syscw = 0, rchar = 0, wchar = 0;
  double other_threads_s = 0;  ///< CPU of threads other than main (the background checkpointer)
  std::chrono::steady_clock::time_point at;
};

sample take_sample() {
  sample s;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.user_s = static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) * 1e-6;
  s.system_s = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) * 1e-6;
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "syscr:") s.syscr = value;
    if (key == "syscw:") s.syscw = value;
    if (key == "rchar:") s.rchar = value;
    if (key == "wchar:") s.wchar = value;
  }
  const long ticks = sysconf(_SC_CLK_TCK);
  const std::string main_tid = std::to_string(getpid());
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    if (task.path().filename() == main_tid) continue;
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');  // fields after "(comm)": state is field 3, utime 14, stime 15
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    s.other_threads_s += (utime + stime) / static_cast<double>(ticks);
  }
  s.at = std::chrono::steady_clock::now();
  return s;
}

bool check(const status& s, const char* what) {
  if (s) return true;
  std::fprintf(stderr, "%s: %s\n", what, s.err().message.c_str());
  return false;
}

/// Appends `count` entries from last_index() + 1 in batches of `batch`, one sync per batch.
/// Every `compact_every` entries (0: never) the log is compacted to keep `keep` entries.
bool write(sqlite_log_storage& store, const std::string& payload, std::size_t batch, std::size_t syncs,
           std::size_t compact_every, std::size_t keep, std::vector<double>* sync_ms = nullptr) {
  std::vector<log_entry> entries(batch);
  index_t next = store.last_index() + 1;
  std::size_t since_compaction = 0;
  for (std::size_t n = 0; n < syncs; ++n) {
    for (auto& e : entries) e = log_entry{1, next++, entry_type::normal, payload};
    if (!check(store.append(entries), "append")) return false;
    // As on a node: the commit index moves with every batch, so the hard state is written too.
    if (!check(store.set_hard_state(hard_state{1, 1, next - 1}), "set_hard_state")) return false;
    since_compaction += batch;
    if (compact_every != 0 && since_compaction >= compact_every && store.last_index() > keep) {
      since_compaction = 0;
      const snapshot_metadata meta{store.last_index() - keep, 1, {}};
      if (!check(store.apply_snapshot(meta), "apply_snapshot")) return false;
    }
    const auto started = std::chrono::steady_clock::now();
    if (!check(store.sync(), "sync")) return false;
    if (sync_ms != nullptr) {
      sync_ms->push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    }
  }
  return true;
}

/// The store's options, with BENCH_PRUNE if set.
sqlite_log_storage_options options() {
  sqlite_log_storage_options o;
  if (const char* prune = std::getenv("BENCH_PRUNE"); prune != nullptr) {
    o.prune_entries_per_sync = std::max<std::size_t>(std::strtoull(prune, nullptr, 10), 1);
  }
  return o;
}

int run_level(const std::string& dir, std::size_t batch, bool compaction, std::size_t syncs,
              std::size_t entry_bytes, std::size_t preload) {
  const std::string path = dir + "/bench-" + std::to_string(batch) + (compaction ? "-c" : "") + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  const std::string payload(entry_bytes, 'x');
  {
    auto store = sqlite_log_storage::open(path, options());
    if (!check(store ? status{} : status{store.err()}, "open")) return 1;
    if (!write(**store, payload, 1024, (preload + 1023) / 1024, 0, 0)) return 1;
  }  // closing checkpoints the preload and removes the WAL
  auto store = sqlite_log_storage::open(path, options());
  if (!check(store ? status{} : status{store.err()}, "reopen")) return 1;
  const std::size_t compact_every = compaction ? std::max<std::size_t>(batch * syncs / 4, 1) : 0;
  const sample before = take_sample();
  std::vector<double> sync_ms;
  sync_ms.reserve(syncs);
  if (!write(**store, payload, batch, syncs, compact_every, preload, &sync_ms)) return 1;
  const sample after = take_sample();
  std::sort(sync_ms.begin(), sync_ms.end());
  const auto pct = [&](double p) { return sync_ms[std::min(sync_ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sync_ms.size())))]; };
  const double entries = static_cast<double>(batch * syncs);
  const double elapsed = std::chrono::duration<double>(after.at - before.at).count();
  const double user = after.user_s - before.user_s;
  const double sys = after.system_s - before.system_s;
  std::printf(
      "raft_log_store batch=%zu compaction=%s entry_bytes=%zu entries=%.0f entries_s=%.0f syncs_s=%.0f "
      "cpu_us_per_entry=%.2f user_us=%.2f sys_us=%.2f checkpointer_us=%.2f cpu_us_per_sync=%.1f "
      "preads_per_entry=%.3f pwrites_per_entry=%.3f read_bytes_per_entry=%.0f write_bytes_per_entry=%.0f "
      "sync_ms_p50=%.2f sync_ms_p99=%.2f sync_ms_p999=%.2f sync_ms_max=%.2f prune_per_sync=%zu\n",
      batch, compaction ? "on" : "off", entry_bytes, entries, entries / elapsed,
      static_cast<double>(syncs) / elapsed, (user + sys) * 1e6 / entries, user * 1e6 / entries,
      sys * 1e6 / entries, (after.other_threads_s - before.other_threads_s) * 1e6 / entries,
      (user + sys) * 1e6 / static_cast<double>(syncs),
      static_cast<double>(after.syscr - before.syscr) / entries,
      static_cast<double>(after.syscw - before.syscw) / entries,
      static_cast<double>(after.rchar - before.rchar) / entries,
      static_cast<double>(after.wchar - before.wchar) / entries, pct(0.5), pct(0.99), pct(0.999), sync_ms.back(),
      options().prune_entries_per_sync);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [SYNCS_PER_LEVEL=1000] [ENTRY_BYTES=300] [PRELOAD=100000]\n", argv[0]);
    return 2;
  }
  const std::size_t syncs = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
  const std::size_t entry_bytes = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 300;
  const std::size_t preload = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 100'000;
  const char* only = std::getenv("BENCH_BATCHES");              // e.g. "8": one batch size
  const char* compaction_only = std::getenv("BENCH_COMPACTION");  // "on" or "off": one of the two
  for (const std::size_t batch : {std::size_t{1}, std::size_t{8}, std::size_t{32}, std::size_t{128}}) {
    if (only != nullptr && std::to_string(batch) != only) continue;
    for (const bool compaction : {false, true}) {
      if (compaction_only != nullptr && std::string(compaction_only) != (compaction ? "on" : "off")) continue;
      if (int rc = run_level(argv[1], batch, compaction, syncs, entry_bytes, preload); rc != 0) return rc;
    }
  }
  return 0;
}
