#pragma once
/// Sockets that write without waiting for the event loop (internal to runtime/transport).
///
/// CAF 0.17's scribe (`caf::io::network::stream::flush`) answers every flush of a socket that is not
/// writing already by subscribing to write readiness (an `epoll_ctl`), writes in a later round of
/// the multiplexer's loop, and unsubscribes once its buffer is empty (another `epoll_ctl`): two
/// system calls and one loop round per reply (perf, the leader under a c=64 put load: 2.7
/// `epoll_ctl` per put). An `eager_scribe` gathers the flushes of one step of the loop (one
/// mailbox drain of the broker, or one batch of socket events) and then writes each flushed socket
/// with one `send`. Only when the kernel does not take everything (or the buffer holds
/// `eager_limit` bytes or more) does it fall back to CAF's own write path for the rest:
/// subscribe, write when writable, acknowledge with `data_transferred_msg`.
///
/// Contract, where it differs from CAF's scribe: bytes written eagerly are not acknowledged with
/// `data_transferred_msg` (only CAF's fall-back path acknowledges). A pull-based writer that stops
/// filling a buffer at `eager_limit` bytes and pulls more on acknowledgements (the transport's
/// `pump`) therefore always gets one when it needs one: a buffer it stopped filling because it was
/// full goes CAF's way. Everything else is CAF's: reads, the order of bytes (an eager write happens
/// only while CAF's write path is idle, so nothing of it is pending), errors (a failed eager send
/// hands the bytes to CAF's path, which meets the error again and reports `connection_closed_msg`),
/// and closing (`graceful_shutdown` writes what is gathered first; CAF sends FIN after the rest).
///
/// Thread-safety: like CAF's servants, everything runs on the multiplexer's thread.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/io/doorman.hpp>
#include <caf/io/network/acceptor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>
#include <caf/io/network/stream.hpp>
#include <caf/io/scribe.hpp>
#include <caf/policy/tcp.hpp>

namespace troupe::transport::detail {

class eager_scribe;

/// Runs the gathered eager writes: posted to the multiplexer (`exec_later`) when the first socket of
/// a step flushes, it runs in the loop's next round, before the loop blocks in `epoll_wait` again.
/// One per transport broker, shared with its doorman; it makes their scribes, so every scribe of a
/// broker has the same `eager_limit`: the broker's write high-water mark, at which its writer stops
/// filling a buffer and waits for CAF's acknowledgement (the file comment says why they match).
class write_batcher final : public caf::io::network::multiplexer::runnable {
 public:
  write_batcher(caf::io::network::default_multiplexer& mpx, std::size_t eager_limit)
      : mpx_(mpx), eager_limit_(eager_limit) {}

  /// A new eager scribe on the connected socket `fd`, writing through this batcher.
  caf::intrusive_ptr<eager_scribe> make_scribe(caf::io::network::native_socket fd);
  std::size_t eager_limit() const noexcept { return eager_limit_; }

  /// Writes `s` in the next run (the caller marks it queued, so it comes once per run).
  void enqueue(eager_scribe* s);

  resume_result resume(caf::execution_unit*, std::size_t) override;

 private:
  caf::io::network::default_multiplexer& mpx_;
  std::size_t eager_limit_;
  std::vector<caf::intrusive_ptr<eager_scribe>> pending_;
  std::vector<caf::intrusive_ptr<eager_scribe>> running_;  ///< reused: keeps its capacity
  bool posted_ = false;
};

/// A TCP scribe that writes eagerly (see the file comment). Holds `batcher` by raw pointer: only
/// `flush`, which its broker calls, uses it, and the broker keeps the batcher alive.
class eager_scribe final : public caf::io::scribe {
 public:
  eager_scribe(caf::io::network::default_multiplexer& mpx, caf::io::network::native_socket fd,
               write_batcher* batcher);

  void configure_read(caf::io::receive_policy::config config) override;
  void ack_writes(bool enable) override;
  std::vector<char>& wr_buf() override;
  std::vector<char>& rd_buf() override;
  void graceful_shutdown() override;
  void flush() override;
  std::string addr() const override;
  std::uint16_t port() const override;
  void add_to_loop() override;
  void remove_from_loop() override;

  /// Writes what was flushed since the last run (the batcher calls it).
  void write_now();

 private:
  /// CAF's stream with the TCP policy, and a view of whether CAF's write path is busy.
  class stream final : public caf::io::network::stream {
   public:
    stream(caf::io::network::default_multiplexer& mpx, caf::io::network::native_socket fd)
        : caf::io::network::stream(mpx, fd) {}
    void handle_event(caf::io::network::operation op) override { handle_event_impl(op, policy_); }
    bool writing() const noexcept { return state_.writing; }

   private:
    caf::policy::tcp policy_;
  };

  stream stream_;
  write_batcher* batcher_;
  bool launched_ = false;
  bool queued_ = false;  ///< in the batcher's next run
};

/// A doorman whose accepted connections are eager scribes (otherwise CAF's `doorman_impl`).
class eager_doorman final : public caf::io::doorman {
 public:
  eager_doorman(caf::io::network::default_multiplexer& mpx, caf::io::network::native_socket fd,
                caf::intrusive_ptr<write_batcher> batcher);

  bool new_connection() override;
  void graceful_shutdown() override;
  void launch() override;
  std::string addr() const override;
  std::uint16_t port() const override;
  void add_to_loop() override;
  void remove_from_loop() override;

 private:
  caf::io::network::acceptor_impl<caf::policy::tcp> acceptor_;
  caf::intrusive_ptr<write_batcher> batcher_;
};

/// Listens on `host:port` (port 0: any free port) with an eager doorman.
caf::expected<caf::io::doorman_ptr> listen_eager(caf::io::network::default_multiplexer& mpx,
                                                 std::uint16_t port, const std::string& host,
                                                 caf::intrusive_ptr<write_batcher> batcher);

}  // namespace troupe::transport::detail
