// connection::open's handshake errors. A node that accepts the TCP connection and then says nothing
// (a paused or overloaded process: the kernel completes the connect, nobody answers) is a timeout,
// which kv_client retries on another node, never a refusal, which it takes as final. Before, when
// the handshake's own timer fired before open's deadline check (a late wake-up under load), the
// client gave up with "refused the connection: handshake_timeout" although other nodes were fine.
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/client/connection.hpp"

using namespace troupe;

namespace {

/// A loopback listener that never accepts: connects complete in the kernel's backlog, unanswered.
class silent_listener {
 public:
  silent_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof a;
    BOOST_REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
  }
  ~silent_listener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(client_connection)

BOOST_AUTO_TEST_CASE(a_node_that_never_answers_the_handshake_is_a_timeout_not_a_refusal) {
  silent_listener node;
  client::connection_options o;
  o.host = "127.0.0.1";
  o.port = node.port();
  o.cluster_id = "test";
  o.connect_timeout = std::chrono::milliseconds(300);
  auto c = client::connection::open(o);
  BOOST_REQUIRE(!c.ok());
  BOOST_TEST((c.err().code == errc::timeout), c.err().message);
  BOOST_TEST(c.err().message.find("timed out") != std::string::npos, c.err().message);
}

BOOST_AUTO_TEST_CASE(only_a_refusal_of_who_we_are_is_final) {
  using link::close_reason;
  for (auto r : {close_reason::bad_proof, close_reason::wrong_cluster, close_reason::unknown_node,
                 close_reason::duplicate_node, close_reason::wrong_node, close_reason::incompatible_version,
                 close_reason::client_not_allowed, close_reason::unauthenticated_peer}) {
    BOOST_TEST((client::handshake_error_code(r) == errc::refused), link::to_string(r));
  }
  // Our handshake timer ran out (the race that used to turn a paused node into "refused"): retry.
  BOOST_TEST((client::handshake_error_code(close_reason::handshake_timeout) == errc::timeout));
  for (auto r : {close_reason::shutting_down, close_reason::protocol_error, close_reason::idle_timeout,
                 close_reason::superseded, close_reason::unknown}) {
    BOOST_TEST((client::handshake_error_code(r) == errc::closed), link::to_string(r));
  }
}

BOOST_AUTO_TEST_SUITE_END()
