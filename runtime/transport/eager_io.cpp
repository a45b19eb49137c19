// Eager writes on CAF 0.17 sockets: see eager_io.hpp. The servant parts mirror CAF's scribe_impl
// and doorman_impl; only flush and the batcher differ.
#include "runtime/transport/eager_io.hpp"

#include <caf/make_counted.hpp>

namespace troupe::transport::detail {

namespace net = caf::io::network;

// ---- write_batcher -------------------------------------------------------------------------------

void write_batcher::enqueue(eager_scribe* s) {
  pending_.emplace_back(s);
  if (posted_)
    return;
  posted_ = true;
  // exec_later takes over one reference and releases it when resume answers `done`. From the
  // multiplexer's own thread it queues this for the loop's next round: after the socket events
  // and resumes of the current one, before the loop blocks in epoll_wait again.
  ref();
  mpx_.exec_later(this);
}

write_batcher::resume_result write_batcher::resume(caf::execution_unit*, std::size_t) {
  posted_ = false;
  running_.swap(pending_);
  for (auto& s : running_)
    s->write_now();  // never calls into a broker: CAF's path only subscribes
  running_.clear();
  return done;
}

caf::intrusive_ptr<eager_scribe> write_batcher::make_scribe(net::native_socket fd) {
  return caf::make_counted<eager_scribe>(mpx_, fd, this);
}

// ---- eager_scribe --------------------------------------------------------------------------------

eager_scribe::eager_scribe(net::default_multiplexer& mpx, net::native_socket fd, write_batcher* batcher)
    : caf::io::scribe(net::conn_hdl_from_socket(fd)), stream_(mpx, fd), batcher_(batcher) {
  // As CAF's default_multiplexer::new_scribe does for its scribes (a failure only loses keepalive).
  (void)net::keepalive(fd, true);
}

void eager_scribe::configure_read(caf::io::receive_policy::config config) {
  stream_.configure_read(config);
  if (!launched_) {
    launched_ = true;
    stream_.start(this);
  }
}

void eager_scribe::ack_writes(bool enable) { stream_.ack_writes(enable); }

std::vector<char>& eager_scribe::wr_buf() { return stream_.wr_buf(); }

std::vector<char>& eager_scribe::rd_buf() { return stream_.rd_buf(); }

void eager_scribe::flush() {
  // While CAF's write path is busy it takes these bytes after its current buffer, as it would
  // for its own scribe: writing now would put them before bytes not yet written.
  if (stream_.writing() || stream_.wr_buf().empty())
    return;
  if (stream_.wr_buf().size() >= batcher_->eager_limit()) {
    // A full buffer: its writer waits for an acknowledgement to fill more, and only CAF's path
    // gives one (the file comment says why).
    stream_.flush(this);
    return;
  }
  if (!queued_) {
    queued_ = true;
    batcher_->enqueue(this);
  }
}

void eager_scribe::write_now() {
  queued_ = false;
  // Detached: closed by the remote or an error since the flush; CAF drops such a buffer too.
  if (detached() || stream_.writing())
    return;
  auto& buf = stream_.wr_buf();
  if (buf.empty())
    return;
  std::size_t written = 0;
  if (caf::policy::tcp::write_some(written, stream_.fd(), buf.data(), buf.size()) ==
      net::rw_state::success) {
    if (written == buf.size()) {
      buf.clear();
      return;
    }
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(written));
  }
  // The kernel's buffer is full (or the send failed): CAF's path writes the rest when the socket
  // is writable, acknowledges it, and reports an error as connection_closed_msg.
  stream_.flush(this);
}

void eager_scribe::graceful_shutdown() {
  // What was flushed goes out before the FIN: CAF's stream sends FIN at once unless it is writing.
  if (queued_)
    write_now();
  stream_.graceful_shutdown();
  detach(&stream_.backend(), false);
}

std::string eager_scribe::addr() const {
  auto x = net::remote_addr_of_fd(stream_.fd());
  return x ? *x : std::string{};
}

std::uint16_t eager_scribe::port() const {
  auto x = net::remote_port_of_fd(stream_.fd());
  return x ? *x : std::uint16_t{0};
}

void eager_scribe::add_to_loop() { stream_.activate(this); }

void eager_scribe::remove_from_loop() { stream_.passivate(); }

// ---- eager_doorman -------------------------------------------------------------------------------

eager_doorman::eager_doorman(net::default_multiplexer& mpx, net::native_socket fd,
                             caf::intrusive_ptr<write_batcher> batcher)
    : caf::io::doorman(net::accept_hdl_from_socket(fd)), acceptor_(mpx, fd), batcher_(std::move(batcher)) {}

bool eager_doorman::new_connection() {
  // Detached: the broker closed this doorman while the loop still held an event for it.
  if (detached())
    return false;
  auto& mpx = acceptor_.backend();
  auto scribe = batcher_->make_scribe(acceptor_.accepted_socket());
  const auto hdl = scribe->hdl();
  parent()->add_scribe(std::move(scribe));
  return caf::io::doorman::new_connection(&mpx, hdl);
}

void eager_doorman::graceful_shutdown() {
  acceptor_.graceful_shutdown();
  detach(&acceptor_.backend(), false);
}

void eager_doorman::launch() { acceptor_.start(this); }

std::string eager_doorman::addr() const {
  auto x = net::local_addr_of_fd(acceptor_.fd());
  return x ? *x : std::string{};
}

std::uint16_t eager_doorman::port() const {
  auto x = net::local_port_of_fd(acceptor_.fd());
  return x ? *x : std::uint16_t{0};
}

void eager_doorman::add_to_loop() { acceptor_.activate(this); }

void eager_doorman::remove_from_loop() { acceptor_.passivate(); }

caf::expected<caf::io::doorman_ptr> listen_eager(net::default_multiplexer& mpx, std::uint16_t port,
                                                 const std::string& host,
                                                 caf::intrusive_ptr<write_batcher> batcher) {
  auto fd = net::new_tcp_acceptor_impl(port, host.c_str(), true);
  if (!fd)
    return std::move(fd.error());
  return caf::io::doorman_ptr{caf::make_counted<eager_doorman>(mpx, *fd, std::move(batcher))};
}

}  // namespace troupe::transport::detail
