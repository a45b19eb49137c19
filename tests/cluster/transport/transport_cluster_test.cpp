// The transport between real processes on loopback (transport_test_peer, one node each).
// Node 1 always dials node 2 (the lower id dials). Every wait is for a line of output with a deadline
// that only catches hangs.
#define BOOST_TEST_MODULE transport_cluster
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <thread>

#include <chrono>

#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tcp_proxy.hpp"
#include "tests/support/process.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::test::child_process;

constexpr auto deadline = std::chrono::milliseconds(120s);
const std::string good_secret = "cluster-secret-for-transport-tests";

/// The cluster id of this test process's nodes. Tests of other worktrees may run at once on this
/// machine, and a port one of them freed can be ours next (a restarted node keeps its port): with
/// its own cluster id, a stray node is refused in the handshake instead of feeding our receiver.
std::string cluster_id() { return "transport-test-" + std::to_string(::getpid()); }

/// Empty when `ids` is exactly first, first+1, ..., first+count-1; else what differs (at most 50
/// ids of each kind), for the failure message: ids out of place and ids beyond the expected count.
std::string id_mismatch(const std::vector<unsigned long>& ids, unsigned long first, std::size_t count) {
  std::string wrong, extra;
  std::size_t n_wrong = 0;
  for (std::size_t i = 0; i < ids.size() && i < count; ++i)
    if (ids[i] != first + i && n_wrong++ < 50)
      wrong += " [" + std::to_string(i) + "]=" + std::to_string(ids[i]);
  for (std::size_t i = count; i < ids.size() && i < count + 50; ++i)
    extra += " " + std::to_string(ids[i]);
  if (ids.size() == count && n_wrong == 0)
    return {};
  return std::to_string(ids.size()) + " ids, " + std::to_string(count) + " expected; " +
         std::to_string(n_wrong) + " out of place:" + wrong + "; beyond the expected count:" + extra;
}

/// One transport_test_peer process and the FIFO its commands go through.
class node {
 public:
  struct options {
    unsigned id = 0;
    unsigned short listen_port = 0;  ///< 0: any free port (read back from "listening")
    unsigned peer_id = 0;
    unsigned short peer_port = 0;  ///< 0: accept only (the peer dials us)
    std::string secret = good_secret;
    bool print_each = false;
    bool batched = false;  ///< the receiver gets delivery_batch (registered with batched_atom)
  };

  node(const troupe::test::temp_dir& dir, const options& o, const std::string& name) {
    fifo_ = dir.file(name + ".commands");
    ::unlink(fifo_.c_str());
    BOOST_REQUIRE_EQUAL(::mkfifo(fifo_.c_str(), 0600), 0);
    // O_RDWR: opening does not wait for the reader, and the FIFO stays open for the child.
    fd_ = ::open(fifo_.c_str(), O_RDWR | O_CLOEXEC);
    BOOST_REQUIRE(fd_ >= 0);
    std::vector<std::string> argv{troupe::test::binary_path("transport_test_peer"),
                                  "--id=" + std::to_string(o.id),
                                  "--listen=127.0.0.1:" + std::to_string(o.listen_port),
                                  "--peer=" + std::to_string(o.peer_id) + "=127.0.0.1:" +
                                      std::to_string(o.peer_port),
                                  "--to=" + std::to_string(o.peer_id),
                                  "--secret=" + o.secret,
                                  "--cluster=" + cluster_id(),
                                  "--seed=" + std::to_string(o.id),
                                  "--commands=" + fifo_};
    if (o.print_each)
      argv.push_back("--print-each");
    if (o.batched)
      argv.push_back("--batched");
    proc_ = std::make_unique<child_process>(argv, std::vector<std::string>{}, dir.file(name + ".log"));
    auto m = proc_->wait_for_line(std::regex("listening (\\d+)"), deadline);
    BOOST_REQUIRE_MESSAGE(m, name << " did not start:\n" << proc_->transcript());
    port_ = static_cast<unsigned short>(std::stoul((*m)[1]));
    BOOST_REQUIRE_MESSAGE(proc_->wait_for_line(std::regex("ready"), deadline), proc_->transcript());
  }

  ~node() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  unsigned short port() const { return port_; }
  child_process& proc() { return *proc_; }

  void command(const std::string& line) {
    const auto text = line + "\n";
    BOOST_REQUIRE_EQUAL(::write(fd_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }

  std::smatch expect(const std::string& pattern) {
    auto m = proc_->wait_for_line(std::regex(pattern), deadline);
    BOOST_REQUIRE_MESSAGE(m, "no line matching '" << pattern << "' from " << fifo_ << ":\n"
                                                  << proc_->transcript());
    return *m;
  }

  /// The ids of every "recv LANE ID" line read so far, in order.
  std::vector<unsigned long> received_ids(const std::string& lane_name) const {
    const std::regex re("^recv " + lane_name + " (\\d+)$");
    std::vector<unsigned long> ids;
    std::smatch m;
    for (const auto& l : proc_->lines())
      if (std::regex_search(l, m, re))
        ids.push_back(std::stoul(m[1]));
    return ids;
  }

  /// The lines read so far that do not match `pattern`, for failure messages.
  std::string transcript_without(const std::string& pattern) const {
    const std::regex re(pattern);
    std::string text;
    for (const auto& l : proc_->lines())
      if (!std::regex_search(l, re))
        text += l + "\n";
    return text;
  }

  std::size_t count_lines(const std::string& pattern) const {
    const std::regex re(pattern);
    std::size_t n = 0;
    for (const auto& l : proc_->lines())
      n += std::regex_search(l, re) ? 1 : 0;
    return n;
  }

  /// The value of one metric sample, read through the `metrics` command.
  double metric(const std::string& sample) {
    command("metrics");
    double value = -1;
    for (;;) {
      auto l = proc_->read_line(deadline);
      BOOST_REQUIRE_MESSAGE(l, "no metrics-end:\n" << proc_->transcript());
      if (*l == "metrics-end")
        return value;
      const std::string prefix = "metric " + sample + " ";
      if (l->rfind(prefix, 0) == 0)
        value = std::stod(l->substr(prefix.size()));
    }
  }

 private:
  std::string fifo_;
  int fd_ = -1;
  unsigned short port_ = 0;
  std::unique_ptr<child_process> proc_;
};

struct pair_fixture {
  troupe::test::temp_dir dir{"transport-test"};
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(transport_between_processes, pair_fixture)

namespace {

void hundred_thousand_in_order(const troupe::test::temp_dir& dir, bool batched) {
  node receiver(dir, {.id = 2, .peer_id = 1, .batched = batched}, "node2");
  node sender(dir, {.id = 1, .peer_id = 2, .peer_port = receiver.port()}, "node1");
  sender.command("send 100000 application");
  receiver.expect("progress application count=100000 last=100000 errors=0");
  BOOST_TEST(receiver.count_lines("order-error") == 0u);
  BOOST_TEST(receiver.count_lines("^error ") == 0u);
  BOOST_TEST(sender.count_lines("^(busy|lost) ") == 0u);
  BOOST_TEST(receiver.metric("troupe_transport_received_messages_total{lane=\"application\",peer=\"1\"}") ==
             100000.0);
}

void resets_lose_nothing(const troupe::test::temp_dir& dir, bool batched) {
  node receiver(dir, {.id = 2, .peer_id = 1, .batched = batched}, "node2");
  troupe::test::tcp_proxy proxy(receiver.port());
  node sender(dir, {.id = 1, .peer_id = 2, .peer_port = proxy.port()}, "node1");
  constexpr int rounds = 5;
  for (int r = 1; r <= rounds; ++r) {
    sender.command("send 20000 application");
    // Half of this round has arrived, the rest is in flight or queued: break the connection.
    receiver.expect("progress application count=" + std::to_string(r * 20000 - 10000) + " ");
    proxy.cut();
  }
  receiver.expect("progress application count=100000 last=100000 errors=0");
  BOOST_TEST(receiver.count_lines("order-error") == 0u);
  BOOST_TEST(receiver.count_lines("^error ") == 0u);
  BOOST_TEST(sender.count_lines("^(busy|lost) ") == 0u);
  // The last cut can land after the receiver already read every byte, so the reconnect it causes
  // may come after the final progress line: wait for it (the deadline only catches a hang).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((proxy.accepted() < static_cast<std::size_t>(rounds + 1) ||
          sender.metric("troupe_transport_reconnects_total{peer=\"2\"}") < rounds) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval, not a sync
  }
  BOOST_TEST(proxy.accepted() >= static_cast<std::size_t>(rounds + 1));
  BOOST_TEST(sender.metric("troupe_transport_reconnects_total{peer=\"2\"}") >= rounds);
}

}  // namespace

BOOST_AUTO_TEST_CASE(hundred_thousand_application_messages_arrive_complete_and_in_order) {
  hundred_thousand_in_order(dir, false);
}

BOOST_AUTO_TEST_CASE(a_batched_endpoint_gets_a_hundred_thousand_messages_complete_and_in_order) {
  hundred_thousand_in_order(dir, true);
}

BOOST_AUTO_TEST_CASE(connections_reset_mid_stream_lose_duplicate_or_reorder_nothing) {
  resets_lose_nothing(dir, false);
}

BOOST_AUTO_TEST_CASE(connections_reset_mid_stream_lose_nothing_for_a_batched_endpoint_either) {
  resets_lose_nothing(dir, true);
}

BOOST_AUTO_TEST_CASE(a_restarted_peer_comes_back_and_in_flight_messages_are_reported_lost) {
  const auto port = troupe::test::free_port();
  auto receiver = std::make_unique<node>(
      dir, node::options{.id = 2, .listen_port = port, .peer_id = 1, .print_each = true}, "node2");
  node sender(dir, {.id = 1, .peer_id = 2, .peer_port = port}, "node1");
  sender.command("send 1000 application");
  receiver->expect("recv application 1000$");
  sender.command("await-acked");
  sender.expect("^acked$");
  // Frozen, the receiver takes the next messages into its socket buffer at most: none is
  // delivered or acknowledged before it dies.
  BOOST_REQUIRE(receiver->proc().stop(deadline));
  sender.command("send 500 application");
  sender.expect("^sent 500$");
  receiver->proc().signal(SIGKILL);
  BOOST_REQUIRE(receiver->proc().wait_exit(deadline));
  {
    // Exactly 1..1000, once each: the frozen receiver delivered none of the next 500, and the
    // reliable lane duplicated nothing.
    const auto ids = receiver->received_ids("application");
    const auto wrong = id_mismatch(ids, 1, 1000);
    BOOST_TEST(wrong.empty(), "recv application: " << wrong << "\nthe receiver's other lines:\n"
                                                   << receiver->transcript_without("^recv "));
    BOOST_TEST(receiver->count_lines("order-error") == 0u);
  }
  receiver = std::make_unique<node>(
      dir, node::options{.id = 2, .listen_port = port, .peer_id = 1, .print_each = true}, "node2b");
  std::set<unsigned long> lost;
  while (lost.size() < 500) {
    auto m = sender.expect("^lost (\\d+) (\\w+)$");
    BOOST_TEST(m[2].str() == "peer_restarted");
    BOOST_TEST(lost.insert(std::stoul(m[1])).second);
  }
  BOOST_TEST(*lost.begin() == 1001u);
  BOOST_TEST(*lost.rbegin() == 1500u);
  // The link is back: new messages reach the new incarnation, and none of the lost ones do.
  sender.command("send 100 application");
  receiver->expect("recv application 1600$");
  const auto ids = receiver->received_ids("application");
  const auto wrong = id_mismatch(ids, 1501, 100);
  BOOST_TEST(wrong.empty(), "recv application at the new incarnation: " << wrong);
  BOOST_TEST(receiver->count_lines("order-error") == 0u);
}

BOOST_AUTO_TEST_CASE(a_peer_with_a_wrong_secret_is_refused_and_nothing_it_sends_is_delivered) {
  node victim(dir, {.id = 2, .peer_id = 1, .print_each = true}, "node2");
  node impostor(dir, {.id = 1, .peer_id = 2, .peer_port = victim.port(),
                      .secret = "not-the-cluster-secret-at-all"},
                "impostor");
  impostor.command("send 10 application");
  impostor.command("send 10 raft_control");
  victim.expect("handshake on connection .* refused \\(bad_proof, by us\\)");
  impostor.expect("refused \\(bad_proof, by the remote\\)");
  BOOST_TEST(victim.metric("troupe_transport_handshake_refusals_total{reason=\"bad_proof\"}") >= 1.0);
  BOOST_TEST(victim.count_lines("^(recv|control-after-bulk|progress) ") == 0u);
}

BOOST_AUTO_TEST_CASE(a_control_message_overtakes_a_queue_of_bulk_messages) {
  node receiver(dir, {.id = 2, .peer_id = 1}, "node2");
  node sender(dir, {.id = 1, .peer_id = 2, .peer_port = receiver.port()}, "node1");
  // Both sides established (the dialer is the last to know) and the first message acknowledged.
  sender.command("send 1 application");
  sender.command("await-acked");
  sender.expect("^acked$");
  // A frozen receiver makes the backlog real: the socket buffers fill, the rest waits in the lanes.
  BOOST_REQUIRE(receiver.proc().stop(deadline));
  sender.command("burst 10000 8192");
  sender.expect("^sent 10001$");
  sender.command("status");
  sender.expect("^status state=up");
  receiver.proc().signal(SIGCONT);
  auto m = receiver.expect("^control-after-bulk 1 (\\d+)$");
  const auto bulk_before = std::stoul(m[1]);
  BOOST_TEST_MESSAGE("bulk messages delivered before the control message: " << bulk_before);
  BOOST_TEST(bulk_before < 5000u);
  receiver.expect("progress raft_bulk count=10000 last=10000 errors=0");
}

BOOST_AUTO_TEST_CASE(a_malformed_frame_closes_only_its_connection_and_the_node_keeps_serving) {
  node receiver(dir, {.id = 2, .peer_id = 1, .print_each = true}, "node2");
  node sender(dir, {.id = 1, .peer_id = 2, .peer_port = receiver.port()}, "node1");
  sender.command("send 100 application");
  receiver.expect("recv application 100$");

  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(receiver.port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE_EQUAL(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  // A segment table claiming 2^32 segments: no valid frame starts like this.
  const unsigned char garbage[16] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  BOOST_REQUIRE_EQUAL(::send(fd, garbage, sizeof garbage, MSG_NOSIGNAL), 16);
  receiver.expect("malformed frame on connection");
  char buf[64];
  timeval tv{60, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  BOOST_TEST(::recv(fd, buf, sizeof buf, 0) <= 0);  // closed by the node
  ::close(fd);

  sender.command("send 100 application");
  receiver.expect("recv application 200$");
  BOOST_TEST(receiver.metric("troupe_transport_malformed_frames_total{connection=\"unknown\"}") == 1.0);
  BOOST_TEST(receiver.count_lines("order-error") == 0u);
}

BOOST_AUTO_TEST_CASE(a_stopping_node_says_goodbye_and_exits_cleanly) {
  node receiver(dir, {.id = 2, .peer_id = 1}, "node2");
  node sender(dir, {.id = 1, .peer_id = 2, .peer_port = receiver.port()}, "node1");
  sender.command("send 1 application");
  sender.command("await-acked");
  sender.expect("^acked$");
  receiver.command("quit");
  receiver.expect("^bye$");
  auto status = receiver.proc().wait_exit(deadline);
  BOOST_REQUIRE(status);
  BOOST_TEST(WIFEXITED(*status));
  BOOST_TEST(WEXITSTATUS(*status) == 0);
  // The peer learns it from the goodbye frame, not from a broken connection.
  sender.expect("log info closing the connection to node 2 \\(shutting_down\\)");
}

BOOST_AUTO_TEST_SUITE_END()
