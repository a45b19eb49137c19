// The SQLite layer under real SIGKILLs: a child process commits rows through durable_writer and
// prints each acknowledged commit; the test kills it after reading k acknowledgements, reopens
// the file and checks that every acknowledged commit is present, complete and uncorrupted.
// (A SIGKILL keeps the page cache, so it tests that acknowledgements follow commits; the fault
// VFS in tests/unit/storage tests lost unsynced writes and torn pages.)
#define BOOST_TEST_MODULE storage_sigkill
#include <signal.h>
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <regex>
#include <set>

#include "runtime/storage/database.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/storage/crash_rows.hpp"
#include "tests/unit/storage/printers.hpp"

using namespace troupe;
using namespace troupe::storage;
using namespace std::chrono_literals;

namespace {

// Deadlines only catch hangs; nothing waits on them in a passing run.
constexpr auto hang_deadline = std::chrono::milliseconds(60'000);

options crash_options() {
  options opts;
  opts.migrations = crash_rows::crash_schema();
  return opts;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_acknowledged_commit_survives_sigkill_at_several_points) {
  test::temp_dir dir;
  const auto path = dir.file("sigkill.db");
  const auto child = test::binary_path("storage_crash_child");
  std::set<std::int64_t> acknowledged;
  const std::regex ack{R"(^ack (\d+)$)"};
  std::int64_t next_commit = 0;
  for (int kill_after : {1, 7, 40, 150, 3, 400}) {
    test::child_process writer({child, "write", path});
    auto ready = writer.wait_for_line(std::regex{R"(^ready (\d+)$)"}, hang_deadline);
    BOOST_REQUIRE_MESSAGE(ready, "child did not start:\n" << writer.transcript());
    BOOST_TEST(std::stoll((*ready)[1].str()) == next_commit);
    int seen = 0;
    while (seen < kill_after) {
      auto line = writer.read_line(hang_deadline);
      BOOST_REQUIRE_MESSAGE(line, "child stopped early:\n" << writer.transcript());
      if (std::regex_match(*line, ack)) ++seen;
    }
    writer.signal(SIGKILL);
    auto exit_status = writer.wait_exit(hang_deadline);  // also reads what it printed before
    BOOST_REQUIRE(exit_status);
    BOOST_TEST((WIFSIGNALED(*exit_status) && WTERMSIG(*exit_status) == SIGKILL));
    for (const auto& line : writer.lines()) {
      std::smatch m;
      if (std::regex_match(line, m, ack)) acknowledged.insert(std::stoll(m[1].str()));
    }

    auto db = database::open(path, crash_options());
    BOOST_REQUIRE_MESSAGE(db, why(db));
    const auto out = crash_rows::check_rows(*db, acknowledged);
    BOOST_REQUIRE_MESSAGE(out.problems.empty(), "after killing at " << kill_after << " acks:\n"
                                                                    << out.problems);
    BOOST_TEST_MESSAGE("killed after " << kill_after << " acks: " << acknowledged.size()
                                       << " acknowledged in all, last commit present "
                                       << out.last_commit);
    next_commit = out.last_commit + 1;
  }
  BOOST_TEST(acknowledged.size() >= 601u);
}

BOOST_AUTO_TEST_CASE(a_database_held_by_another_process_is_refused_as_locked) {
  test::temp_dir dir;
  const auto path = dir.file("held.db");
  test::child_process holder({test::binary_path("storage_crash_child"), "hold", path});
  BOOST_REQUIRE_MESSAGE(holder.wait_for_line(std::regex{"^holding$"}, hang_deadline),
                        "holder did not start:\n"
                            << holder.transcript());
  auto db = database::open(path, crash_options());
  BOOST_REQUIRE(!db);
  BOOST_TEST(db.err().code == errc::busy);
  BOOST_TEST(db.err().message.find(path) == 0u);
  BOOST_TEST(db.err().message.find("pid " + std::to_string(holder.pid())) != std::string::npos);
  BOOST_TEST_MESSAGE("locked reported as: " << db.err().message);

  holder.signal(SIGKILL);
  BOOST_REQUIRE(holder.wait_exit(hang_deadline));
  auto after = database::open(path, crash_options());  // the kernel released the lock
  BOOST_TEST(after.ok(), why(after));
}
