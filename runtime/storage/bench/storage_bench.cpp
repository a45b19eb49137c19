// troupe_storage_bench DIR [SECONDS]: durable commit rates of the SQLite layer on this machine.
// Not a test. Prints single-row commits/s (one row per transaction, synchronous=FULL, WAL) and
// rows/s at 100 rows per transaction, both through durable_writer (the path the node uses).

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "runtime/storage/database.hpp"
#include "runtime/storage/durable_writer.hpp"

namespace {

using namespace troupe::storage;
using clock_type = std::chrono::steady_clock;

/// Runs transactions of `rows_per_commit` rows, one batch at a time (no group commit), for
/// `seconds`; returns committed transactions per second.
double measure(const std::string& path, int rows_per_commit, double seconds) {
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)"}}};
  auto db = database::open(path, opts);
  if (!db) {
    std::fprintf(stderr, "%s\n", db.err().message.c_str());
    std::exit(1);
  }
  auto writer = durable_writer::start(std::move(*db));
  if (!writer) std::exit(1);
  std::mutex mutex;
  std::condition_variable done_cv;
  long committed = 0;
  bool done = false;
  std::string payload(100, 'x');
  const auto start = clock_type::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  while (clock_type::now() < until) {
    done = false;
    auto s = (*writer)->submit(
        [&](database& d) -> troupe::status {
          auto insert = d.prepare("INSERT INTO t(payload) VALUES (?)");
          if (!insert) return insert.err();
          for (int i = 0; i < rows_per_commit; ++i) {
            if (auto b = insert->bind_text(1, payload); !b) return b;
            if (auto r = insert->run(); !r) return r;
          }
          return {};
        },
        [&](const troupe::status& st, std::chrono::duration<double>) {
          if (!st) {
            std::fprintf(stderr, "%s\n", st.err().message.c_str());
            std::exit(1);
          }
          std::lock_guard<std::mutex> guard{mutex};
          ++committed;
          done = true;
          done_cv.notify_one();
        });
    if (!s) std::exit(1);
    std::unique_lock<std::mutex> lock{mutex};
    done_cv.wait(lock, [&] { return done; });
  }
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  (*writer)->stop(shutdown_mode::drain);
  return static_cast<double>(committed) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [SECONDS]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  const double single = measure(dir + "/bench-single.db", 1, seconds);
  std::printf("single-row durable commits/s: %.0f\n", single);
  const double hundred = measure(dir + "/bench-100.db", 100, seconds);
  std::printf("100 rows per transaction: %.0f commits/s, %.0f rows/s\n", hundred, hundred * 100);
  return 0;
}
