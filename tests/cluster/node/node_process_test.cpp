/// `troupe node` as real processes on loopback: a 3-node cluster connects and authenticates, serves
/// clients, exposes metrics that promtool accepts, refuses a node with the wrong secret, and shuts
/// down cleanly; bad configuration and unusable data directories fail with one clear line.
#define BOOST_TEST_MODULE node_process
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>

#include "runtime/client/connection.hpp"
#include "tests/support/metrics_doc.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using troupe::test::child_process;

namespace {

constexpr auto deadline = 30s;  // only catches hangs

std::string promtool() {
  if (auto p = troupe::test::find_tool("promtool"); !p.empty()) return p;
  BOOST_FAIL("promtool not found: run scripts/install-deps.sh " TROUPE_BINARY_DIR);
  return {};
}

/// Sum of the samples of `name` whose labels match `labels` (a regex over the label text).
double metric_sum(const std::string& text, const std::string& name, const std::string& labels = ".*") {
  std::regex line("^" + name + "(\\{" + labels + "\\})? ([-+0-9.eE]+)$");
  double sum = 0;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line)) sum += std::stod(m[2]);
  }
  return sum;
}

struct cluster {
  static constexpr const char* client_secret_text = "a-client-secret-of-32-bytes.....\n";
  troupe::test::temp_dir dir{"troupe-node-test"};
  std::uint16_t ports[3];
  std::uint16_t metrics_ports[3];
  std::vector<std::unique_ptr<child_process>> nodes;
  std::string troupe = troupe::test::binary_path("troupe");

  cluster() {
    for (int i = 0; i < 3; ++i) {
      ports[i] = troupe::test::free_port();
      metrics_ports[i] = troupe::test::free_port();
    }
    troupe::test::write_file(dir.file("cluster.secret"), "a-cluster-secret-of-32-bytes....\n", 0600);
    troupe::test::write_file(dir.file("client.secret"), client_secret_text, 0600);
    troupe::test::write_file(dir.file("wrong.secret"), "not-the-cluster-secret-at-all...\n", 0600);
  }

  std::string addr(int i) const { return "127.0.0.1:" + std::to_string(ports[i]); }

  std::vector<std::string> node_args(int i, const std::string& secret = "cluster.secret") const {
    return {troupe,
            "node",
            "--id=" + std::to_string(i + 1),
            "--listen=" + addr(i),
            "--peers=" + troupe::test::local_peers(ports, static_cast<std::size_t>(i)),
            "--data-dir=" + dir.file("data" + std::to_string(i + 1)),
            "--cluster-id=test",
            "--secret-file=" + dir.file(secret),
            "--client-secret-file=" + dir.file("client.secret"),
            "--metrics=127.0.0.1:" + std::to_string(metrics_ports[i])};
  }

  void start_all() {
    for (int i = 0; i < 3; ++i) {
      nodes.push_back(std::make_unique<child_process>(node_args(i)));
    }
    for (auto& n : nodes) {
      BOOST_REQUIRE_MESSAGE(n->wait_for_line(std::regex(" ready: "), deadline), n->transcript());
    }
  }

  std::string scrape(int i) const {
    auto r = troupe::test::http_get("127.0.0.1", metrics_ports[i], "/metrics");
    BOOST_REQUIRE_EQUAL(r.status, 200);
    return r.body;
  }

  /// Waits until node i reports both peers connected (connection_state 3 = up).
  void wait_peers_up(int i) const {
    auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      auto text = scrape(i);
      if (metric_sum(text, "troupe_transport_connection_state", "peer=\"[0-9]+\"") == 6) return;
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until,
                            "node " << i + 1 << " never saw both peers up:\n" << text);
      ::usleep(50'000);  // polling interval of a wait with a deadline, not synchronisation
    }
  }

  child_process run_cli(std::vector<std::string> args) const {
    args.insert(args.begin(), troupe);
    return child_process(args, {"TROUPE_CLUSTER_ID=test",
                                "TROUPE_CLIENT_SECRET_FILE=" + dir.file("client.secret")});
  }
};

/// Every family in `scrape` has a row in docs/metrics.md with the same type and label names.
void check_against_docs(const std::string& scrape) {
  auto doc = troupe::test::read_metrics_doc(std::string(TROUPE_SOURCE_DIR) + "/docs/metrics.md");
  for (auto& [name, family] : troupe::test::parse_scrape(scrape)) {
    auto row = doc.find(name);
    if (row == doc.end()) {
      BOOST_ERROR(name << " is served but has no row in docs/metrics.md");
      continue;
    }
    BOOST_CHECK_MESSAGE(row->second.type == family.type,
                        name << ": served as " << family.type << ", documented as " << row->second.type);
    BOOST_CHECK_MESSAGE(row->second.labels == family.labels,
                        name << ": served and documented label names differ");
  }
}

int exit_code_of(child_process& p) {
  auto st = p.wait_exit(deadline);
  BOOST_REQUIRE_MESSAGE(st.has_value(), "process did not exit:\n" << p.transcript());
  BOOST_REQUIRE_MESSAGE(WIFEXITED(*st), "process died by a signal:\n" << p.transcript());
  return WEXITSTATUS(*st);
}

}  // namespace

BOOST_AUTO_TEST_CASE(three_nodes_connect_serve_clients_expose_metrics_and_stop_cleanly) {
  cluster c;
  c.start_all();
  for (int i = 0; i < 3; ++i) c.wait_peers_up(i);

  // Every node answers an authenticated client.
  auto ping = c.run_cli({"ping", "--endpoints=" + c.addr(0) + "," + c.addr(1) + "," + c.addr(2),
                         "--count=2"});
  BOOST_CHECK_EQUAL(exit_code_of(ping), 0);
  for (int i = 1; i <= 3; ++i) {
    auto s = ping.transcript();
    BOOST_CHECK_MESSAGE(s.find("pong from node " + std::to_string(i)) != std::string::npos, s);
  }

  // The clients said goodbye: no client connection stays counted.
  {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (metric_sum(c.scrape(0), "troupe_transport_client_connections") != 0) {
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "client connections linger");
      ::usleep(50'000);
    }
  }

  // A client with the wrong client secret is refused with a reason and exit code 1 (definite).
  troupe::test::write_file(c.dir.file("wrong-client.secret"), "not-the-client-secret-at-all....\n",
                           0600);
  auto refused = c.run_cli({"ping", "--endpoints=" + c.addr(0),
                            "--client-secret-file=" + c.dir.file("wrong-client.secret")});
  BOOST_CHECK_EQUAL(exit_code_of(refused), 1);
  BOOST_CHECK_MESSAGE(refused.transcript().find("bad_proof") != std::string::npos,
                      refused.transcript());

  // Application traffic flows between every pair: wait for probe round trips on every node.
  for (int i = 0; i < 3; ++i) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (metric_sum(c.scrape(i), "troupe_node_probe_round_trip_seconds_count") < 4) {
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "no probe round trips");
      ::usleep(50'000);
    }
  }

  // promtool accepts every node's /metrics, and docs/metrics.md describes every family in it.
  for (int i = 0; i < 3; ++i) {
    check_against_docs(c.scrape(i));
    auto file = c.dir.file("metrics" + std::to_string(i + 1) + ".txt");
    std::ofstream(file) << c.scrape(i);
    // promtool reads the metrics from stdin: a shell redirects the file.
    child_process sh({"/bin/sh", "-c", promtool() + " check metrics < " + file});
    BOOST_CHECK_MESSAGE(exit_code_of(sh) == 0, "promtool: " << sh.transcript());
    BOOST_CHECK_MESSAGE(sh.transcript().empty(), "promtool lint: " << sh.transcript());
  }

  // SIGTERM: goodbye to every peer, exit 0.
  for (auto& n : c.nodes) n->signal(SIGTERM);
  for (auto& n : c.nodes) {
    BOOST_CHECK_EQUAL(exit_code_of(*n), 0);
    BOOST_CHECK_MESSAGE(n->transcript().find("node: stopped") != std::string::npos,
                        n->transcript());
  }
}

// Established clients used to count against the bound on handshakes in progress (256): a node
// serving 256 clients refused every further connection, peers' included. They have their own bound
// now (--max-clients), and the client beyond it learns why.
BOOST_AUTO_TEST_CASE(a_node_serves_clients_up_to_max_clients_and_refuses_the_next_with_a_reason) {
  cluster c;
  constexpr int max_clients = 300;  // above max_inbound_unauthenticated (256)
  auto args = c.node_args(0);
  args.push_back("--max-clients=" + std::to_string(max_clients));
  c.nodes.push_back(std::make_unique<child_process>(args));
  BOOST_REQUIRE_MESSAGE(c.nodes[0]->wait_for_line(std::regex(" ready: "), deadline), c.nodes[0]->transcript());

  auto secret = troupe::link::secret::from_file_contents(std::string_view(cluster::client_secret_text));
  BOOST_REQUIRE(secret.ok());
  troupe::client::connection_options o;
  o.host = "127.0.0.1";
  o.port = c.ports[0];
  o.cluster_id = "test";
  o.client_secret = std::make_shared<const troupe::link::secret>(*secret);
  o.connect_timeout = deadline;
  std::vector<std::unique_ptr<troupe::client::connection>> clients;
  for (int i = 0; i < max_clients; ++i) {
    auto conn = troupe::client::connection::open(o);
    BOOST_REQUIRE_MESSAGE(conn.ok(), "client " << i + 1 << ": " << (conn.ok() ? "" : conn.err().message));
    clients.push_back(std::move(*conn));
  }
  // One more: refused in the handshake, with the reason, as something another node may not say
  // (errc::closed: kv_client tries the next endpoint), not as a refusal of who the client is.
  auto extra = troupe::client::connection::open(o);
  BOOST_REQUIRE(!extra.ok());
  BOOST_TEST((extra.err().code == troupe::errc::closed), extra.err().message);
  BOOST_TEST(extra.err().message.find("too_many_clients") != std::string::npos, extra.err().message);
  auto scrape = c.scrape(0);
  BOOST_TEST(metric_sum(scrape, "troupe_transport_client_connections") == max_clients);
  BOOST_TEST(metric_sum(scrape, "troupe_transport_max_client_connections") == max_clients);
  BOOST_TEST(metric_sum(scrape, "troupe_transport_handshake_refusals_total", "reason=\"too_many_clients\"") == 1);

  // A client leaves: once the node has seen it go, a new one is served.
  clients.pop_back();
  auto until = std::chrono::steady_clock::now() + deadline;
  while (metric_sum(c.scrape(0), "troupe_transport_client_connections") != max_clients - 1) {
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "the node never saw the client leave");
    ::usleep(50'000);  // polling interval of a wait with a deadline, not synchronisation
  }
  auto again = troupe::client::connection::open(o);
  BOOST_TEST(again.ok(), (again.ok() ? "" : again.err().message));
  clients.clear();
  c.nodes[0]->signal(SIGTERM);
  BOOST_CHECK_EQUAL(exit_code_of(*c.nodes[0]), 0);
}

BOOST_AUTO_TEST_CASE(a_node_with_the_wrong_secret_is_refused_and_gets_nothing_through) {
  cluster c;
  c.start_all();
  for (int i = 0; i < 3; ++i) c.wait_peers_up(i);
  // An impostor claiming id 1 (the lowest id dials the others) with the wrong secret.
  auto args = c.node_args(0, "wrong.secret");
  auto impostor_port = troupe::test::free_port();
  args[3] = "--listen=127.0.0.1:" + std::to_string(impostor_port);
  args[5] = "--data-dir=" + c.dir.file("impostor");
  args[9] = "--metrics=127.0.0.1:" + std::to_string(troupe::test::free_port());
  child_process impostor(args);
  BOOST_REQUIRE_MESSAGE(c.nodes[1]->wait_for_line(std::regex("refused \\(bad_proof"), deadline),
                        c.nodes[1]->transcript());
  // The refusal is counted, and node 2 still talks to the real node 1 (nothing was replaced).
  auto text = c.scrape(1);
  BOOST_CHECK_GT(metric_sum(text, "troupe_transport_handshake_refusals_total", ".*bad_proof.*"), 0);
  BOOST_CHECK_EQUAL(metric_sum(text, "troupe_transport_connection_state", "peer=\"1\""), 3);
  check_against_docs(text);
  impostor.signal(SIGTERM);
  BOOST_CHECK_EQUAL(exit_code_of(impostor), 0);
  auto before = metric_sum(c.scrape(1), "troupe_node_probe_round_trip_seconds_count", "peer=\"1\"");
  auto until = std::chrono::steady_clock::now() + deadline;
  while (metric_sum(c.scrape(1), "troupe_node_probe_round_trip_seconds_count", "peer=\"1\"") <= before) {
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "node 2 lost node 1");
    ::usleep(50'000);
  }
}

BOOST_AUTO_TEST_CASE(bad_configuration_exits_2_with_one_line) {
  cluster c;
  auto args = c.node_args(0);
  args.push_back("--no-such-option=1");
  child_process unknown(args);
  BOOST_CHECK_EQUAL(exit_code_of(unknown), 2);
  BOOST_CHECK_EQUAL(unknown.lines().size(), 1u);
  BOOST_CHECK_MESSAGE(unknown.transcript().find("no-such-option") != std::string::npos,
                      unknown.transcript());

  auto bad_id = c.node_args(0);
  bad_id[2] = "--id=zero";
  child_process bad(bad_id);
  BOOST_CHECK_EQUAL(exit_code_of(bad), 2);
  BOOST_CHECK_MESSAGE(bad.transcript().find("--id") != std::string::npos, bad.transcript());
}

BOOST_AUTO_TEST_CASE(a_data_directory_in_use_or_of_another_node_is_refused) {
  cluster c;
  child_process first(c.node_args(0));
  BOOST_REQUIRE_MESSAGE(first.wait_for_line(std::regex(" ready: "), deadline), first.transcript());

  // Same data directory, other ports: the lock refuses it.
  auto args = c.node_args(0);
  args[3] = "--listen=127.0.0.1:" + std::to_string(troupe::test::free_port());
  args[9] = "--metrics=127.0.0.1:" + std::to_string(troupe::test::free_port());
  child_process second(args);
  BOOST_CHECK_EQUAL(exit_code_of(second), 1);
  BOOST_CHECK_MESSAGE(second.transcript().find("data1") != std::string::npos, second.transcript());
  first.signal(SIGTERM);
  BOOST_CHECK_EQUAL(exit_code_of(first), 0);

  // Node 2 on node 1's data directory: refused, naming both.
  auto other = c.node_args(1);
  other[5] = "--data-dir=" + c.dir.file("data1");
  child_process wrong(other);
  BOOST_CHECK_EQUAL(exit_code_of(wrong), 1);
  BOOST_CHECK_MESSAGE(wrong.transcript().find("belongs to node 1") != std::string::npos,
                      wrong.transcript());
}

BOOST_AUTO_TEST_CASE(a_taken_metrics_port_is_a_clear_error) {
  cluster c;
  child_process first(c.node_args(0));
  BOOST_REQUIRE_MESSAGE(first.wait_for_line(std::regex(" ready: "), deadline), first.transcript());
  auto args = c.node_args(1);
  args[9] = "--metrics=127.0.0.1:" + std::to_string(c.metrics_ports[0]);
  child_process second(args);
  BOOST_CHECK_EQUAL(exit_code_of(second), 1);
  BOOST_CHECK_MESSAGE(second.transcript().find("in use") != std::string::npos, second.transcript());
  first.signal(SIGTERM);
  BOOST_CHECK_EQUAL(exit_code_of(first), 0);
}
