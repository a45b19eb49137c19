// Eager writes (runtime/transport/eager_io.hpp) on real loopback sockets, in one process: a CAF
// broker listens with an eager doorman and writes what the test asks for; the test reads with a
// plain blocking socket. Every byte of the stream is a function of its position, so loss,
// duplication and reordering all show. Waits are blocking reads with a receive timeout and CAF
// requests with a deadline that only catch hangs.
#define BOOST_TEST_MODULE eager_io
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/make_counted.hpp>
#include <caf/scoped_actor.hpp>

#include "runtime/transport/eager_io.hpp"

using namespace std::chrono_literals;
using troupe::transport::detail::write_batcher;

namespace {

using write_atom = caf::atom_constant<caf::atom("ew_write")>;
using close_atom = caf::atom_constant<caf::atom("ew_close")>;
using acks_atom = caf::atom_constant<caf::atom("ew_acks")>;
using ready_atom = caf::atom_constant<caf::atom("ew_ready")>;

constexpr auto deadline = 60s;

/// The byte at `position` of the stream the broker writes.
char byte_at(std::uint64_t position) {
  return static_cast<char>((position * 2654435761u) >> 13);
}

struct server_state {
  std::optional<caf::io::connection_handle> hdl;
  std::uint64_t written = 0;  ///< bytes appended to the stream so far
  std::uint64_t acks = 0;     ///< data_transferred_msg received (only CAF's write path sends them)
  caf::intrusive_ptr<write_batcher> batcher;
  static inline const char* name = "eager_io_test.server";
};

caf::behavior server(caf::io::stateful_broker<server_state>* self, caf::io::doorman_ptr doorman,
                     caf::intrusive_ptr<write_batcher> batcher) {
  self->state.batcher = std::move(batcher);
  self->add_doorman(std::move(doorman));
  auto append = [self](std::uint32_t bytes) {
    auto& buf = self->wr_buf(*self->state.hdl);
    for (std::uint32_t i = 0; i < bytes; ++i)
      buf.push_back(byte_at(self->state.written++));
    self->flush(*self->state.hdl);
  };
  return {
      [=](const caf::io::new_connection_msg& msg) {
        self->state.hdl = msg.handle;
        self->configure_read(msg.handle, caf::io::receive_policy::at_most(1024));
        self->ack_writes(msg.handle, true);
      },
      [=](ready_atom) { return self->state.hdl.has_value(); },
      [=](const caf::io::new_data_msg&) {},
      [=](const caf::io::data_transferred_msg&) { ++self->state.acks; },
      [=](const caf::io::connection_closed_msg&) {},
      [=](const caf::io::acceptor_closed_msg&) {},
      // One flush per message: each one a step of the multiplexer's loop of its own.
      [=](write_atom, std::uint32_t bytes) {
        append(bytes);
        return self->state.written;
      },
      [=](write_atom, std::uint32_t bytes, close_atom) {
        append(bytes);
        self->close(*self->state.hdl);
        return self->state.written;
      },
      [=](close_atom) {
        self->close(*self->state.hdl);
        return self->state.written;
      },
      [=](acks_atom) { return self->state.acks; },
  };
}

struct fixture {
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> system;
  std::optional<caf::scoped_actor> self;
  caf::actor broker;
  int client = -1;
  std::uint64_t received = 0;  ///< bytes the client read and checked

  explicit fixture(std::size_t eager_limit = 256u << 10) {
    cfg.load<caf::io::middleman>();
    system.emplace(cfg);
    self.emplace(*system);
    auto* mpx = dynamic_cast<caf::io::network::default_multiplexer*>(&system->middleman().backend());
    BOOST_REQUIRE(mpx != nullptr);
    auto batcher = caf::make_counted<write_batcher>(*mpx, eager_limit);
    auto doorman = troupe::transport::detail::listen_eager(*mpx, 0, "127.0.0.1", batcher);
    BOOST_REQUIRE(doorman);
    const auto port = (*doorman)->port();
    broker = system->middleman().spawn_broker(server, std::move(*doorman), std::move(batcher));
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE(client >= 0);
    // A small receive buffer that does not grow: unread bytes soon back up into the server.
    int rcvbuf = 64 << 10;
    ::setsockopt(client, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    timeval tv{static_cast<time_t>(deadline.count()), 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    // The broker has the connection once it says so (the accept is asynchronous).
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!ask<bool>(ready_atom::value))
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "the broker never saw the connection");
  }

  ~fixture() {
    if (client >= 0)
      ::close(client);
    (*self)->send_exit(broker, caf::exit_reason::user_shutdown);
  }

  template <class T, class... Ts>
  T ask(Ts&&... xs) {
    std::optional<T> answer;
    (*self)->request(broker, std::chrono::seconds(60), std::forward<Ts>(xs)...)
        .receive([&](T x) { answer = x; },
                 [&](caf::error& e) { BOOST_FAIL("broker request failed: " + system->render(e)); });
    BOOST_REQUIRE(answer);
    return *answer;
  }

  /// Reads until `total` bytes of the stream were received, checking each one.
  void read_up_to(std::uint64_t total) {
    std::vector<char> buf(1 << 16);
    while (received < total) {
      const auto want = std::min<std::uint64_t>(buf.size(), total - received);
      const auto n = ::recv(client, buf.data(), want, 0);
      BOOST_REQUIRE_MESSAGE(n > 0, "stream ended or timed out after " + std::to_string(received) +
                                       " of " + std::to_string(total) + " bytes");
      for (ssize_t i = 0; i < n; ++i)
        if (buf[static_cast<std::size_t>(i)] != byte_at(received + static_cast<std::uint64_t>(i)))
          BOOST_FAIL("wrong byte at position " + std::to_string(received + static_cast<std::uint64_t>(i)));
      received += static_cast<std::uint64_t>(n);
    }
  }

  /// The connection's next event is its end (FIN), not more bytes.
  void expect_end() {
    char c = 0;
    const auto n = ::recv(client, &c, 1, 0);
    BOOST_CHECK_MESSAGE(n == 0, "expected the end of the stream after " + std::to_string(received) +
                                    " bytes, recv answered " + std::to_string(n));
  }

  /// Asks for `count` writes of `bytes` each, one message (one loop step) each; the stream's end.
  std::uint64_t write_many(std::size_t count, std::uint32_t bytes) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < count; ++i)
      total = ask<std::uint64_t>(write_atom::value, bytes);
    return total;
  }
};

/// An eager limit no write of these tests reaches: only the kernel's refusal hands bytes to CAF.
struct no_limit_fixture : fixture {
  no_limit_fixture() : fixture(std::size_t{1} << 40) {}
};

/// A small eager limit: larger buffers go CAF's way at once.
struct small_limit_fixture : fixture {
  small_limit_fixture() : fixture(4096) {}
};

constexpr std::uint32_t chunk_bytes = 64u << 10;
// 32 MiB: far more than the kernel buffers while the client does not read (send buffer at most
// net.core.wmem_max, 4 MiB here; the client's receive buffer is pinned to 64 KiB).
constexpr std::size_t backed_up_chunks = 512;

}  // namespace

BOOST_FIXTURE_TEST_CASE(small_flushes_are_written_at_once_without_write_notifications, fixture) {
  for (int i = 0; i < 20; ++i) {
    const auto total = ask<std::uint64_t>(write_atom::value, std::uint32_t{1000});
    read_up_to(total);
  }
  // CAF's own write path acknowledges every write it makes (ack_writes is on); eager sends do not.
  BOOST_CHECK_EQUAL(ask<std::uint64_t>(acks_atom::value), 0u);
}

BOOST_FIXTURE_TEST_CASE(what_the_kernel_does_not_take_goes_out_later_complete_and_in_order, no_limit_fixture) {
  const auto total = write_many(backed_up_chunks, chunk_bytes);
  BOOST_REQUIRE_EQUAL(total, backed_up_chunks * chunk_bytes);
  read_up_to(total);
  // The kernel refused part of it, so CAF's write path took over (and acknowledged its writes).
  BOOST_CHECK_GT(ask<std::uint64_t>(acks_atom::value), 0u);
  // Once that path is idle again, flushes are eager again and continue the same stream.
  const auto acks = ask<std::uint64_t>(acks_atom::value);
  for (int i = 0; i < 20; ++i)
    read_up_to(ask<std::uint64_t>(write_atom::value, std::uint32_t{1000}));
  BOOST_CHECK_EQUAL(ask<std::uint64_t>(acks_atom::value), acks);
  BOOST_CHECK_EQUAL(ask<std::uint64_t>(close_atom::value), received);
  expect_end();
}

BOOST_FIXTURE_TEST_CASE(a_buffer_at_the_eager_limit_goes_through_CAFs_write_path, small_limit_fixture) {
  read_up_to(ask<std::uint64_t>(write_atom::value, std::uint32_t{8192}));
  const auto acks = ask<std::uint64_t>(acks_atom::value);
  BOOST_CHECK_GT(acks, 0u);
  // Below the limit: eager again, in the same stream.
  read_up_to(ask<std::uint64_t>(write_atom::value, std::uint32_t{1000}));
  BOOST_CHECK_EQUAL(ask<std::uint64_t>(acks_atom::value), acks);
}

BOOST_FIXTURE_TEST_CASE(a_close_right_after_a_flush_still_delivers_the_bytes_before_the_end, fixture) {
  read_up_to(ask<std::uint64_t>(write_atom::value, std::uint32_t{1000}));
  // Flushed and closed in the same loop step: the bytes are still only gathered, not written.
  const auto total = ask<std::uint64_t>(write_atom::value, std::uint32_t{5000}, close_atom::value);
  read_up_to(total);
  expect_end();
}

BOOST_FIXTURE_TEST_CASE(a_close_while_megabytes_wait_delivers_all_of_them_before_the_end, no_limit_fixture) {
  write_many(backed_up_chunks - 1, chunk_bytes);
  const auto total = ask<std::uint64_t>(write_atom::value, chunk_bytes, close_atom::value);
  BOOST_REQUIRE_EQUAL(total, backed_up_chunks * chunk_bytes);
  read_up_to(total);
  expect_end();
}
