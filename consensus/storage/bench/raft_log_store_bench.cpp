// raft_log_store_bench DIR [SECONDS_PER_LEVEL]: durable entries/s of the SQLite Raft log store for
// batches of 1, 16 and 256 entries of 256 bytes, one sync() (one transaction, one fsync) per batch,
// as the raft shell does per ready. Not a test: prints one line per batch size. See README.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "consensus/storage/sqlite_log_storage.hpp"

using namespace troupe;
using namespace troupe::raft;

namespace {

int run_level(const std::string& dir, std::size_t batch, double seconds) {
  const std::string path = dir + "/bench-" + std::to_string(batch) + ".db";
  std::remove(path.c_str());
  auto store = sqlite_log_storage::open(path);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.err().message.c_str());
    return 1;
  }
  const std::string payload(256, 'x');
  std::vector<log_entry> entries(batch);
  index_t next = 1;
  std::uint64_t syncs = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  auto now = start;
  while (now < until) {
    for (auto& e : entries) e = log_entry{1, next++, entry_type::normal, payload};
    if (auto s = (*store)->append(entries); !s) {
      std::fprintf(stderr, "append: %s\n", s.err().message.c_str());
      return 1;
    }
    if (auto s = (*store)->sync(); !s) {
      std::fprintf(stderr, "sync: %s\n", s.err().message.c_str());
      return 1;
    }
    ++syncs;
    now = std::chrono::steady_clock::now();
  }
  const double elapsed = std::chrono::duration<double>(now - start).count();
  std::printf("raft_log_store batch=%zu entry_bytes=256 syncs=%llu entries_s=%.0f syncs_s=%.0f\n",
              batch, static_cast<unsigned long long>(syncs),
              static_cast<double>(syncs * batch) / elapsed, static_cast<double>(syncs) / elapsed);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [SECONDS_PER_LEVEL]\n", argv[0]);
    return 2;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  for (const std::size_t batch : {std::size_t{1}, std::size_t{16}, std::size_t{256}}) {
    if (int rc = run_level(argv[1], batch, seconds); rc != 0) return rc;
  }
  return 0;
}
