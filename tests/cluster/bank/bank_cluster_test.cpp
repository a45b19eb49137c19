/// The bank example (examples/bank) as three `troupe bank` processes on loopback, with the
/// checkpoint coordinator on node 1. Every claim is checked twice: from the processes' log lines,
/// and independently from node 1's checkpoint store (opened read-only), whose every complete
/// checkpoint must conserve money (recorded balances + recorded in-flight transfers == initial
/// total). Waits are for log lines with deadlines that only catch hangs; no sleeps.
#define BOOST_TEST_MODULE bank_cluster
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "examples/bank/account.hpp"
#include "snapshot/store/sqlite_checkpoint_store.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;
namespace cp = troupe::checkpoint;

namespace {

constexpr auto deadline = 60s;  // only catches hangs
constexpr int accounts_per_node = 20;
constexpr std::int64_t initial_balance = 1000;
constexpr std::int64_t total = 3 * accounts_per_node * initial_balance;

const std::regex conserved_line(
    "checkpoint ([0-9]+) conserves money: balances ([0-9]+) \\+ in channels ([0-9]+) \\(([0-9]+) "
    "transfers\\) = ([0-9]+) of ([0-9]+); transfers received on this node while it ran: ([0-9]+)");
const std::regex not_conserved_line("DOES NOT conserve money");

/// One "checkpoint N conserves money" line of node 1.
struct conserved {
  std::uint64_t id = 0;
  std::uint64_t in_flight = 0;  ///< transfers recorded in channels
  std::int64_t total = 0;
  std::uint64_t during = 0;     ///< transfers received on node 1 while it ran
};

/// The error's message, or "" (Boost.Test builds a check's message even when the check passes).
template <class R>
std::string why(const R& r) {
  return r.ok() ? std::string() : r.err().message;
}

struct bank_cluster {
  troupe::test::temp_dir dir{"troupe-bank-test"};
  std::uint16_t ports[3];
  std::uint16_t metrics_ports[3];
  std::unique_ptr<child_process> nodes[3];
  std::string troupe = troupe::test::binary_path("troupe");

  bank_cluster() {
    for (int i = 0; i < 3; ++i) {
      ports[i] = troupe::test::free_port();
      metrics_ports[i] = troupe::test::free_port();
    }
    troupe::test::write_file(dir.file("cluster.secret"), "a-cluster-secret-of-32-bytes....\n", 0600);
  }

  std::vector<std::string> args(int i, const std::vector<std::string>& extra) const {
    std::vector<std::string> a{troupe,
                               "bank",
                               "--id=" + std::to_string(i + 1),
                               "--listen=127.0.0.1:" + std::to_string(ports[i]),
                               "--peers=" + troupe::test::local_peers(ports, static_cast<std::size_t>(i)),
                               "--data-dir=" + dir.file("data" + std::to_string(i + 1)),
                               "--cluster-id=bank-test",
                               "--secret-file=" + dir.file("cluster.secret"),
                               "--metrics=127.0.0.1:" + std::to_string(metrics_ports[i]),
                               "--initial-balance=" + std::to_string(initial_balance),
                               "--transfer-per-mille=500",
                               "--keep=0"};
    // A test may set its own tick and accounts (options may not repeat; the money checks
    // assume accounts_per_node).
    auto given = [&](std::string_view option) {
      return std::any_of(extra.begin(), extra.end(),
                         [&](const std::string& o) { return o.starts_with(option); });
    };
    if (!given("--tick=")) a.push_back("--tick=2ms");
    if (!given("--accounts-per-node=")) {
      a.push_back("--accounts-per-node=" + std::to_string(accounts_per_node));
    }
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  /// Starts every node with `extra` bank options (node 1's also get `coordinator_extra`).
  void start(const std::vector<std::string>& extra,
             const std::vector<std::string>& coordinator_extra = {}) {
    for (int i = 0; i < 3; ++i) {
      auto a = args(i, extra);
      if (i == 0) a.insert(a.end(), coordinator_extra.begin(), coordinator_extra.end());
      nodes[i] = std::make_unique<child_process>(a, std::vector<std::string>{},
                                                 dir.file("node" + std::to_string(i + 1) + ".log"));
    }
    BOOST_REQUIRE_MESSAGE(nodes[0]->wait_for_line(std::regex("application traffic starts"), deadline),
                          nodes[0]->transcript());
  }

  void kill_all() {
    for (auto& n : nodes) {
      if (n) n->signal(SIGKILL);
    }
    for (auto& n : nodes) {
      if (n) BOOST_REQUIRE(n->wait_exit(deadline).has_value());
      n.reset();
    }
  }

  /// Waits until node 1 logged `count` more conserving checkpoints; returns them.
  std::vector<conserved> wait_conserved(int count) {
    std::vector<conserved> out;
    while (static_cast<int>(out.size()) < count) {
      auto line = nodes[0]->read_line(deadline);
      BOOST_REQUIRE_MESSAGE(line, "node 1 stopped checkpointing:\n" << nodes[0]->transcript());
      BOOST_REQUIRE_MESSAGE(!std::regex_search(*line, not_conserved_line), *line);
      std::smatch m;
      if (std::regex_search(*line, m, conserved_line)) {
        out.push_back({std::stoull(m[1]), std::stoull(m[4]), std::stoll(m[5]), std::stoull(m[7])});
      }
    }
    return out;
  }

  troupe::checkpoint::store::sqlite_checkpoint_store store() const {
    troupe::checkpoint::store::store_options o;
    o.database.read_only = true;
    auto s = troupe::checkpoint::store::sqlite_checkpoint_store::open(dir.file("data1/checkpoints.db"), o);
    BOOST_REQUIRE_MESSAGE(s.ok(), why(s));
    return std::move(*s);
  }
};

/// Loads every complete stored checkpoint and checks it conserves money. Returns {complete, with
/// transfers in channels}.
std::pair<int, int> check_store(bank_cluster& c) {
  auto s = c.store();
  auto listed = s.list();
  BOOST_REQUIRE_MESSAGE(listed.ok(), why(listed));
  int complete = 0, non_empty = 0;
  for (auto& summary : *listed) {
    if (!summary.complete()) continue;
    auto state = s.load(summary.id);
    BOOST_REQUIRE_MESSAGE(state.ok(), why(state));
    auto t = troupe::bank::totals(*state);
    BOOST_REQUIRE_MESSAGE(t.ok(), why(t));
    BOOST_CHECK_MESSAGE(t->total() == total, "checkpoint " << summary.id << " holds " << t->total());
    BOOST_CHECK_EQUAL(state->local_states.size(), 3u * accounts_per_node);
    ++complete;
    if (t->in_flight > 0) ++non_empty;
  }
  return {complete, non_empty};
}

/// Sum over accounts of transfers received, in a stored checkpoint.
std::uint64_t received_in(bank_cluster& c, cp::checkpoint_id id) {
  auto state = c.store().load(id);
  BOOST_REQUIRE_MESSAGE(state.ok(), why(state));
  std::uint64_t n = 0;
  for (auto& [p, bytes] : state->local_states) n += troupe::bank::decode_state(bytes)->received;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_hundred_checkpoints_under_load_all_conserve_money_while_transfers_flow) {
  // Whether a checkpoint records transfers in flight is a matter of timing: a host sends a batch
  // per peer per tick, and the cut catches one only if a batch is on its way between two hosts'
  // recordings. With 2 ms ticks 34-46 of 100 did (27 once, under load: the check at 30 failed by
  // chance, not by a bug); with 1 ms ticks 68-84 (three runs), so 30 is far in the tail of chance
  // yet a design that drains or loses channel state (0) still fails it.
  bank_cluster c;
  c.start({"--tick=1ms"}, {"--checkpoint-every=30ms", "--checkpoint-limit=100"});
  auto lines = c.wait_conserved(100);
  int non_empty = 0;
  for (auto& l : lines) {
    BOOST_CHECK_EQUAL(l.total, total);
    if (l.in_flight > 0) ++non_empty;
    // Transfers kept completing while each checkpoint was taken: no stop-the-world, no draining.
    BOOST_CHECK_MESSAGE(l.during > 0, "no transfer completed during checkpoint " << l.id);
  }
  BOOST_TEST_MESSAGE(non_empty << " of 100 checkpoints recorded transfers in flight");
  BOOST_CHECK_GE(non_empty, 30);  // of 100
  auto [complete, stored_non_empty] = check_store(c);
  BOOST_CHECK_EQUAL(complete, 100);
  BOOST_CHECK_EQUAL(stored_non_empty, non_empty);
}

BOOST_AUTO_TEST_CASE(several_checkpoints_in_flight_at_once_all_complete) {
  bank_cluster c;
  c.start({}, {"--checkpoint-every=100ms", "--checkpoint-burst=3", "--checkpoint-limit=15"});
  BOOST_REQUIRE_MESSAGE(c.nodes[0]->wait_for_line(std::regex("started \\(in flight: 3\\)"), deadline),
                        c.nodes[0]->transcript());
  c.wait_conserved(15);
  auto [complete, non_empty] = check_store(c);
  BOOST_CHECK_EQUAL(complete, 15);
  BOOST_CHECK_MESSAGE(c.nodes[0]->transcript().find("aborted") == std::string::npos,
                      c.nodes[0]->transcript());
}

BOOST_AUTO_TEST_CASE(a_killed_process_aborts_the_checkpoint_and_a_restore_of_the_last_complete_one_recovers) {
  bank_cluster c;
  c.start({}, {"--checkpoint-every=100ms", "--checkpoint-timeout=1s"});
  c.wait_conserved(3);
  // Kill node 3 as a checkpoint starts: that one (or, if it was quick enough, the next) aborts.
  BOOST_REQUIRE(c.nodes[0]->wait_for_line(std::regex("checkpoint [0-9]+ started"), deadline));
  c.nodes[2]->signal(SIGKILL);
  auto aborted = c.nodes[0]->wait_for_line(
      std::regex("checkpoint ([0-9]+) aborted \\((timeout|peer_lost)\\)"), deadline);
  BOOST_REQUIRE_MESSAGE(aborted, c.nodes[0]->transcript());
  auto store = c.store();
  auto latest = store.latest_complete();
  BOOST_REQUIRE(latest.ok() && latest->has_value());
  const auto restored = (*latest)->id;
  // The aborted one is stored as such, with its reason, and refused for a restore.
  auto refused = store.plan(std::stoull((*aborted)[1]));
  BOOST_REQUIRE(!refused.ok());
  BOOST_CHECK_MESSAGE(refused.err().message.find("aborted") != std::string::npos,
                      refused.err().message);

  // Restore: every process (the killed one too) starts again from the last complete checkpoint.
  c.kill_all();
  c.start({"--restore=latest"}, {"--checkpoint-every=100ms"});
  BOOST_CHECK(c.nodes[0]->transcript().find("restoring checkpoint " + std::to_string(restored)) !=
              std::string::npos);
  auto after = c.wait_conserved(3);
  for (auto& l : after) BOOST_CHECK_GT(l.id, restored);
  check_store(c);
}

BOOST_AUTO_TEST_CASE(after_every_process_is_killed_a_restore_into_fresh_processes_resumes_transfers) {
  bank_cluster c;
  c.start({}, {"--checkpoint-every=50ms"});
  c.wait_conserved(5);
  c.kill_all();
  auto latest = c.store().latest_complete();
  BOOST_REQUIRE(latest.ok() && latest->has_value());
  const auto restored = (*latest)->id;
  const auto received_before = received_in(c, restored);

  c.start({"--restore=latest"}, {"--checkpoint-every=50ms"});
  BOOST_CHECK(c.nodes[0]->transcript().find("restoring checkpoint " + std::to_string(restored)) !=
              std::string::npos);
  auto after = c.wait_conserved(5);
  // Transfers resumed: the accounts received more than at the restored cut.
  const auto last = after.back().id;
  BOOST_CHECK_GT(last, restored);
  BOOST_CHECK_GT(received_in(c, last), received_before);
  check_store(c);
}

namespace {

struct cli_result {
  int code = -1;
  std::string output;
};

cli_result run_cli(bank_cluster& c, int node, std::vector<std::string> words) {
  words.insert(words.begin(), {c.troupe, "checkpoint"});
  words.push_back("--endpoints=127.0.0.1:" + std::to_string(c.ports[node]));
  child_process p(words, {"TROUPE_CLUSTER_ID=bank-test"});
  auto st = p.wait_exit(deadline);
  BOOST_REQUIRE_MESSAGE(st && WIFEXITED(*st), "troupe checkpoint did not exit:\n" << p.transcript());
  return {WEXITSTATUS(*st), p.transcript()};
}

bool has(const cli_result& r, const std::string& text) {
  return r.output.find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(troupe_checkpoint_takes_lists_shows_exports_checks_and_deletes_over_the_client_connection) {
  bank_cluster c;
  c.start({});  // no checkpoints of its own: only the CLI's
  auto take = run_cli(c, 0, {"take"});
  BOOST_CHECK_MESSAGE(take.code == 0 && has(take, "checkpoint 1 complete"), take.output);
  auto list = run_cli(c, 0, {"list"});
  BOOST_CHECK_MESSAGE(list.code == 0 && has(list, "\n1 ok 60 "), list.output);
  auto show = run_cli(c, 0, {"show", "1"});
  BOOST_CHECK_MESSAGE(show.code == 0 && has(show, "participants 60, local states 60"), show.output);
  auto dot = run_cli(c, 0, {"export", "1", "--dot"});
  BOOST_CHECK_MESSAGE(dot.code == 0 && dot.output.rfind("digraph checkpoint_1 {", 0) == 0, dot.output);
  auto restore = run_cli(c, 0, {"restore", "1"});
  BOOST_CHECK_MESSAGE(restore.code == 0 && has(restore, "checkpoint 1 restored in place: 60 participants"),
                      restore.output);
  // The stored one conserves money too.
  auto [complete, non_empty] = check_store(c);
  BOOST_CHECK_EQUAL(complete, 1);
  auto removed = run_cli(c, 0, {"delete", "1"});
  BOOST_CHECK_MESSAGE(removed.code == 0, removed.output);
  auto gone = run_cli(c, 0, {"show", "1"});
  BOOST_CHECK_MESSAGE(gone.code == 1 && has(gone, "not stored"), gone.output);
  auto again = run_cli(c, 0, {"take"});  // ids are never reused
  BOOST_CHECK_MESSAGE(again.code == 0 && has(again, "checkpoint 2 complete"), again.output);

  // Errors: a node without the coordinator, a bad id, export without a format.
  auto elsewhere = run_cli(c, 1, {"take"});
  BOOST_CHECK_MESSAGE(elsewhere.code == 1 && has(elsewhere, "no checkpoint coordinator"),
                      elsewhere.output);
  BOOST_CHECK_EQUAL(run_cli(c, 0, {"show", "x"}).code, 2);
  BOOST_CHECK_EQUAL(run_cli(c, 0, {"export", "2"}).code, 2);
  BOOST_CHECK_EQUAL(run_cli(c, 0, {"frobnicate"}).code, 2);
}

BOOST_AUTO_TEST_CASE(troupe_checkpoint_restore_rolls_the_running_bank_back_in_place_and_it_goes_on) {
  bank_cluster c;
  c.start({}, {"--checkpoint-every=50ms"});
  auto before = c.wait_conserved(5);
  // An earlier checkpoint than the newest: the accounts have moved on since.
  const auto target = before[1].id;
  const auto received_at_target = received_in(c, target);

  // Refused with the reason, and nothing changes: a checkpoint that is not stored.
  auto missing = run_cli(c, 0, {"restore", "999999"});
  BOOST_CHECK_MESSAGE(missing.code == 1 && has(missing, "not stored"), missing.output);

  auto restore = run_cli(c, 0, {"restore", std::to_string(target)});
  BOOST_REQUIRE_MESSAGE(restore.code == 0 && has(restore, "checkpoint " + std::to_string(target) +
                                                               " restored in place: 60 participants"),
                        restore.output);
  // Every checkpoint started before the rollback is stored by now (complete, or aborted by it).
  std::uint64_t highest_before = 0;
  {
    auto listed = c.store().list();
    BOOST_REQUIRE_MESSAGE(listed.ok(), why(listed));
    for (auto& s : *listed) highest_before = std::max(highest_before, s.id);
  }
  // Later checkpoints complete and conserve money (wait_conserved fails on any that does not).
  std::vector<conserved> after;
  while (after.size() < 3) {
    for (auto& l : c.wait_conserved(1)) {
      if (l.id > highest_before) after.push_back(l);
    }
  }
  for (auto& l : after) BOOST_CHECK_EQUAL(l.total, total);
  // Transfers resumed from the restored state: the accounts received more than at its cut (their
  // counters went back to it with the rollback).
  BOOST_CHECK_GT(received_in(c, after.back().id), received_at_target);
  BOOST_CHECK(c.nodes[0]->transcript().find("restoring checkpoint " + std::to_string(target) +
                                            " in place") != std::string::npos);
  // No host refused a frame: old-generation traffic was discarded, not misdelivered.
  for (auto& n : c.nodes) {
    BOOST_CHECK_MESSAGE(n->transcript().find("refused a frame") == std::string::npos, n->transcript());
  }
  // The restored checkpoint can be restored again (ids and generations keep growing).
  auto again = run_cli(c, 0, {"restore", std::to_string(after.front().id)});
  BOOST_CHECK_MESSAGE(again.code == 0 && has(again, "restored in place"), again.output);
  c.wait_conserved(2);
  check_store(c);
}

namespace {

/// The sum of a metric's samples in node `i`'s scrape (0 if absent).
double scraped(bank_cluster& c, int i, const std::string& name) {
  auto r = troupe::test::http_get("127.0.0.1", c.metrics_ports[i], "/metrics");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  double sum = 0;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace

BOOST_AUTO_TEST_CASE(back_pressure_holds_frames_back_instead_of_losing_them) {
  bank_cluster c;
  // A window of 8 frames per peer: every node holds frames back within its first few ticks (only
  // an answer to a poll, made while frames wait, opens the window again) and pauses its accounts.
  c.start({"--flow-window=8", "--tick=1ms", "--transfer-per-mille=1000"},
          {"--checkpoint-every=50ms"});
  auto lines = c.wait_conserved(10);
  for (auto& l : lines) BOOST_CHECK_EQUAL(l.total, total);
  double held = 0;
  for (int i = 0; i < 3; ++i) {
    held += scraped(c, i, "troupe_checkpoint_flow_held_total");
    // Nothing the transport refused or failed to deliver, and no send refused: nothing lost.
    BOOST_CHECK_EQUAL(scraped(c, i, "troupe_checkpoint_frames_lost_total"), 0.0);
    auto queued = scraped(c, i, "troupe_checkpoint_flow_queued_messages");
    // Bounded: application sends stop at 1,024 frames waiting per peer (two peers); markers and
    // reports, never refused, come in batches of their own.
    BOOST_CHECK_LE(queued, 4'096.0);
  }
  BOOST_CHECK_GT(held, 0.0);
  for (auto& n : c.nodes) {
    BOOST_CHECK_MESSAGE(n->transcript().find(" lost (") == std::string::npos, n->transcript());
  }
  BOOST_CHECK_MESSAGE(c.nodes[0]->transcript().find("aborted") == std::string::npos,
                      c.nodes[0]->transcript());
  // Every transfer sent was received or is in a stored checkpoint's channels: conservation of the
  // stored checkpoints (a lost transfer would show as missing money or a channel_gap abort).
  auto [complete, non_empty] = check_store(c);
  BOOST_CHECK_GE(complete, 10);
}

BOOST_AUTO_TEST_CASE(sigterm_with_checkpoints_in_progress_stops_every_process_cleanly) {
  // The coordinator's node used to hang in ~actor_system after SIGTERM with checkpoints in
  // progress (runtime/node/node_main.cpp, the shutdown order): commands the coordinator sent while
  // working off its mailbox reached the transport after it quit, stayed in the dead broker's
  // mailbox and kept the coordinator's thread from ending. Against the old code this test failed
  // in 4 runs of 4 (4 of the 5 rounds run hung); with the fix 16 rounds of 16 stopped, 3-4 s a
  // run. Each round signals node 1 as checkpoints of 600 participants complete and start.
  constexpr int rounds = 4;
  constexpr auto stop_deadline = 30s;  // a clean stop takes well under a second; only catches hangs
  for (int round = 0; round < rounds; ++round) {
    bank_cluster c;
    c.start({"--tick=1ms", "--accounts-per-node=200"}, {"--checkpoint-every=10ms", "--checkpoint-burst=3"});
    // The first of a burst complete: the others are completing (reports arriving, release
    // commands going out) and the next burst is due.
    BOOST_REQUIRE_MESSAGE(c.nodes[0]->wait_for_line(std::regex("checkpoint [0-9]+ complete"), deadline),
                          c.nodes[0]->transcript());
    c.nodes[0]->signal(SIGTERM);
    auto status = c.nodes[0]->wait_exit(stop_deadline);
    BOOST_REQUIRE_MESSAGE(status.has_value(), "round " << round << ": node 1 did not exit within "
                                                       << stop_deadline.count() << " s of SIGTERM:\n"
                                                       << c.nodes[0]->transcript());
    BOOST_CHECK_MESSAGE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0,
                        "round " << round << ": node 1 exit status " << *status << "\n"
                                 << c.nodes[0]->transcript());
    // The others, whose participants were in those checkpoints too, stop cleanly as well.
    for (int i = 1; i < 3; ++i) c.nodes[i]->signal(SIGTERM);
    for (int i = 1; i < 3; ++i) {
      auto other = c.nodes[i]->wait_exit(stop_deadline);
      BOOST_REQUIRE_MESSAGE(other.has_value(), "round " << round << ": node " << i + 1
                                                        << " did not exit within "
                                                        << stop_deadline.count() << " s of SIGTERM");
      BOOST_CHECK_MESSAGE(WIFEXITED(*other) && WEXITSTATUS(*other) == 0,
                          "round " << round << ": node " << i + 1 << " exit status " << *other);
    }
  }
}
