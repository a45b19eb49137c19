// troupe_storage_bench DIR [SECONDS]: durable commit rates of the SQLite layer on this machine.
// Not a test (benchmarks stay out of the test run). All runs use WAL, synchronous=FULL and 100-byte
// payloads; each runs for SECONDS (default 3) on a fresh file in DIR:
//   direct       one row per transaction, database + transaction on the calling thread
//   writer       one row per batch through durable_writer, one batch in flight (no grouping)
//   writer-64    one row per batch, 64 batches in flight: group commit merges them
//   writer-100   100 rows per batch, one batch in flight

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

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "troupe_storage_bench: %s\n", what.c_str());
  std::exit(1);
}

database open_fresh(const std::string& path) {
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)"}}};
  auto db = database::open(path, opts);
  if (!db) die(db.err().message);
  return std::move(*db);
}

troupe::status insert_rows(database& db, int rows) {
  static const std::string payload(100, 'x');
  auto insert = db.prepare("INSERT INTO t(payload) VALUES (?)");
  if (!insert) return insert.err();
  for (int i = 0; i < rows; ++i) {
    if (auto b = insert->bind_text(1, payload); !b) return b;
    if (auto r = insert->run(); !r) return r;
  }
  return {};
}

/// Transactions per second on the calling thread.
double measure_direct(const std::string& path, double seconds) {
  database db = open_fresh(path);
  long commits = 0;
  const auto start = clock_type::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  while (clock_type::now() < until) {
    auto tx = db.begin();
    if (!tx) die(tx.err().message);
    if (auto s = insert_rows(db, 1); !s) die(s.err().message);
    if (auto s = tx->commit(); !s) die(s.err().message);
    ++commits;
  }
  return static_cast<double>(commits) /
         std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Batches per second through durable_writer with up to `in_flight` batches queued.
double measure_writer(const std::string& path, int rows_per_batch, std::size_t in_flight,
                      double seconds) {
  auto writer = durable_writer::start(open_fresh(path));
  if (!writer) die(writer.err().message);
  std::mutex mutex;
  std::condition_variable cv;
  long completed = 0;
  std::size_t pending = 0;
  const auto start = clock_type::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  while (clock_type::now() < until) {
    {
      std::unique_lock<std::mutex> lock{mutex};
      cv.wait(lock, [&] { return pending < in_flight; });
      ++pending;
    }
    auto s =
        (*writer)->submit([rows_per_batch](database& d) { return insert_rows(d, rows_per_batch); },
                          [&](const troupe::status& st, std::chrono::duration<double>) {
                            if (!st) die(st.err().message);
                            std::lock_guard<std::mutex> guard{mutex};
                            ++completed;
                            --pending;
                            cv.notify_all();
                          });
    if (!s) die(s.err().message);
  }
  (*writer)->stop(shutdown_mode::drain);
  return static_cast<double>(completed) /
         std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [SECONDS]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  const double direct = measure_direct(dir + "/bench-direct.db", seconds);
  std::printf("direct      single-row durable commits/s: %8.0f\n", direct);
  const double writer = measure_writer(dir + "/bench-writer.db", 1, 1, seconds);
  std::printf("writer      single-row durable commits/s: %8.0f\n", writer);
  const double grouped = measure_writer(dir + "/bench-writer-64.db", 1, 64, seconds);
  std::printf("writer-64   single-row batches/s (group commit, 64 in flight): %8.0f\n", grouped);
  const double hundred = measure_writer(dir + "/bench-writer-100.db", 100, 1, seconds);
  std::printf("writer-100  100 rows per transaction: %8.0f commits/s = %9.0f rows/s\n", hundred,
              hundred * 100);
  return 0;
}
