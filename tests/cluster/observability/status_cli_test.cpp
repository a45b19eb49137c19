// The status page's data on a running 3-node cluster: /status.json shows every member, its role,
// progress and connection state, /health answers, `troupe status` prints the table (and --json the
// data), and all of it follows the leader being killed.
#define BOOST_TEST_MODULE status_cli
#include <boost/test/unit_test.hpp>

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "runtime/metrics/http_client.hpp"
#include "tests/cluster/observability/cluster_harness.hpp"

using namespace troupe::test;
namespace pt = boost::property_tree;

namespace {

/// The connection state node `i` reports for member `id`, or "" if it does not answer.
std::string connection_seen(const three_node_cluster& c, int i, std::uint64_t id) {
  auto s = c.status(i);
  if (!s) return {};
  for (auto& [_, m] : s->get_child("members"))
    if (m.get<std::uint64_t>("id") == id) return m.get<std::string>("connection");
  return {};
}

struct cli_result {
  int exit_code = -1;
  std::string output;
};

/// `troupe status ARGS`, or its long form `troupe cluster status ARGS`.
cli_result run_status(const std::vector<std::string>& args, bool long_form = false) {
  std::vector<std::string> argv{binary_path("troupe")};
  if (long_form) argv.push_back("cluster");
  argv.push_back("status");
  argv.insert(argv.end(), args.begin(), args.end());
  child_process p(argv);
  auto st = p.wait_exit(hang_deadline);
  BOOST_REQUIRE_MESSAGE(st.has_value(), "troupe status did not finish");
  return {WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, p.transcript()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(status_shows_every_member_and_follows_the_leader_going_down) {
  three_node_cluster c;
  c.start_all();

  // Every node sees both peers up, and is healthy (once it knows a leader, when it runs Raft).
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE_MESSAGE(eventually([&] {
                            for (std::uint64_t id = 1; id <= 3; ++id) {
                              auto want = id == c.id(i) ? "self" : "up";
                              if (connection_seen(c, i, id) != want) return false;
                            }
                            return true;
                          }),
                          "node " << i + 1 << " never showed both peers up");
    BOOST_REQUIRE_MESSAGE(eventually([&] { return c.health(i) == 200; }),
                          "node " << i + 1 << " never became healthy");
  }
  // The leader's view: itself as leader, the others as followers with their replication progress.
  const auto leader = c.wait_for_agreed_leader();
  const int li = static_cast<int>(leader - 1);
  auto ls = c.status(li);
  BOOST_REQUIRE(ls);
  BOOST_TEST(ls->get<std::string>("raft.role") == "leader");
  BOOST_TEST(ls->get<std::uint64_t>("raft.term") >= 1u);
  for (auto& [_, m] : ls->get_child("members")) {
    const bool is_leader = m.get<std::uint64_t>("id") == leader;
    BOOST_TEST(m.get<std::string>("role") == (is_leader ? "leader" : "follower"));
    BOOST_TEST((m.get<std::string>("match") == "null") == is_leader);
  }
  auto s = c.status(0);
  BOOST_REQUIRE(s);
  BOOST_TEST(s->get<std::uint64_t>("node.id") == 1u);
  BOOST_TEST(s->get<std::string>("node.cluster_id") == "obs-test");
  BOOST_TEST(s->get<std::string>("node.metrics_address") == c.metrics_address(0));
  BOOST_TEST(s->get<std::string>("health.healthy") == "true");

  // troupe status: one table per node, every member's address in it; exit 0 while all are healthy.
  const std::string all = "--metrics=" + c.metrics_address(0) + "," + c.metrics_address(1) + "," +
                          c.metrics_address(2);
  auto table = run_status({all});
  BOOST_TEST_MESSAGE(table.output);
  BOOST_TEST(table.exit_code == 0, table.output);
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(table.output.find("node " + std::to_string(i + 1) + " of cluster obs-test") !=
               std::string::npos);
  }
  BOOST_TEST(table.output.find("ID  ADDRESS") != std::string::npos);
  BOOST_TEST(table.output.find("health: healthy") != std::string::npos);
  // `troupe cluster status` is the same command (troupe status is its short alias).
  auto long_form = run_status({all}, true);
  BOOST_TEST(long_form.exit_code == 0, long_form.output);
  BOOST_TEST(long_form.output.find("ID  ADDRESS") != std::string::npos, long_form.output);

  auto json = run_status({all, "--json"});
  BOOST_TEST(json.exit_code == 0, json.output);
  auto list = parse_json("{\"nodes\":" + json.output + "}", "troupe status --json");
  std::set<std::uint64_t> ids;
  for (auto& [_, n] : list.get_child("nodes")) ids.insert(n.get<std::uint64_t>("node.id"));
  BOOST_TEST((ids == std::set<std::uint64_t>{1, 2, 3}));

  // The leader goes down: the others show it disconnected, elect a new leader and list the change;
  // troupe status says it cannot reach the old one (exit 1).
  c.kill(li);
  for (int i = 0; i < 3; ++i) {
    if (i == li) continue;
    BOOST_TEST(eventually([&] {
      auto state = connection_seen(c, i, leader);
      return !state.empty() && state != "up";
    }), "node " << i + 1 << " still shows node " << leader << " up");
  }
  const auto next = c.wait_for_agreed_leader();
  BOOST_TEST(next != leader);
  for (int i = 0; i < 3; ++i) {
    if (i == li) continue;
    auto st = c.status(i);
    BOOST_REQUIRE(st);
    const auto& changes = st->get_child("leader_changes");
    BOOST_REQUIRE(!changes.empty());
    BOOST_TEST(changes.back().second.get<std::uint64_t>("leader") == next);
    BOOST_TEST(eventually([&] { return c.health(i) == 200; }));
  }
  auto down = run_status({"--metrics=" + c.metrics_address(li)});
  BOOST_TEST(down.exit_code == 1);
  BOOST_TEST(down.output.find(c.metrics_address(li)) != std::string::npos, down.output);
  BOOST_TEST(down.output.find("Connection refused") != std::string::npos, down.output);
}

BOOST_AUTO_TEST_CASE(a_bank_nodes_status_lists_its_recent_checkpoints) {
  // troupe bank (examples/bank) runs the checkpoint coordinator on node 1, which reports each
  // checkpoint to its status page.
  three_node_cluster c("bank", {"--accounts-per-node=5", "--tick=5ms", "--checkpoint-every=200ms",
                                "--keep=0"});
  c.start_all();
  std::uint64_t completed = 0;
  BOOST_REQUIRE_MESSAGE(eventually([&] {
                          auto s = c.status(0);
                          if (!s || s->get<std::string>("checkpoints") == "null") return false;
                          completed = 0;
                          for (auto& [_, cp] : s->get_child("checkpoints")) {
                            if (cp.get<std::string>("outcome") != "completed") continue;
                            BOOST_TEST(cp.get<double>("duration_seconds") >= 0.0);
                            BOOST_TEST(cp.get<std::uint64_t>("written_bytes") > 0u);
                            BOOST_TEST(cp.get<std::int64_t>("started_unix_ms") > 0);
                            ++completed;
                          }
                          return completed >= 3;
                        }),
                        "node 1's status page never listed 3 completed checkpoints");
  auto text = run_status({"--metrics=" + c.metrics_address(0)});
  BOOST_TEST(text.output.find("completed") != std::string::npos, text.output);
  // Nodes without the coordinator say so instead.
  auto other = c.status(1);
  BOOST_REQUIRE(other);
  BOOST_TEST(other->get<std::string>("checkpoints") == "null");
}

BOOST_AUTO_TEST_CASE(troupe_status_refuses_bad_usage) {
  auto bad = run_status({"--metrics=not-an-address"});
  BOOST_TEST(bad.exit_code == 2);
  BOOST_TEST(bad.output.find("--metrics") != std::string::npos, bad.output);
  BOOST_TEST(run_status({"--bogus"}).exit_code == 2);
  BOOST_TEST(run_status({"extra"}).exit_code == 2);
}

BOOST_AUTO_TEST_CASE(the_http_client_gives_errors_as_values) {
  using troupe::metrics::http_get;
  auto refused = http_get("127.0.0.1", free_port(), "/x", std::chrono::seconds(5));
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.err().message.find("127.0.0.1:") != std::string::npos);
  auto bad_path = http_get("127.0.0.1", 80, "no-slash");
  BOOST_REQUIRE(!bad_path);
  BOOST_TEST((bad_path.err().code == troupe::errc::invalid_argument));
  auto bad_host = http_get("no-such-host.invalid", 80, "/");
  BOOST_REQUIRE(!bad_host);
  BOOST_TEST((bad_host.err().code == troupe::errc::invalid_argument));
}

namespace {

/// Serves one connection on 127.0.0.1: reads the request head, writes `answer`, and closes only if
/// `close_after` (a server that keeps the connection open tests Content-Length handling).
class one_shot_server {
 public:
  one_shot_server(std::string answer, bool close_after) {
    auto l = listen_on_loopback(1);
    listen_fd_ = l.fd;
    port_ = l.port;
    thread_ = std::thread([this, answer = std::move(answer), close_after] {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::string head;
      char c;
      while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1) head += c;
      ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
      if (!close_after) {
        while (::recv(fd, &c, 1, 0) > 0) {
        }  // until the client closes
      }
      ::close(fd);
    });
  }
  ~one_shot_server() {
    thread_.join();
    ::close(listen_fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

troupe::result<troupe::metrics::http_reply> fetch(const std::string& answer, bool close_after = true,
                                                  std::size_t max_bytes = 1 << 20) {
  one_shot_server server(answer, close_after);
  troupe::metrics::http_request_options o;
  o.timeout = std::chrono::seconds(20);
  o.max_bytes = max_bytes;
  return troupe::metrics::http_request("127.0.0.1", server.port(), "/x", o);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_http_client_decodes_chunks_and_refuses_malformed_answers) {
  auto chunked = fetch("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n");
  BOOST_REQUIRE(chunked);
  BOOST_TEST(chunked->status == 200);
  BOOST_TEST(chunked->body == "abcdefg");

  // A server that keeps the connection open: the body ends at Content-Length.
  auto kept_open = fetch("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false);
  BOOST_REQUIRE(kept_open);
  BOOST_TEST(kept_open->body == "hello");

  for (std::string bad : {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabcd\r\n0\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nshort\r\n",
                          "SSH-2.0-OpenSSH_9.2\r\n\r\n", "HTTP/1.1 999 Nope\r\n\r\n",
                          "HTTP/1.1 200 OK\r\n"}) {
    auto r = fetch(bad);
    BOOST_TEST(!r, "accepted: " << bad);
    if (!r) BOOST_TEST(r.err().message.find("127.0.0.1:") != std::string::npos);
  }
  auto too_big = fetch("HTTP/1.1 200 OK\r\n\r\n" + std::string(5000, 'x'), true, 1000);
  BOOST_REQUIRE(!too_big);
  BOOST_TEST(too_big.err().message.find("larger than 1000 bytes") != std::string::npos);
}
