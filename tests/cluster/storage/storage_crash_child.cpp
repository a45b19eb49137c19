// Child process of storage_sigkill_test.
//
//   storage_crash_child write PATH   commits numbered commits (continuing after the last one in
//                                    the file) through durable_writer and prints "ack <id>" for
//                                    each, only after its commit returned; runs until killed
//                                    (or, as a bound, 1,000,000 commits).
//   storage_crash_child hold PATH    opens the database, prints "holding", and keeps it open
//                                    until killed.
// Prints "ready <next commit id>" once the database is open; errors go to stderr, exit code 1.

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "runtime/storage/durable_writer.hpp"
#include "tests/unit/storage/crash_rows.hpp"

using namespace troupe;
using namespace troupe::storage;

namespace {

/// One write(2) per line: a line reaches the pipe whole, and is out of the process the moment
/// the call returns (stdio buffers would die with it at SIGKILL).
void say(const std::string& line) {
  const std::string text = line + "\n";
  if (::write(STDOUT_FILENO, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    std::_Exit(1);
  }
}

int fail(const std::string& what) {
  std::fprintf(stderr, "storage_crash_child: %s\n", what.c_str());
  return 1;
}

result<std::int64_t> next_commit(database& db) {
  auto last = db.prepare("SELECT coalesce(max(commit_id), -1) FROM crash_rows");
  if (!last) return last.err();
  auto row = last->step();
  if (!row) return row.err();
  return last->column_int64(0) + 1;
}

int write_until_killed(database db) {
  auto first = next_commit(db);
  if (!first) return fail(first.err().message);
  auto writer = durable_writer::start(std::move(db));
  if (!writer) return fail(writer.err().message);
  say("ready " + std::to_string(*first));
  constexpr std::size_t max_in_flight = 16;
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t in_flight = 0;
  std::string failure;
  std::uint64_t rng = static_cast<std::uint64_t>(*first) * 7919 + 1;
  for (std::int64_t id = *first; id < *first + 1'000'000; ++id) {
    {
      std::unique_lock<std::mutex> lock{mutex};
      cv.wait(lock, [&] { return !failure.empty() || in_flight < max_in_flight; });
      if (!failure.empty()) break;
      ++in_flight;
    }
    const int rows = 1 + static_cast<int>(crash_rows::splitmix(rng) % 4);
    const std::uint64_t payload_seed = crash_rows::splitmix(rng);
    auto s = (*writer)->submit(
        [id, rows, payload_seed](database& d) {
          std::uint64_t r = payload_seed;
          return crash_rows::insert_commit(d, id, rows, r, 2000);
        },
        [&, id](const status& st, std::chrono::duration<double>) {
          if (st) say("ack " + std::to_string(id));
          std::lock_guard<std::mutex> guard{mutex};
          --in_flight;
          if (!st) failure = st.err().message;
          cv.notify_all();
        });
    if (!s) return fail(s.err().message);
  }
  (*writer)->stop(shutdown_mode::drain);
  std::lock_guard<std::mutex> guard{mutex};
  return failure.empty() ? 0 : fail(failure);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return fail("usage: storage_crash_child write|hold PATH");
  options opts;
  opts.migrations = crash_rows::crash_schema();
  auto db = database::open(argv[2], opts);
  if (!db) return fail(db.err().message);
  if (std::strcmp(argv[1], "hold") == 0) {
    say("holding");
    for (;;) ::pause();  // until the test kills us
  }
  return write_until_killed(std::move(*db));
}
