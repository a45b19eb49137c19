// The log store under real SIGKILLs: a child process (raft_log_store_child) appends and syncs and
// prints each synced last index; the test kills it with SIGKILL after reading 1, 7, 40, 150, 3
// and 400 such lines, reopens the file and checks that every index the child reported as synced
// is present with the right term and payload, that nothing else in the file is wrong, and that the
// file passes integrity_check and every checksum. (A SIGKILL keeps the page cache: this tests that
// "synced" follows the commit and that a process dying mid-transaction leaves a consistent file;
// tests/unit/raft_log_store/crash_test covers lost unsynced writes and torn pages.)
#define BOOST_TEST_MODULE raft_log_store_sigkill
#include <signal.h>
#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <regex>

#include "consensus/storage/sqlite_log_storage.hpp"
#include "tests/cluster/raft_log_store/child_log.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::raft;

namespace {

// Deadlines only catch hangs; nothing waits on them in a passing run.
constexpr auto hang_deadline = std::chrono::milliseconds(60'000);

// Boost.Test builds a failure message even when the check passes: never touch err() of a success.
template <class R>
std::string why(const R& r) {
  return r ? std::string("ok") : std::string(to_string(r.err().code)) + ": " + r.err().message;
}

/// Reopens the file in this process and checks it against what the child reported.
index_t verify(const std::string& path, index_t reported, int round) {
  sqlite_log_storage_options opts;
  opts.background_checkpoint = false;
  auto store = sqlite_log_storage::open(path, opts);
  BOOST_REQUIRE_MESSAGE(store, "round " << round << ": reopen failed: " << why(store));
  auto& s = **store;
  BOOST_REQUIRE_MESSAGE(s.last_index() >= reported, "round " << round << ": last index "
                                                             << s.last_index() << " but the child "
                                                             << "reported " << reported << " synced");
  // Everything in the file is what the child meant to write: reported indexes and any later ones
  // whose sync completed before the kill.
  for (index_t lo = 1; lo <= s.last_index();) {
    auto got = s.entries(lo, s.last_index() + 1, 1u << 20);
    BOOST_REQUIRE_MESSAGE(got, "round " << round << ": " << why(got));
    for (const auto& e : *got) {
      BOOST_REQUIRE_MESSAGE(e == raft::test::child_entry(e.index),
                            "round " << round << ": entry " << e.index << " differs");
      BOOST_REQUIRE(*s.term(e.index) == raft::test::child_term(e.index));
    }
    lo += got->size();
  }
  const hard_state hs = *s.initial_hard_state();
  BOOST_TEST(hs.term == raft::test::child_term(s.last_index()));
  auto check = s.check_integrity();
  BOOST_REQUIRE_MESSAGE(check, "round " << round << ": " << why(check));
  return s.last_index();
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_synced_index_survives_sigkill_at_several_points) {
  troupe::test::temp_dir dir{"raft-log-sigkill"};
  const auto path = dir.file("raft.db");
  const auto child = troupe::test::binary_path("raft_log_store_child");
  const std::regex synced{R"(^synced (\d+)$)"};
  index_t reported = 0;  // the highest index the child said was synced, over all rounds
  index_t last = 0;      // the last index found at the previous reopen
  int round = 0;
  for (int kill_after : {1, 7, 40, 150, 3, 400}) {
    ++round;
    troupe::test::child_process writer({child, path});
    auto opened = writer.wait_for_line(std::regex{R"(^open last=(\d+)$)"}, hang_deadline);
    BOOST_REQUIRE_MESSAGE(opened, "child did not start:\n" << writer.transcript());
    BOOST_TEST(std::stoull((*opened)[1].str()) == last);  // it sees what we verified
    int seen = 0;
    while (seen < kill_after) {
      auto line = writer.read_line(hang_deadline);
      BOOST_REQUIRE_MESSAGE(line, "child stopped early:\n" << writer.transcript());
      std::smatch m;
      if (std::regex_match(*line, m, synced)) {
        ++seen;
        reported = std::max<index_t>(reported, std::stoull(m[1].str()));
      }
    }
    writer.signal(SIGKILL);
    auto exit_status = writer.wait_exit(hang_deadline);  // also reads what it printed before
    BOOST_REQUIRE(exit_status);
    BOOST_TEST((WIFSIGNALED(*exit_status) && WTERMSIG(*exit_status) == SIGKILL));
    for (const auto& line : writer.lines()) {
      std::smatch m;
      if (std::regex_match(line, m, synced)) {
        reported = std::max<index_t>(reported, std::stoull(m[1].str()));
      }
    }
    last = verify(path, reported, round);
    BOOST_TEST_MESSAGE("round " << round << ": killed after " << kill_after << " syncs; "
                                << "reported synced up to " << reported << ", file holds " << last);
  }
  BOOST_TEST(reported > 0u);
}
