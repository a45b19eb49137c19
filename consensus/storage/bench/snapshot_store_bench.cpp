// snapshot_store_bench DIR [MEGABYTES] [CHUNK_KIB] [SAVES] [PAGE_KIB]
//
// Two measurements of the SQLite snapshot store (not a test; README.md has the figures):
// 1. One image of MEGABYTES (default 64) received in chunks of CHUNK_KIB (default 1024), each chunk
//    its own durable transaction as an InstallSnapshot receiver writes it (synchronous=FULL), then
//    finalize; then the leader's side: read_of by chunks, and read_all (with the whole-image CRC
//    check) as a restart does. MB/s per phase.
// 2. Log compaction in steady state: SAVES (default 5) save() calls of the same-size image (a few
//    bytes changed each time) on a fresh file that already holds one snapshot, so every save also
//    deletes the previous one, as a node's saver thread does every 100,000 entries. Reported per
//    save: CPU seconds of the whole process (getrusage: the background WAL checkpointer's thread
//    included; the store is closed before the last reading so that the checkpoints the saves
//    caused are counted), read/write system calls (/proc/self/io), and the file sizes.
// PAGE_KIB (default 0: the store's default) sets the page size of the files it creates.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "consensus/storage/sqlite_snapshot_store.hpp"
#include "runtime/base/crc32c.hpp"

using namespace troupe;
using namespace troupe::raft;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int fail(const char* what, const error& e) {
  std::fprintf(stderr, "%s: %s\n", what, e.message.c_str());
  return 1;
}

/// CPU seconds of this process so far, every thread (user + system).
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

/// Read and write system calls of this process so far (/proc/self/io: syscr, syscw).
std::pair<std::uint64_t, std::uint64_t> syscalls() {
  std::ifstream in("/proc/self/io");
  std::string key;
  std::uint64_t value = 0, reads = 0, writes = 0;
  while (in >> key >> value) {
    if (key == "syscr:") reads = value;
    if (key == "syscw:") writes = value;
  }
  return {reads, writes};
}

double file_mb(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0.0 : static_cast<double>(size) / 1e6;
}

int receive_and_send(const std::string& path, const std::string& image, std::uint64_t chunk,
                     const sqlite_snapshot_store_options& opts) {
  auto store = sqlite_snapshot_store::open(path, opts);
  if (!store) return fail("open", store.err());
  auto reader_opts = opts;
  reader_opts.background_checkpoint = false;
  auto reader = sqlite_snapshot_store::open(path, reader_opts);
  if (!reader) return fail("open reader", reader.err());
  snapshot_metadata meta;
  meta.last_index = 1'000'000;
  meta.last_term = 3;
  meta.membership.voters = {1, 2, 3};
  const double megabytes = static_cast<double>(image.size()) / 1e6;

  auto t = std::chrono::steady_clock::now();
  if (auto b = (*store)->begin_write(meta); !b) return fail("begin", b.err());
  for (std::uint64_t off = 0; off < image.size(); off += chunk) {
    if (auto s = (*store)->write_chunk(off, std::string_view(image).substr(off, chunk)); !s) return fail("write", s.err());
  }
  if (auto f = (*store)->finalize(image.size(), crc32c(image)); !f) return fail("finalize", f.err());
  const double write_s = seconds_since(t);
  std::printf("receive  %.1f MB in %llu-byte durable chunks: %.3f s, %.1f MB/s\n", megabytes,
              static_cast<unsigned long long>(chunk), write_s, megabytes / write_s);

  t = std::chrono::steady_clock::now();
  std::uint64_t got = 0;
  for (std::uint64_t off = 0; off < image.size(); off += chunk) {
    auto r = (*reader)->read_of(meta, off, chunk);
    if (!r) return fail("read_of", r.err());
    got += r->size();
  }
  const double read_s = seconds_since(t);
  std::printf("send     %.1f MB by read_of chunks (second connection): %.3f s, %.1f MB/s\n",
              static_cast<double>(got) / 1e6, read_s, static_cast<double>(got) / 1e6 / read_s);

  t = std::chrono::steady_clock::now();
  auto all = (*store)->read_all();
  if (!all) return fail("read_all", all.err());
  const double all_s = seconds_since(t);
  std::printf("restore  read_all + CRC check of %.1f MB: %.3f s, %.1f MB/s (equal: %s)\n", megabytes, all_s,
              megabytes / all_s, *all == image ? "yes" : "NO");
  return *all == image ? 0 : 1;
}

int compactions(const std::string& path, std::string image, int saves, const sqlite_snapshot_store_options& opts) {
  double max_db = 0, max_wal = 0;
  double cpu = 0, wall = 0;
  std::pair<std::uint64_t, std::uint64_t> calls{};
  {
    auto store = sqlite_snapshot_store::open(path, opts);
    if (!store) return fail("open", store.err());
    auto reader_opts = opts;
    reader_opts.background_checkpoint = false;  // as the node's reader of the raft actor's thread
    auto reader = sqlite_snapshot_store::open(path, reader_opts);
    if (!reader) return fail("open reader", reader.err());
    snapshot_metadata meta;
    meta.last_term = 3;
    meta.membership.voters = {1, 2, 3};
    meta.last_index = 100'000;
    if (auto s = (*store)->save(meta, image); !s) return fail("first save", s.err());  // the one to replace
    const double cpu0 = cpu_seconds();
    const auto calls0 = syscalls();
    const auto t = std::chrono::steady_clock::now();
    for (int i = 0; i < saves; ++i) {
      meta.last_index += 100'000;
      image[static_cast<std::size_t>(i) % image.size()] ^= 1;
      if (auto s = (*store)->save(meta, image); !s) return fail("save", s.err());
      max_db = std::max(max_db, file_mb(path));
      max_wal = std::max(max_wal, file_mb(path + "-wal"));
    }
    reader->reset();
    store->reset();  // joins the checkpointer; the last connection's close checkpoints what is left
    wall = seconds_since(t);
    cpu = cpu_seconds() - cpu0;
    const auto calls1 = syscalls();
    calls = {calls1.first - calls0.first, calls1.second - calls0.second};
  }
  const double n = saves;
  std::printf("compact  %d saves of %.1f MB replacing the previous one: %.3f CPU s per save, %.3f s wall per save, "
              "%.0f read + %.0f write syscalls per save; file max %.1f MB, WAL max %.1f MB\n",
              saves, static_cast<double>(image.size()) / 1e6, cpu / n, wall / n, static_cast<double>(calls.first) / n,
              static_cast<double>(calls.second) / n, max_db, max_wal);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: snapshot_store_bench DIR [MEGABYTES] [CHUNK_KIB] [SAVES] [PAGE_KIB]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::uint64_t mb = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64;
  const std::uint64_t chunk = (argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1024) * 1024;
  const int saves = argc > 4 ? std::atoi(argv[4]) : 5;
  const std::uint64_t page_kib = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 0;
  if (mb == 0 || chunk == 0 || saves < 0) return 2;
  std::string image(mb << 20, '\0');
  std::uint64_t x = 88172645463325252ULL;  // xorshift: incompressible, deterministic bytes
  for (auto& c : image) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  sqlite_snapshot_store_options opts;
  opts.chunk_bytes = chunk;
  if (page_kib != 0) opts.page_size = static_cast<int>(page_kib * 1024);
  const std::string receive_path = dir + "/bench-snapshots.db";
  const std::string compact_path = dir + "/bench-compaction.db";
  for (const auto& p : {receive_path, compact_path}) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((p + suffix).c_str());
  }
  if (int rc = receive_and_send(receive_path, image, chunk, opts); rc != 0) return rc;
  if (saves > 0) return compactions(compact_path, std::move(image), saves, opts);
  return 0;
}
