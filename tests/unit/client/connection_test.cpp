// connection::open's handshake errors. A node that accepts the TCP connection and then says nothing
// (a paused or overloaded process: the kernel completes the connect, nobody answers) is a timeout,
// which kv_client retries on another node, never a refusal, which it takes as final. Before, when
// the handshake's own timer fired before open's deadline check (a late wake-up under load), the
// client gave up with "refused the connection: handshake_timeout" although other nodes were fine.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "runtime/client/connection.hpp"
#include "tests/support/process.hpp"

using namespace troupe;

namespace {

/// A loopback listener that never accepts: connects complete in the kernel's backlog, unanswered.
class silent_listener {
 public:
  silent_listener() : l_(test::listen_on_loopback(8)) {}
  ~silent_listener() { ::close(l_.fd); }
  std::uint16_t port() const { return l_.port; }

 private:
  test::loopback_listener l_;
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
                 close_reason::superseded, close_reason::too_many_clients, close_reason::unknown}) {
    BOOST_TEST((client::handshake_error_code(r) == errc::closed), link::to_string(r));
  }
}

BOOST_AUTO_TEST_SUITE_END()
