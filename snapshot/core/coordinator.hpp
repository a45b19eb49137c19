#pragma once
/// The coordinator's side of a checkpoint, as a pure state machine: start a checkpoint over a set
/// of participants, collect their reports, decide complete or aborted, and assemble the global
/// state. In the spirit of the seed's `DistributedSnapshot` (create with an id and an initiator,
/// initiate, get the global state), with several checkpoints in flight, each under its own id.
///
/// Not thread-safe: one coordinator belongs to one actor, which sends every command of a step and
/// hands every finished outcome to the store before feeding the next input. Time is the caller's
/// monotonic tick count, passed with each input; the core never reads a clock.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "runtime/base/result.hpp"
#include "snapshot/core/global_state.hpp"
#include "snapshot/core/message.hpp"

namespace troupe::checkpoint {

/// Who the coordinator asks to record when a checkpoint starts.
enum class initiation {
  /// Every participant gets `take` at once: the checkpoint spreads from everywhere, which shortens
  /// it;
  /// markers still decide channel state, so the result is as consistent as with one initiator.
  ask_all,
  /// Only the initiator gets `take`; the others record on their first marker (the paper's setting).
  /// Needs a declared topology in which every participant is reachable from the initiator: with
  /// learned channels a participant nobody has sent to yet would never hear of the checkpoint, and
  /// one that skipped it (README.md "out of order") would never be asked, so it would time out.
  ask_initiator,
};

struct coordinator_config {
  std::size_t in_flight_max = 8;
  /// A checkpoint not complete this many ticks after its start is aborted (status timeout).
  std::uint64_t timeout_ticks = 1000;
  initiation mode = initiation::ask_all;
};

/// A command for one participant.
struct addressed_command {
  participant_id to = no_participant;
  checkpoint_command command;
};

/// What the caller must carry out after a step: send `commands`, then persist or publish
/// `finished`.
struct coordinator_output {
  std::vector<addressed_command> commands;
  std::vector<checkpoint_outcome> finished;
};

class coordinator {
 public:
  explicit coordinator(coordinator_config config);

  /// Starts checkpoint `id` over `participants`, which must contain `initiator` and be closed under
  /// channels (no member has a channel to or from a non-member). Errors: `id` not above every id
  /// started before (ids are epochs, see message.hpp), an empty set, an initiator outside it
  /// (invalid_argument); already `in_flight_max` in flight, or, with `ask_initiator`, one in flight
  /// from another initiator (busy).
  result<coordinator_output> start(checkpoint_id id, participant_id initiator,
                                   const std::vector<participant_id>& participants,
                                   std::uint64_t now_ticks);

  /// A participant's report. Reports for unknown or finished checkpoints are ignored (they are late
  /// echoes of an abort). A report with a status other than ok aborts the checkpoint with it.
  /// Taken by value: its local state and recorded messages move into the global state (pass an
  /// rvalue to spare the copy: 10,000 reports per checkpoint in the bank benchmark).
  coordinator_output on_report(participant_report report, std::uint64_t now_ticks);

  /// Aborts every checkpoint whose deadline passed (status timeout).
  coordinator_output on_tick(std::uint64_t now_ticks);

  /// A participant died: every checkpoint it belongs to is aborted (status peer_lost).
  coordinator_output on_participant_lost(participant_id p, std::uint64_t now_ticks);

  /// An operator's abort. Unknown ids give an empty output.
  coordinator_output abort(checkpoint_id id, std::uint64_t now_ticks);

  /// Ids in flight, ascending.
  std::vector<checkpoint_id> in_flight() const;
  /// The highest id ever started (0: none).
  checkpoint_id last_started() const noexcept { return last_started_; }

  /// Checks every invariant this class keeps; an error names the one that broke.
  status check_invariants() const;

 private:
  using state_bytes = bytes;  ///< (`pending` has a member named `bytes`)
  struct pending {
    participant_id initiator = no_participant;
    /// The members, ascending and unique: a membership test is a binary search in one array,
    /// and a member's index names its slot in `reported` (a std::set of 10,000 ids cost a node
    /// allocation each per checkpoint, and its look-ups were a tree walk per report and channel).
    std::vector<participant_id> participants;
    std::uint64_t started_tick = 0;
    std::uint64_t deadline_tick = 0;
    /// The assembled global state: filled from `arrived_*` when the last full report is in
    /// (`assemble`), then directly by late reports.
    global_state state;
    /// Until every full report is in: the local states and reported channels in the order they
    /// came. `assemble` sorts them once and builds `state`'s maps in key order, each insertion
    /// at the end (with a hint) instead of a descent through the tree, and checks `marked`
    /// against the channels in one merge instead of a look-up each: 10,002 states and 40,008
    /// channels per checkpoint in the bank benchmark.
    std::vector<std::pair<participant_id, state_bytes>> arrived_states;
    std::vector<std::pair<channel_id, std::vector<envelope>>> arrived_channels;
    /// Per member (same index): its full report is in.
    std::vector<bool> reported;
    std::size_t full_reports = 0;
    /// Channels senders put a marker on (`markers_sent_to`, members only), as the full reports
    /// came: each must be reported by its receiver before the checkpoint is complete.
    std::vector<channel_id> marked;
    /// Empty until every full report is in; then the channels of `marked` not reported yet (each
    /// must be: a channel its receiver learned after its full report, README.md "learned
    /// channels"), erased as late reports bring them. Checking `marked` once against the
    /// reported channels, instead of inserting each of the 40,000 into a set and erasing it again
    /// (the bank benchmark), spares two tree operations and an allocation per channel.
    std::set<channel_id> awaited_channels;
    /// state.recorded_message_count() and state.byte_count(), kept as reports are taken.
    std::size_t messages = 0;
    std::size_t bytes = 0;
    /// Index of `p` in `participants`, or nullopt for a non-member.
    std::optional<std::size_t> index_of(participant_id p) const;
    bool is_member(participant_id p) const { return index_of(p).has_value(); }
  };

  bool complete(const pending& p) const;
  /// Every full report is in: moves `arrived_*` into `state` and computes `awaited_channels`.
  static void assemble(pending& p);
  void finish(checkpoint_id id, checkpoint_status status, std::string detail,
              std::uint64_t now_ticks, coordinator_output& out);

  coordinator_config config_;
  checkpoint_id last_started_ = 0;
  std::map<checkpoint_id, pending> pending_;
};

}  // namespace troupe::checkpoint
