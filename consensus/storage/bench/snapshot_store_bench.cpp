// snapshot_store_bench DIR [MEGABYTES] [CHUNK_KIB]: MB/s of the SQLite snapshot store for one image
// of MEGABYTES (default 64) in chunks of CHUNK_KIB (default 1024), each chunk its own durable
// transaction as an InstallSnapshot receiver writes it (synchronous=FULL), then finalize, then the
// leader's side: read_of by chunks, and read_all (with the whole-image CRC check) as a restart does.
// Not a test: prints one line per phase. See README.md.
#include <chrono>
#include <cstdio>
#include <cstdlib>
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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: snapshot_store_bench DIR [MEGABYTES] [CHUNK_KIB]\n");
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/bench-snapshots.db";
  const std::uint64_t mb = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64;
  const std::uint64_t chunk = (argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1024) * 1024;
  if (mb == 0 || chunk == 0) return 2;
  std::remove(path.c_str());
  std::string image(mb << 20, '\0');
  std::uint64_t x = 88172645463325252ULL;  // xorshift: incompressible, deterministic bytes
  for (auto& c : image) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  auto store = sqlite_snapshot_store::open(path);
  if (!store) return fail("open", store.err());
  auto reader = sqlite_snapshot_store::open(path);
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
