// `troupe node` as a real process with its Raft group: a one-node cluster commits a write, stops
// cleanly, restarts from its log and still serves the write; after one entry of its log is damaged
// it refuses to start (exit 1) with a line naming the log file and the entry's index.
#define BOOST_TEST_MODULE raft_node_process
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;

namespace {

constexpr auto deadline = 30s;  // only catches hangs

struct single_node {
  troupe::test::temp_dir dir{"troupe-raft-node-test"};
  std::uint16_t port = troupe::test::free_port();
  std::uint16_t metrics_port = troupe::test::free_port();
  std::string troupe = troupe::test::binary_path("troupe");

  single_node() {
    troupe::test::write_file(dir.file("cluster.secret"), "a-cluster-secret-of-32-bytes....\n", 0600);
    troupe::test::write_file(dir.file("client.secret"), "a-client-secret-of-32-bytes.....\n", 0600);
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port); }
  std::string log_file() const { return dir.file("data") + "/raft-1.db"; }

  std::unique_ptr<child_process> start() const {
    return std::make_unique<child_process>(std::vector<std::string>{
        troupe, "node", "--id=1", "--listen=" + addr(), "--data-dir=" + dir.file("data"),
        "--cluster-id=test", "--secret-file=" + dir.file("cluster.secret"),
        "--client-secret-file=" + dir.file("client.secret"),
        "--metrics=127.0.0.1:" + std::to_string(metrics_port), "--raft-tick-ms=10"});
  }

  /// Runs `troupe kv ...` against the node; returns (exit code, output).
  std::pair<int, std::string> kv(std::vector<std::string> args) const {
    args.insert(args.begin(), {troupe, "kv"});
    args.push_back("--endpoints=" + addr());
    child_process p(args, {"TROUPE_CLUSTER_ID=test",
                           "TROUPE_CLIENT_SECRET_FILE=" + dir.file("client.secret")});
    auto st = p.wait_exit(deadline);
    BOOST_REQUIRE_MESSAGE(st && WIFEXITED(*st), "troupe kv did not exit:\n" << p.transcript());
    return {WEXITSTATUS(*st), p.transcript()};
  }
};

int exit_code(child_process& p) {
  auto st = p.wait_exit(deadline);
  BOOST_REQUIRE_MESSAGE(st && WIFEXITED(*st), "node did not exit:\n" << p.transcript());
  return WEXITSTATUS(*st);
}

/// Overwrites the payload of the entry at `index`, as a disk error would.
void corrupt_entry(const std::string& path, std::uint64_t index) {
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const std::string sql = "UPDATE entries SET data = X'0BAD' WHERE idx = " + std::to_string(index);
  BOOST_REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_changes(db) == 1);
  sqlite3_close(db);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_node_recovers_its_log_and_refuses_a_damaged_one_naming_file_and_index) {
  single_node n;
  {
    auto node = n.start();
    BOOST_REQUIRE_MESSAGE(node->wait_for_line(std::regex("leader 1 \\(this node\\)"), deadline),
                          node->transcript());
    auto [rc, out] = n.kv({"put", "color", "blue"});
    BOOST_REQUIRE_MESSAGE(rc == 0, out);
    node->signal(SIGTERM);
    BOOST_TEST(exit_code(*node) == 0, node->transcript());
  }
  {
    auto node = n.start();
    BOOST_REQUIRE_MESSAGE(node->wait_for_line(std::regex("leader 1 \\(this node\\)"), deadline),
                          node->transcript());
    auto [rc, out] = n.kv({"get", "color"});
    BOOST_TEST(rc == 0, out);
    BOOST_TEST(out.find("blue") != std::string::npos, out);
    node->signal(SIGTERM);
    BOOST_TEST(exit_code(*node) == 0, node->transcript());
  }
  // Index 1 is the first leader's no-op, index 2 the put.
  corrupt_entry(n.log_file(), 2);
  auto node = n.start();
  BOOST_TEST(exit_code(*node) == 1, node->transcript());
  const std::string out = node->transcript();
  BOOST_TEST(out.find(n.log_file()) != std::string::npos, out);
  BOOST_TEST(out.find("index 2") != std::string::npos, out);
  BOOST_TEST(out.find("cannot start the raft group") != std::string::npos, out);
}
