#pragma once
/// The transport broker's state (internal to runtime/transport): connections, sessions (one per peer
/// node, one per client connection) and the code that drives the link cores from socket events.
/// Everything here runs on the broker's thread only (CAF's multiplexer thread): not thread-safe.
///
/// Who dials: for a pair of nodes, the one with the LOWER node id dials and the higher one only
/// accepts. One connection per pair without a tie-break race; if a new connection from a peer
/// completes its handshake while an older one still looks alive (the peer noticed a break first),
/// the newer wins and the older is closed as `superseded`.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/connection_handle.hpp>

#include "runtime/transport/backoff.hpp"
#include "runtime/transport/eager_io.hpp"
#include "runtime/transport/link/frame.hpp"
#include "runtime/transport/link/handshake.hpp"
#include "runtime/transport/link/peer_link.hpp"
#include "runtime/transport/metrics.hpp"
#include "runtime/transport/read_chunk.hpp"
#include "runtime/transport/transport.hpp"
#include "runtime/wire/message.hpp"

namespace troupe::transport::detail {

using tick_atom = caf::atom_constant<caf::atom("tr_tick")>;
using dialed_atom = caf::atom_constant<caf::atom("tr_dialed")>;
using dial_failed_atom = caf::atom_constant<caf::atom("tr_dialno")>;
using redial_atom = caf::atom_constant<caf::atom("tr_redial")>;

/// One TCP connection, from accept / dial until close.
struct connection {
  caf::io::connection_handle hdl;
  std::uint64_t id = 0;  ///< unique in this process; a client's id in client_request
  link::handshake_side side = link::handshake_side::acceptor;
  std::unique_ptr<link::handshake> hs;  ///< until established
  bool established = false;
  link::peer_role role = link::peer_role::peer;
  std::uint64_t remote = 0;  ///< dialer: the node dialed; established: the peer node / client conn id
  std::string remote_host;
  wire::frame_assembler assembler;
  bool awaiting_payload = false;  ///< `pending` is a data header whose payload comes next
  link::data_frame pending;       ///< reused for every data header (its strings keep their storage)
  /// The size of the frame whose beginning the assembler holds (0: none, or not known yet).
  std::size_t partial_frame_bytes = 0;
  read_chunk chunk;  ///< the size of the next socket read
  connection(caf::io::connection_handle h, std::uint64_t i, const wire::reader_limits& lim,
             const limits& transport_limits)
      : hdl(h),
        id(i),
        assembler(lim),
        chunk(transport_limits.read_chunk_min_bytes, transport_limits.read_chunk_bytes) {}
};

/// Everything known about one peer node (across connections) or one client connection.
struct session {
  link::peer_role role = link::peer_role::peer;
  std::uint64_t id = 0;  ///< node id, or the client's connection id
  std::string label;     ///< metric label
  link::peer_link core;
  std::optional<caf::io::connection_handle> conn;  ///< the attached connection
  connection_state state = connection_state::disconnected;
  peer_metrics* m = nullptr;
  link::link_stats reported;  ///< what the metrics already hold (for deltas)
  // Peers only.
  std::optional<address> addr;
  bool dials = false;
  backoff retry;
  std::uint64_t dial_generation = 0;  ///< stale dial results are ignored
  bool dial_in_flight = false;
  bool ever_up = false;
  session(link::peer_link_config c, const limits& lim)
      : core(std::move(c)), retry(lim.backoff_initial, lim.backoff_max) {}
};

class transport_core {
 public:
  transport_core(caf::io::broker* self, config cfg);

  /// `batcher` null: CAF's own scribes for dialed connections (a multiplexer other than CAF's
  /// default one); else eager ones (eager_io.hpp), like those `doorman` accepts.
  void start(caf::io::doorman_ptr doorman, caf::intrusive_ptr<write_batcher> batcher);

  // Actor-facing.
  void on_register(std::string name, caf::actor handler, bool batched);
  void on_send(outbound& msg);
  void on_client_reply(client_reply& msg);
  peer_status status(node_id peer) const;
  void on_set_peers(const std::map<node_id, std::string>& peers);
  void stop();

  // Socket events.
  void on_new_connection(caf::io::connection_handle hdl);
  void on_data(caf::io::connection_handle hdl, const std::vector<char>& buf);
  void on_transferred(caf::io::connection_handle hdl);
  void on_closed(caf::io::connection_handle hdl);
  void on_dialed(node_id peer, std::uint64_t generation, int fd);
  void on_dial_failed(node_id peer, std::uint64_t generation, const std::string& why);
  void on_redial(node_id peer, std::uint64_t generation);
  void on_tick();

  bool stopping() const noexcept { return stopping_; }

 private:
  static std::chrono::nanoseconds now();
  void log(log_level level, const std::string& text) const;

  session& make_peer_session(node_id id);
  session* find_session(const connection& c);
  session* find_client(std::uint64_t id);
  void dial(session& s);
  void schedule_redial(session& s);
  void set_state(session& s, connection_state st);

  connection& add_connection(caf::io::connection_handle hdl, link::handshake_side side,
                             std::uint64_t remote);
  void start_handshake(connection& c, node_id expected_peer);
  void handle_frame(connection& c, std::span<const std::byte> frame, std::chrono::nanoseconds now);
  /// Handles the whole frames at the front of `in` where they lie and advances `in` past them.
  /// False when the connection was closed (by a frame, or for a bad segment table).
  bool take_frames_in_place(connection& c, std::span<const std::byte>& in, std::chrono::nanoseconds now);
  /// Handles every complete frame the assembler holds. False when the connection was closed.
  bool take_assembled_frames(connection& c, std::chrono::nanoseconds now);
  void handle_handshake_step(connection& c, link::handshake_step step);
  void on_established(connection& c, const link::handshake_outcome& outcome);
  /// Carries out `events` (reports, deliveries, verdict); takes the payloads out of it.
  void carry_out(session& s, link::link_events& events);
  void carry_out(session& s, link::link_events&& events) { carry_out(s, events); }
  /// Delivers (or adds to the pending batch) one payload for the local endpoint `destination`.
  void deliver(session& s, lane via, const std::string& destination, const std::string& source,
               wire::message&& payload);
  /// Sends the pending delivery_batch, if any (deliver collects them over one socket read).
  void flush_deliveries();
  void report_lost(session& s, const link::lost_message& lost, failure_reason why);
  void pump(session& s);
  void write_frame(caf::io::connection_handle hdl, const link::frame_header& header,
                   const wire::message* payload, std::size_t* written = nullptr);
  static void append_frame(std::vector<char>& buf, const link::frame_header& header,
                           const wire::message* payload, std::size_t* written);
  void malformed(connection& c, const std::string& what);
  /// Closes `hdl` (after its pending bytes are written) and forgets it; detaches its session.
  void close_connection(caf::io::connection_handle hdl, const std::string& why);
  void forget_connection(caf::io::connection_handle hdl);
  void update_link_metrics(session& s);
  std::uint64_t tag_for_current_sender();

  caf::io::broker* self_;
  caf::io::accept_handle doorman_;
  caf::intrusive_ptr<write_batcher> batcher_;  ///< eager writes; its scribes point to it
  config cfg_;
  link::handshake_config hs_cfg_;
  link::peer_link_config link_cfg_;
  wire::reader_limits reader_limits_;
  wire::frame_validator header_validator_;  ///< scratch for decoding link headers in place
  link::outgoing_frame outgoing_;           ///< reused by pump (keeps its strings' storage)
  link::link_events inbound_events_;        ///< reused by handle_frame (keeps its capacity)
  transport_metrics metrics_;
  std::mt19937_64 rng_;
  struct endpoint {
    caf::actor handler;
    bool batched = false;  ///< gets delivery_batch instead of delivery
  };
  std::map<std::string, endpoint, std::less<>> endpoints_;
  delivery_batch batch_;  ///< deliveries to a batched endpoint collected by on_data, in order
  caf::actor batch_to_;   ///< where batch_ goes
  std::map<node_id, std::unique_ptr<session>> peers_;
  std::unordered_map<std::uint64_t, std::unique_ptr<session>> clients_;
  std::unordered_map<caf::io::connection_handle, std::unique_ptr<connection>> conns_;
  /// Senders of application messages, by tag (their actor id), so lost messages can be reported.
  std::unordered_map<std::uint64_t, caf::actor_addr> senders_;
  std::set<std::string, std::less<>> unknown_endpoints_logged_;
  std::uint64_t next_connection_id_ = 1;
  std::size_t unauthenticated_inbound_ = 0;
  bool stopping_ = false;
};

}  // namespace troupe::transport::detail
