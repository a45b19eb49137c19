#pragma once
/// Everything the transport keeps about one peer (a node, or a client), across connections: the
/// lane queues, the reliable application lane (sender and receiver), acks, pings and liveness.
/// Pure: frames, sends and monotonic time in; frames to write, deliveries, lost reports and close
/// verdicts out. No sockets, no clock reads, no randomness.
///
/// How the broker drives it (README.md "Driving the link"):
///   1. Create one peer_link per peer when first needed (a send, or a handshake naming it); keep it
///      while the process lives or the peer stays configured. It must outlive its connections.
///   2. Per TCP connection, run a `handshake` (handshake.hpp) whose resume_lookup answers with this
///      peer_link's resume_point(). On success call attach(outcome, now) and carry out its events.
///   3. For each received header (decode_frame_header) call on_frame; when the header is a
///      data_frame with has_payload, first take the next message of the stream as its payload.
///   4. Call on_tick(now) periodically (e.g. every 100 ms) whether attached or not.
///   5. Writing is pull-based so lane priority works: while attached and the socket's unwritten
///      bytes are under a high-water mark, call next_frame(now) and write the header (encoded with
///      encode_frame_header) then the payload, if any. Do not drain everything into the socket.
///   6. When the connection closes (either side, any reason) call detach(). Before closing on
///      purpose, write goodbye(reason).
/// Events carry a `close` verdict when the connection must be closed (protocol error, idle
/// timeout, peer's goodbye): write nothing more, close, call detach().
///
/// send() is valid at any time: attached or not, application messages wait in the retransmit
/// buffer and go out (or are reported lost) after the next attach. Not thread-safe.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/transport/link/frame.hpp"
#include "runtime/transport/link/handshake.hpp"
#include "runtime/transport/link/lane_queues.hpp"
#include "runtime/transport/link/outbound.hpp"
#include "runtime/transport/link/reliable_lane.hpp"
#include "runtime/wire/message.hpp"

namespace troupe::link {

struct peer_link_config {
  std::uint64_t self_incarnation = 0;  ///< non-zero; this process's incarnation
  lane_config lanes;                   ///< application limits = the retransmit buffer's
  /// Standalone ack after this many application deliveries without a piggy-backed one; a pending
  /// ack is also sent on the next tick.
  std::uint32_t ack_every_deliveries = 32;
  /// A ping goes out this often while attached (liveness for the peer's idle timeout, and the
  /// round-trip time); at most one is in flight.
  std::chrono::nanoseconds ping_interval = std::chrono::seconds(1);
  /// Nothing received for this long while attached: close with idle_timeout. > ping_interval.
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(10);
  /// The largest payload send() accepts: set it to the peer's frame limit
  /// (wire::reader_limits::max_frame_bytes), or the peer would close the connection on every
  /// retransmission of a larger one.
  std::size_t max_payload_bytes = wire::reader_limits{}.max_frame_bytes;

  /// Errors: errc::invalid_argument naming the field.
  status validate() const;
};

/// One frame to write: the header, then the payload when it is not empty.
struct outgoing_frame {
  frame_header header;
  wire::message payload;
  lane via =
      lane::raft_control;  ///< for metrics; link-internal frames (ack, ping, pong) say raft_control
  bool retransmission = false;  ///< an application frame written again after a reconnect
};

/// What one input produced. Carry out in order: report `lost` to the senders, deliver
/// `deliveries` in order, then, if `close` is set, close the connection and call detach().
struct link_events {
  std::vector<inbound_delivery> deliveries;
  std::vector<lost_message> lost;
  std::optional<close_reason> close;
  std::string close_detail;  ///< one line for the log when close is set
  bool empty() const noexcept { return deliveries.empty() && lost.empty() && !close; }
  /// Empties it, keeping the vectors' capacity (for the reusing on_frame overload).
  void clear() noexcept {
    deliveries.clear();
    lost.clear();
    close.reset();
    close_detail.clear();
  }
};

/// Counters for metrics (monotonic except the gauges marked so).
struct link_stats {
  std::array<std::uint64_t, lane_count> frames_sent{};
  std::array<std::uint64_t, lane_count> frames_received{};
  std::array<std::uint64_t, lane_count> dropped{};  ///< by overflow policy or detach (raft, client)
  std::array<std::size_t, lane_count> queued_messages{};  ///< gauge (application: unsent)
  std::uint64_t retransmitted = 0;
  std::uint64_t duplicates_received = 0;
  std::uint64_t lost_reported = 0;
  std::size_t unacked_messages = 0;  ///< gauge: application messages buffered (sent or not)
  std::size_t unacked_bytes = 0;     ///< gauge
  std::optional<std::chrono::nanoseconds> last_rtt;  ///< from the latest pong
};

class peer_link {
 public:
  /// Precondition: config.validate() succeeded (asserted).
  explicit peer_link(peer_link_config config);

  // ---- Sending (any time) ----------------------------------------------------------------------

  /// Queues `m` on `l`. Application: taken into the retransmit buffer, outcome queued; errc::busy
  /// when full (nothing taken; tell the sender). Raft lanes: see send_outcome (drops are counted).
  /// Client lane: errc::busy when full. Errors also: errc::too_large (payload over
  /// max_payload_bytes, or larger than the lane's byte bound), errc::invalid_argument (an endpoint
  /// name over max_endpoint_bytes).
  result<send_outcome> send(lane l, outbound_message&& m);

  /// Whether send(l, m) with charged_bytes(m) == bytes would be taken now without dropping.
  bool has_room(lane l, std::size_t bytes) const noexcept;

  // ---- Connection lifecycle --------------------------------------------------------------------

  /// For the handshake's resume_lookup: what this side last delivered from the peer.
  resume_info resume_point() const noexcept { return receiver_.resume_point(); }

  /// A handshake with this peer succeeded. Applies the resume rule: `lost` holds the messages the
  /// peer will never see (it is a new incarnation); retransmissions are queued for next_frame.
  /// A `close` verdict (protocol_error) means the resume point was impossible. Precondition: not
  /// attached (call detach() first).
  link_events attach(const handshake_outcome& outcome, std::chrono::nanoseconds now);

  /// The connection is gone. Raft and client lane queues are dropped (counted): Raft retries,
  /// clients retry. Application messages stay buffered for the next attach. Idempotent.
  void detach() noexcept;

  bool attached() const noexcept { return attached_; }
  /// The peer's incarnation from the latest attach (0 before any).
  std::uint64_t peer_incarnation() const noexcept { return peer_incarnation_; }

  // ---- Established connection ------------------------------------------------------------------

  /// One received header and, for a data_frame with has_payload, its payload (else empty). Frames
  /// received while not attached are ignored. Handshake frames, a gap in application seqs, an ack
  /// beyond what was sent, a missing or unannounced payload, or a client sending on any lane but
  /// the client lane close with protocol_error; a goodbye closes with the peer's reason.
  link_events on_frame(const frame_header& header, wire::message payload,
                       std::chrono::nanoseconds now);

  /// The same for the receiving hot path: takes the header's endpoint names instead of copying
  /// them, and fills `events`, which the caller clears and reuses so that its vectors keep their
  /// capacity (a fresh vector per frame was ~6% of the receiving broker thread, callgrind).
  /// Precondition: events.empty().
  void on_frame(frame_header&& header, wire::message payload, std::chrono::nanoseconds now,
                link_events& events);

  /// For a data frame, without wrapping it in a frame_header and without an inbound_delivery:
  /// every check and count on_frame makes for a data_frame, given whether a payload came with
  /// `header`; true when that payload is to be delivered now, which the caller then does under
  /// `header`'s lane and names, where they are (wrapping and unwrapping moved both endpoint names
  /// again, ~150 instructions per message, callgrind). False when it is not: not attached, a
  /// duplicate, or a close verdict (then in `events`, which holds nothing else).
  /// Precondition: events.empty().
  bool accept_data_frame(const data_frame& header, bool payload_present,
                         std::chrono::nanoseconds now, link_events& events);

  /// Time passes: acks owed, pings due, idle timeout. Safe to call when not attached (no-op).
  link_events on_tick(std::chrono::nanoseconds now);

  /// The next frame to write, by lane priority (lane_queues.hpp), or nullopt when nothing waits
  /// or not attached. Link-internal frames (pong, ack, ping) go first; every data frame carries
  /// the current cumulative ack.
  std::optional<outgoing_frame> next_frame(std::chrono::nanoseconds now);

  /// The same into `out` (the sending hot path): its data_frame's strings are reused rather than
  /// built, moved and destroyed per frame. Returns false, with `out` unchanged, when nothing waits
  /// or not attached. `out.payload` holds a reference to the payload until the next call.
  bool next_frame(std::chrono::nanoseconds now, outgoing_frame& out);

  /// True when next_frame would return a frame (lets the broker skip a call).
  bool wants_to_write() const noexcept;

  /// The frame to write before closing on purpose.
  static frame_header goodbye(close_reason reason, std::string text);

  /// Every buffered application message as lost (the peer was removed from the configuration).
  std::vector<lost_message> abandon();

  link_stats stats() const;

  /// Checks the internal invariants of the queues, the retransmit buffer and the receiver (for
  /// tests and debug builds, after every step). Errors: errc::internal naming the broken one.
  status check_invariants() const;

 private:
  link_events close_with(close_reason reason, std::string detail);
  /// on_frame's data_frame case once attached (payload and lane checks, the ack, the receiver's
  /// verdict): whether the payload is to be delivered.
  bool data_frame_attached(const data_frame& d, bool payload_present, link_events& events);
  bool next_data_frame(outgoing_frame& out);
  /// A cumulative ack from the peer (piggy-backed or standalone); false, with `events` holding a
  /// protocol_error close, when it acknowledges beyond what was sent.
  bool take_ack(std::uint64_t ack, link_events& events);
  /// The head frame's size per lane; `unsent` is sender_.peek_unsent().
  std::array<std::optional<std::size_t>, lane_count> heads(const pending_message* unsent) const noexcept;

  peer_link_config config_;
  lane_queues queues_;
  lane_scheduler scheduler_;
  reliable_sender sender_;
  reliable_receiver receiver_;
  bool attached_ = false;
  std::uint64_t peer_incarnation_ = 0;
  peer_role peer_role_ = peer_role::peer;  ///< from the latest attach
  std::chrono::nanoseconds last_received_{0};
  std::chrono::nanoseconds last_ping_at_{0};
  std::optional<std::int64_t> pong_owed_;  ///< echo of the latest ping not yet answered
  bool ping_in_flight_ = false;
  bool ping_due_ = false;
  bool ack_owed_ = false;  ///< a standalone ack should go out (policy or tick)
  link_stats stats_;
};

}  // namespace troupe::link
