#pragma once
/// One participant's side of Chandy & Lamport's algorithm (1985, section 3), as a pure state
/// machine: channel events and coordinator commands in, markers to send and reports to the
/// coordinator out. It never does I/O, never reads a clock and never blocks an input: an envelope
/// is always delivered right after the step that saw it, and what must be remembered is recorded
/// instead (DESIGN.md 6).
///
/// Not thread-safe: one participant belongs to one actor, which carries out every output of a step,
/// in order, before it feeds the next input or sends any application message:
///   1. send `markers` (each on its channel `from -> to`, in order, on the same FIFO path as
///   envelopes),
///   2. send `reports` to the coordinator,
///   3. deliver the envelope that was the input, if any, to the application.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "runtime/base/result.hpp"
#include "snapshot/core/message.hpp"

namespace troupe::checkpoint {

/// Limits and the declared part of the topology. All bounds are per checkpoint.
struct participant_config {
  participant_id self = no_participant;
  /// Declared channels. Either may be empty: channels are then learned from traffic (README.md).
  std::vector<participant_id> incoming;
  std::vector<participant_id> outgoing;
  /// Recorded channel state of one checkpoint, summed over its incoming channels. Going over either
  /// bound aborts that checkpoint (status bound_exceeded) rather than exhausting memory.
  std::size_t recorded_messages_max = 100'000;
  std::size_t recorded_bytes_max = 64u << 20;
  /// Checkpoints held at once (recording, or reported and awaiting release).
  std::size_t in_flight_max = 16;
  /// How many finished checkpoint ids are remembered, to tell a stale marker from an unknown one.
  std::size_t finished_ids_max = 1024;
};

/// What the caller must carry out after a step, in this order (see the file comment).
struct participant_output {
  std::vector<marker> markers;
  std::vector<participant_report> reports;
  bool empty() const noexcept { return markers.empty() && reports.empty(); }
};

/// What `stamp` returns: send `markers` (only on a channel's first use while checkpoints are held),
/// then `message`, on the channel `self -> message.to`.
struct stamped_envelope {
  std::vector<marker> markers;
  envelope message;
};

/// A participant. Captures its application's local state through the injected `capture` function,
/// which is called synchronously, once per checkpoint recorded, at the instant of recording: before
/// the step's input envelope is delivered and before any later application message is sent.
class participant {
 public:
  using capture_fn = std::function<bytes()>;

  participant(participant_config config, capture_fn capture);

  /// Stamps an application message for the channel `self -> to`: sets `from`, `sequence` and the
  /// epoch; keeps `payload`, `lamport` and `vector_clock` as given. A channel used for the first
  /// time becomes an outgoing channel: it gets markers from the next recording on, and at once a
  /// marker for every checkpoint held here, which the caller sends on it before the envelope.
  stamped_envelope stamp(participant_id to, envelope message);

  /// An envelope arrived on `message.from -> self`. Records first when the envelope shows its
  /// sender recorded a checkpoint this participant has not (Lai & Yang's rule), then records it as
  /// channel state of every checkpoint whose recording of that channel is still open. Deliver it
  /// afterwards.
  participant_output on_envelope(const envelope& message);

  /// A marker arrived on `m.from -> self` (marker receiving rule, section 3).
  participant_output on_marker(const marker& m);

  /// The coordinator asks to take, abort or release a checkpoint.
  participant_output on_command(const checkpoint_command& command);

  /// The shell's failure detector says `peer` died or its connection lost messages: every
  /// checkpoint held here is aborted (status peer_lost), and the channel from `peer` starts a new
  /// sequence.
  participant_output on_peer_lost(participant_id peer);

  participant_id self() const noexcept { return config_.self; }
  /// The highest checkpoint id recorded here (0: none): what `stamp` puts on envelopes.
  checkpoint_id epoch() const noexcept { return epoch_; }
  /// Ids of checkpoints held here, ascending.
  std::vector<checkpoint_id> in_flight() const;
  /// True while checkpoint `id` still waits for a marker on some incoming channel.
  bool recording(checkpoint_id id) const;
  /// Incoming and outgoing channels known so far (declared or learned), ascending.
  std::vector<participant_id> incoming_channels() const;
  std::vector<participant_id> outgoing_channels() const;

  /// Checks every invariant this class keeps; an error names the one that broke. Tests call it
  /// after every step; it is O(state), so production shells call it only in debug builds.
  status check_invariants() const;

 private:
  /// One incoming channel's recording for one checkpoint.
  struct channel_recording {
    bool open = true;       ///< no marker (or marker-equivalent) seen yet
    bool reported = false;  ///< sent to the coordinator in a full or late report
    std::vector<envelope> messages;
  };

  /// One checkpoint held here.
  struct record {
    checkpoint_id id = 0;
    participant_id initiator = no_participant;
    bool full_report_sent = false;
    bytes local_state;
    std::vector<participant_id> markers_sent_to;
    /// Ascending by sender, unique: a handful per participant (its incoming channels), so a
    /// sorted vector, one allocation per record, instead of a map node each (10,000 records per
    /// checkpoint in the bank benchmark).
    std::vector<std::pair<participant_id, channel_recording>> channels;
    /// Kept in step with `channels` so that a step decides "all stopped" / "a late channel to
    /// report" without walking them: channels still open, and closed ones not reported yet.
    std::size_t open_channels = 0;
    std::size_t closed_unreported = 0;
    std::size_t messages = 0;
    std::size_t bytes_total = 0;
  };

  struct incoming_state {
    std::uint64_t last_sequence = 0;  ///< of the last envelope seen; the first must be 1
    bool resync = false;              ///< after a peer loss: accept whatever sequence comes next
    /// The highest sender epoch seen on this channel. Epochs never decrease along a FIFO channel,
    /// so the channel's recording is stopped for every held checkpoint up to it: an envelope that
    /// finds every held checkpoint at or below it changes no record (the O(1) path).
    checkpoint_id closed_through = 0;
  };

  participant_output on_channel_event(participant_id from, checkpoint_id sender_epoch,
                                      const envelope* message, const marker* m);
  void record_now(checkpoint_id id, participant_id initiator, participant_output& out);
  void note_channel_closed(record& r, participant_id from);
  /// The recording of `from` in `r`, created open if new.
  channel_recording& recording_of(record& r, participant_id from);
  void note_pre_message(record& r, const envelope& message, participant_output& out);
  void report_progress(participant_output& out);
  void abort_record(checkpoint_id id, checkpoint_status status, std::string detail,
                    participant_output& out);
  void abort_all(checkpoint_status status, const std::string& detail, participant_output& out);
  void remember_finished(checkpoint_id id);
  bool finished(checkpoint_id id) const;
  participant_report header(checkpoint_id id, checkpoint_status status, std::string detail) const;

  participant_config config_;
  capture_fn capture_;
  checkpoint_id epoch_ = 0;
  std::map<checkpoint_id, record> records_;
  std::map<participant_id, incoming_state> incoming_;
  std::map<participant_id, std::uint64_t> outgoing_sequence_;  ///< last sequence sent per channel
  std::set<checkpoint_id> finished_;
  std::deque<checkpoint_id> finished_order_;
};

}  // namespace troupe::checkpoint
