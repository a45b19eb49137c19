#pragma once
/// What crosses a checkpoint channel or the participant/coordinator link, as plain values.
///
/// Header-only and dependency-free on purpose: the pure core (snapshot/core), the Cap'n Proto codec
/// (runtime/wire/checkpoint_codec.*) and the actor shells all share exactly these structs. Nothing
/// here validates itself: the codec decodes into these types at the edge, the core checks meaning.
///
/// Vocabulary (Chandy & Lamport 1985, section 2 "model of a distributed system"): a *participant*
/// is a process of the paper, a *channel* is a directed FIFO link from one participant to another,
/// a *marker* is the paper's marker, a participant's *local state* and a channel's *recorded
/// messages* together form the global state we call a *checkpoint*.

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::checkpoint {

/// A participant's logical id: stable across processes and restarts, so that a checkpoint taken on
/// one set of processes can be restored onto another. Mapping names to ids is the layer above's
/// job.
using participant_id = std::uint64_t;

/// Names one checkpoint. It is also the checkpoint's *epoch*: the coordinator hands out ids
/// strictly increasing (a restarted coordinator continues above the highest stored id), so "epoch
/// >= id" on an envelope means "the sender had recorded this checkpoint before sending it" (Lai &
/// Yang 1987 colour the messages the same way; a number instead of a colour allows many
/// checkpoints).
using checkpoint_id = std::uint64_t;

/// "No participant": used where an initiator is unknown (a participant forced to record by an
/// envelope learns the checkpoint's id but not who started it).
inline constexpr participant_id no_participant = 0;

/// Opaque application bytes. `char` rather than `std::uint8_t` because CAF 0.17 inspects
/// `std::vector<char>` natively and not `std::vector<uint8_t>` (DESIGN.md section 8).
using bytes = std::vector<char>;

/// One component of a vector clock as carried on the wire (actors/clocks holds the arithmetic).
struct clock_entry {
  participant_id participant = no_participant;
  std::uint64_t counter = 0;
  friend bool operator==(const clock_entry&, const clock_entry&) = default;
};

/// An application message on the channel `from -> to`.
struct envelope {
  participant_id from = no_participant;
  participant_id to = no_participant;
  /// Position on the channel, 1 for the first envelope ever sent on it, +1 per envelope (markers
  /// are not counted). The receiver uses it to detect a gap (a lost message, e.g. after a
  /// reconnect).
  std::uint64_t sequence = 0;
  /// The highest checkpoint id the sender had recorded when it sent this envelope (0: none). Every
  /// envelope carries it so that a channel first used in the middle of a checkpoint is handled; see
  /// snapshot/README.md "learned channels".
  checkpoint_id epoch = 0;
  /// Lamport timestamp, 0 when the sender does not keep one.
  std::uint64_t lamport = 0;
  /// Vector clock, empty when the sender does not keep one. Entries sorted by participant.
  std::vector<clock_entry> vector_clock;
  bytes payload;
  friend bool operator==(const envelope&, const envelope&) = default;
};

/// The paper's marker, sent on the channel `from -> to` right after `from` recorded checkpoint `id`
/// and before any further envelope on that channel (marker sending rule, section 3).
struct marker {
  checkpoint_id id = 0;
  /// Who the coordinator asked first; `no_participant` when unknown to the sender.
  participant_id initiator = no_participant;
  participant_id from = no_participant;
  participant_id to = no_participant;
  /// The sender's highest recorded checkpoint id at send time (>= id), as on an envelope.
  checkpoint_id epoch = 0;
  friend bool operator==(const marker&, const marker&) = default;
};

/// A run of markers of checkpoint `id` (same initiator and epoch) on the channels
/// `from[i] -> to[i]`, in that order, with nothing else between them on their FIFO path. Only a
/// compact encoding of that run (snapshot/README.md "marker runs"): its receiver feeds each marker
/// to its participant in order, exactly as if they had come one by one.
struct marker_run {
  checkpoint_id id = 0;
  participant_id initiator = no_participant;
  checkpoint_id epoch = 0;
  std::vector<participant_id> from;
  std::vector<participant_id> to;  ///< as long as `from`
  friend bool operator==(const marker_run&, const marker_run&) = default;
};

/// Several participants' reports, from one host to the coordinator, in the order they were emitted
/// (snapshot/README.md "report runs"): the coordinator takes them one by one.
struct report_run;

/// How a checkpoint ended, or is going, at one participant or overall.
enum class checkpoint_status : std::uint8_t {
  ok = 0,              ///< recorded (participant) / complete (coordinator)
  aborted_by_request,  ///< the coordinator or an operator aborted it
  peer_lost,           ///< a participant died, or a peer restart lost in-flight messages
  bound_exceeded,      ///< recorded channel state went over its message or byte bound
  timeout,             ///< the coordinator gave up waiting (ticks)
  out_of_order,        ///< learned of it after recording a later checkpoint: cannot record it
  channel_gap,         ///< an envelope's sequence number skipped: a message was lost
  too_many_in_flight,  ///< over the participant's or coordinator's limit of concurrent ones
};

/// A short stable name for logs, metrics labels and the CLI ("ok", "bound_exceeded", ...).
constexpr const char* to_string(checkpoint_status s) noexcept {
  switch (s) {
    case checkpoint_status::ok:
      return "ok";
    case checkpoint_status::aborted_by_request:
      return "aborted_by_request";
    case checkpoint_status::peer_lost:
      return "peer_lost";
    case checkpoint_status::bound_exceeded:
      return "bound_exceeded";
    case checkpoint_status::timeout:
      return "timeout";
    case checkpoint_status::out_of_order:
      return "out_of_order";
    case checkpoint_status::channel_gap:
      return "channel_gap";
    case checkpoint_status::too_many_in_flight:
      return "too_many_in_flight";
  }
  return "unknown";
}

/// Coordinator -> participant.
enum class command_kind : std::uint8_t {
  take = 0,  ///< record now if not yet recorded (the coordinator "asks")
  abort,     ///< drop everything recorded for the checkpoint; `reason` says why
  release,   ///< the checkpoint is complete: forget it (stop watching for late channels)
};

struct checkpoint_command {
  checkpoint_id id = 0;
  participant_id initiator = no_participant;
  command_kind kind = command_kind::take;
  /// Meaningful for `abort` only.
  checkpoint_status reason = checkpoint_status::ok;
  friend bool operator==(const checkpoint_command&, const checkpoint_command&) = default;
};

/// The messages recorded on one incoming channel `from -> (the reporting participant)`: sent before
/// `from` recorded the checkpoint and received after the reporter recorded it, in channel order.
struct recorded_channel {
  participant_id from = no_participant;
  std::vector<envelope> messages;
  friend bool operator==(const recorded_channel&, const recorded_channel&) = default;
};

enum class report_kind : std::uint8_t {
  /// The participant's local state and every channel it knew of when recording stopped.
  full = 0,
  /// Channels learned after the full report (a channel whose first envelope was in flight while the
  /// checkpoint was taken): `local_state` and `markers_sent_to` are empty.
  late_channels,
};

/// Participant -> coordinator. With status != ok only the header fields are meaningful.
struct participant_report {
  checkpoint_id id = 0;
  participant_id participant = no_participant;
  report_kind kind = report_kind::full;
  checkpoint_status status = checkpoint_status::ok;
  /// For a person: what exactly went wrong (which bound, which peer).
  std::string detail;
  bytes local_state;
  std::vector<recorded_channel> channels;
  /// Outgoing channels the participant sent this checkpoint's marker on: every channel it had
  /// declared or used before recording. The coordinator expects each to be reported by its
  /// receiver.
  std::vector<participant_id> markers_sent_to;
  friend bool operator==(const participant_report&, const participant_report&) = default;
};

struct report_run {
  std::vector<participant_report> reports;
  friend bool operator==(const report_run&, const report_run&) = default;
};

/// Coordinator -> the node hosting `participant`: re-create it from complete checkpoint
/// `checkpoint`: restore `local_state`, then deliver `deliveries` (the messages recorded on its
/// incoming channels, snapshot/core/restore.hpp) before any new traffic.
struct restore_order {
  checkpoint_id checkpoint = 0;
  participant_id participant = no_participant;
  bytes local_state;
  std::vector<envelope> deliveries;
  friend bool operator==(const restore_order&, const restore_order&) = default;
};

/// Host -> coordinator: the node's participant host can receive (repeated until `start_traffic`).
/// `instance` is random per host start: a new value after `start_traffic` means the process
/// restarted and its participants lost their state.
struct host_ready {
  std::uint64_t node = 0;
  std::uint64_t instance = 0;
  friend bool operator==(const host_ready&, const host_ready&) = default;
};

/// Coordinator -> host: every host is ready (and restore orders, if any, were sent before this on
/// the same link): application traffic may begin.
struct start_traffic {
  checkpoint_id restored_from = 0;  ///< 0: a fresh start
  friend bool operator==(const start_traffic&, const start_traffic&) = default;
};

/// Coordinator -> host: a global rollback in place (snapshot/README.md "restore in place"). The
/// host enters `generation`: every local participant awaits its restore order (which follow on the
/// same link), traffic stops until the next `start_traffic`, and everything its peers sent before
/// their own fence for `generation` is discarded.
struct rollback {
  std::uint64_t generation = 0;   ///< strictly above every earlier one; 0 is the first start
  checkpoint_id checkpoint = 0;   ///< the checkpoint being restored
  friend bool operator==(const rollback&, const rollback&) = default;
};

/// Host -> every host (itself included), on the application lane right after it entered
/// `generation`: "every frame I send after this one belongs to `generation`". What arrived before
/// it from that node is traffic of an earlier generation and is discarded; what follows it while
/// the receiver is still in an earlier generation is held until the receiver gets there.
struct generation_fence {
  std::uint64_t node = 0;
  std::uint64_t generation = 0;
  friend bool operator==(const generation_fence&, const generation_fence&) = default;
};

/// Host -> coordinator: it carried out the rollback to `generation` (every local participant
/// restored) and got the `start_traffic` that followed; `restored` participants.
struct rolled_back {
  std::uint64_t node = 0;
  std::uint64_t generation = 0;
  std::uint64_t restored = 0;
  friend bool operator==(const rolled_back&, const rolled_back&) = default;
};

}  // namespace troupe::checkpoint
