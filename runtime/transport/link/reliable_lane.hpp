#pragma once
/// The reliable application lane: sequence numbers, cumulative acks, a bounded retransmit buffer
/// and session resumption across reconnects (README.md "Resume rule"). Pure: no I/O, no clock.
///
/// Sequence numbers count 1, 2, ... per (sender incarnation, receiver incarnation). While both
/// processes live, every pushed message is delivered exactly once and in order, whatever happens to
/// connections. When the receiver comes back as a new incarnation, every unacknowledged message is
/// returned as lost (never dropped silently) and sequencing restarts at 1.
///
/// Ownership: one reliable_sender and one reliable_receiver per peer, living as long as the process
/// knows the peer (across connections), owned by peer_link. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/transport/link/frame.hpp"
#include "runtime/transport/link/outbound.hpp"
#include "runtime/transport/link/ring_buffer.hpp"

namespace troupe::link {

/// Bounds of a retransmit buffer (unacknowledged application messages, sent or not yet sent).
struct retransmit_limits {
  std::size_t max_messages = 65536;
  std::size_t max_bytes = 64u << 20;  ///< charged_bytes() of every buffered message
};

/// A buffered application message.
struct pending_message {
  std::uint64_t seq = 0;
  outbound_message message;
  std::size_t bytes = 0;  ///< charged_bytes(message)
};

class reliable_sender {
 public:
  explicit reliable_sender(retransmit_limits limits = {});

  /// Appends `m` with the next seq and returns that seq. Errors (and `m` is not taken):
  /// errc::busy when the buffer is full by count or bytes (retry after acks free room: the caller
  /// tells its sender, nothing is dropped), errc::too_large when `m` alone exceeds max_bytes.
  /// Taken by reference: every move of a message moves both endpoint names again.
  result<std::uint64_t> push(outbound_message&& m);

  /// Whether a message charged `bytes` would be accepted now.
  bool has_room(std::size_t bytes) const noexcept;

  /// The oldest buffered message not yet written on the current connection, or nullptr.
  const pending_message* peek_unsent() const noexcept;
  /// Records that peek_unsent()'s message was handed to the connection. Precondition: non-null.
  void mark_sent();

  /// A cumulative ack from the receiver: frees every seq <= ack. An ack below an earlier one is
  /// ignored. Errors: errc::malformed when `ack` exceeds the highest seq sent to this incarnation.
  status on_ack(std::uint64_t ack);

  /// The connection is gone: whatever was written but not acked may be lost in flight; attach()
  /// decides what to send again.
  void on_disconnect() noexcept;

  /// A connection to `remote_incarnation` is established; `remote_resume` is what the receiver
  /// says it last delivered (from the handshake). Applies the resume rule:
  /// - the same receiver incarnation as before: drop seq <= max(last_delivered, acked), resend the
  ///   rest. The resume point may be stale (simultaneous connections), never ahead of the truth,
  ///   because a receiver keeps its state for as long as its process lives;
  /// - a receiver incarnation never bound before (it restarted): every message pushed while an
  ///   older incarnation was bound is returned as lost, sequencing restarts at 1 (messages pushed
  ///   before any incarnation was bound are kept and sent from seq 1).
  /// Errors: errc::malformed when the resume point is impossible (beyond what was ever sent, or
  /// deliveries claimed by an incarnation we never met); the caller closes with protocol_error.
  result<std::vector<lost_message>> attach(std::uint64_t self_incarnation,
                                           std::uint64_t remote_incarnation,
                                           const resume_info& remote_resume);

  /// Every buffered message as lost (e.g. the peer is removed from the cluster); buffer cleared.
  std::vector<lost_message> abandon();

  std::uint64_t bound_incarnation() const noexcept { return bound_incarnation_; }
  std::uint64_t acked_seq() const noexcept { return acked_; }
  std::uint64_t last_assigned_seq() const noexcept { return next_seq_ - 1; }
  std::size_t buffered_messages() const noexcept { return buffer_.size(); }
  std::size_t buffered_bytes() const noexcept { return buffered_bytes_; }
  std::size_t unsent_messages() const noexcept { return buffer_.size() - sent_index_; }
  std::uint64_t retransmitted_total() const noexcept { return retransmitted_total_; }
  const retransmit_limits& limits() const noexcept { return limits_; }

  /// Seqs contiguous from acked+1, byte count exact, bounds held, nothing ahead of what was
  /// assigned. Errors: errc::internal naming the broken invariant.
  status check_invariants() const;

 private:
  std::vector<lost_message> take_all_as_lost();

  retransmit_limits limits_;
  ring_buffer<pending_message> buffer_;  ///< seqs acked_+1 .. next_seq_-1, in order
  std::size_t buffered_bytes_ = 0;
  std::size_t sent_index_ = 0;  ///< buffer_[0, sent_index_) written on this connection
  std::uint64_t next_seq_ = 1;
  std::uint64_t acked_ = 0;
  std::uint64_t highest_sent_ = 0;       ///< highest seq ever written to bound_incarnation_
  std::uint64_t bound_incarnation_ = 0;  ///< receiver incarnation the seqs belong to; 0: none yet
  std::uint64_t retransmitted_total_ = 0;
};

/// Receiving half: in-order, exactly-once delivery and the ack policy.
class reliable_receiver {
 public:
  /// Sends a standalone ack after this many deliveries without one (piggy-backed acks reset it).
  explicit reliable_receiver(std::uint32_t ack_every_deliveries = 32);

  /// What this side tells a reconnecting sender (handshake auth / welcome).
  resume_info resume_point() const noexcept { return {sender_incarnation_, last_delivered_}; }

  /// A connection to `remote_incarnation` is established: a different incarnation than before
  /// restarts the expected seq at 1.
  void attach(std::uint64_t remote_incarnation) noexcept;

  enum class verdict : std::uint8_t {
    deliver,    ///< seq == last delivered + 1: deliver it now
    duplicate,  ///< seq <= last delivered (a retransmission): drop it, ack again
  };
  /// Classifies an application-lane seq. Errors: errc::malformed for a gap (seq > last + 1, which
  /// one TCP connection cannot produce) or seq 0; the caller closes with protocol_error.
  result<verdict> on_data(std::uint64_t seq);

  /// The cumulative ack to send (piggy-backed or standalone); marks everything as acked.
  std::uint64_t take_ack() noexcept;
  /// True when a standalone ack is due now (ack_every deliveries without one, or a duplicate seen).
  bool ack_due() const noexcept;
  /// True when something delivered (or a duplicate) has not been acked yet (the tick sends it).
  bool ack_pending() const noexcept { return unacked_ > 0 || duplicate_seen_; }

  std::uint64_t last_delivered() const noexcept { return last_delivered_; }
  std::uint64_t duplicates_total() const noexcept { return duplicates_total_; }

 private:
  std::uint32_t ack_every_;
  std::uint64_t sender_incarnation_ = 0;
  std::uint64_t last_delivered_ = 0;
  std::uint64_t unacked_ = 0;
  bool duplicate_seen_ = false;
  std::uint64_t duplicates_total_ = 0;
};

}  // namespace troupe::link
