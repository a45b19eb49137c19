#pragma once
/// The channel layer of one node: hosts that node's participants (one Chandy-Lamport core each,
/// snapshot/core/participant.hpp) and turns their traffic into Cap'n Proto frames
/// (runtime/wire/checkpoint.capnp) addressed to (node, endpoint). Pure: frames in, frames out; the
/// actor shell (snapshot/actor/participant_host.hpp) moves them over the transport's reliable FIFO
/// application lane, locally and across nodes.
///
/// Why this is enough for FIFO channels: every frame of the channel `p -> q` (envelopes and
/// markers alike) leaves p's node in the order the layer emitted it, through one actor, onto one
/// reliable FIFO lane towards q's node, and is fed to q's core in arrival order. Markers never take
/// another path or priority (DESIGN.md 6).
///
/// Channels are learned: an application message carries its sender's epoch (snapshot/README.md
/// "learned channels"), so the layer needs no declared topology; a declared one can still be given
/// per participant (`participant_hooks::incoming/outgoing`).
///
/// Not thread-safe: one channel_layer belongs to one actor. The hooks are called synchronously from
/// inside `on_message` / `send`; `deliver` may call `send` (re-entrantly) to answer.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/wire/checkpoint_codec.hpp"
#include "runtime/wire/message.hpp"
#include "snapshot/channel/directory.hpp"
#include "snapshot/core/participant.hpp"

namespace troupe::checkpoint::channel {

/// Transport endpoint names: every node's participant host, and the coordinator.
inline constexpr std::string_view host_endpoint = "ckpt";
inline constexpr std::string_view coordinator_endpoint = "ckpt_coord";

/// What the application supplies for one hosted participant.
struct participant_hooks {
  /// Its local state, called at the instant it records a checkpoint.
  std::function<bytes()> capture;
  /// Replaces its local state with a recorded one (restore). An error refuses the restore.
  std::function<status(const bytes&)> restore;
  /// Handles one application message. May call channel_layer::send.
  std::function<void(participant_id from, const bytes& payload)> deliver;
  /// Called on every `channel_layer::tick` once the participant is restored (optional): lets it
  /// start traffic of its own (the bank's transfers). May call channel_layer::send.
  std::function<void()> tick;
  /// Declared channels (optional; learned from traffic otherwise).
  std::vector<participant_id> incoming;
  std::vector<participant_id> outgoing;
};

/// One frame to hand to the transport.
struct outgoing_frame {
  node_id node = 0;
  std::string_view endpoint;  ///< host_endpoint or coordinator_endpoint
  wire::message frame;
};

struct layer_config {
  node_id self = 0;
  node_id coordinator = 0;  ///< the node whose coordinator_endpoint gets reports
  directory members;        ///< every participant of the application, on every node
  /// Bounds of each participant core (self and channels are filled in per participant).
  participant_config limits;
  /// Start waiting for a restore order for every local participant: application traffic that
  /// arrives first is held (in order) and delivered after the restored state and the recorded
  /// channel messages.
  bool await_restore = false;
  std::size_t held_max = 1'000'000;  ///< frames held while awaiting restore; beyond: refused
  /// Drawn at random by the shell for each host start (host_ready, message.hpp).
  std::uint64_t instance = 0;
  /// `take_outbox` puts the frames for one (node, endpoint) into batch frames of at most this many
  /// frames and about this many bytes (checkpoint.capnp `batch`); 1: no batching, and no marker
  /// runs either (every marker a frame of its own).
  /// Adjacent markers of one checkpoint to one node travel as one marker run of at most
  /// `batch_max_bytes / 16` markers (README.md "marker runs").
  std::size_t batch_max_frames = 4096;
  std::size_t batch_max_bytes = 256u << 10;
};

/// Counters for metrics and logs (monotonic).
struct layer_stats {
  std::uint64_t delivered = 0;  ///< application messages handed to a participant
  std::uint64_t sent = 0;       ///< application messages sent
  std::uint64_t markers = 0;    ///< markers sent
  std::uint64_t marker_runs = 0;  ///< marker runs (of two markers or more) received
  std::uint64_t reports = 0;    ///< reports sent to the coordinator
  std::uint64_t restored = 0;   ///< participants restored
  std::uint64_t discarded = 0;  ///< frames of an earlier generation dropped (restore in place)
  std::uint64_t rollbacks = 0;  ///< rollbacks in place carried out
};

class channel_layer {
 public:
  explicit channel_layer(layer_config config);

  /// Hosts participant `id`, which the directory must place on this node. invalid_argument
  /// otherwise, busy if already hosted.
  status add(participant_id id, participant_hooks hooks);

  /// Sends an application message from the local participant `from` to participant `to`
  /// (anywhere). invalid_argument for an unknown or non-local sender, an unknown receiver, or
  /// `from == to`. While awaiting restore, sending is refused (busy): nothing may leave a
  /// participant before its state is back.
  status send(participant_id from, participant_id to, bytes payload);

  /// A frame arrived from `source` (a host or, for commands and restore orders, the coordinator).
  /// Bad input (undecodable, misaddressed, from a node that does not host the sender) is refused
  /// with an error and changes nothing. A batch is taken frame by frame, in order; a refused frame
  /// in it does not stop the others (the first refusal is returned).
  status on_message(node_id source, const wire::message& frame);

  /// Queues a host_ready for the coordinator. The shell repeats it until `started()`: application
  /// traffic begins only once the coordinator saw every host ready, since a frame for a node whose
  /// host is not registered yet would be dropped by its transport.
  void announce();
  /// True once the coordinator's start_traffic arrived: sends and ticks are refused before.
  bool started() const noexcept { return started_; }

  /// The generation this node is in: 0 from its start, then the last rollback's (README.md "restore
  /// in place").
  std::uint64_t generation() const noexcept { return generation_; }

  /// Calls every restored participant's `tick` hook, in ascending id (nothing before `started()`).
  void tick();

  /// Frames sent to `node` may have been lost (the peer restarted before acknowledging them, or a
  /// send was refused): every checkpoint held by a local participant with a channel from `node` is
  /// aborted (peer_lost) and those channels restart their sequence numbers.
  void on_peer_lost(node_id node);

  /// The frames to send. Empties the outbox. Frames for the same (node, endpoint) keep their order
  /// and are packed into batch frames (`layer_config::batch_max_frames`): a checkpoint's markers
  /// to one node, or a tick's transfers, become a few frames instead of thousands. Frames for
  /// different destinations may be reordered among themselves (no channel spans two).
  std::vector<outgoing_frame> take_outbox();

  bool awaiting_restore() const noexcept { return awaiting_ > 0; }
  const layer_stats& stats() const noexcept { return stats_; }
  std::vector<participant_id> local() const;
  /// The core of a local participant (tests, metrics). nullptr when not hosted here.
  const participant* core(participant_id id) const;

  /// Every hosted core's invariants, and the layer's own (frames held only for a participant that
  /// awaits its restore).
  status check_invariants() const;

 private:
  struct hosted {
    participant core;
    participant_hooks hooks;
    bool restored = false;
  };

  /// The local receiver of the channel from -> to, if `source` may send on it.
  result<hosted*> check_channel(node_id source, participant_id from, participant_id to);
  status on_restore(const restore_order& order);
  status on_frame(node_id source, const wire::message& frame);
  status on_rollback(const rollback& order);
  status on_fence(node_id source, const generation_fence& fence);
  /// An envelope or marker that passed the generation gate (or was held and is replayed).
  status on_traffic(node_id source, const wire::message& frame);
  /// The same, decoded once by the caller (`frame` is what gets held if its participant awaits
  /// its restore).
  status on_traffic(node_id source, const wire::checkpoint_message& decoded,
                    const wire::message& frame);
  status on_marker_run(node_id source, const marker_run& run);
  /// Appends a frame for (node, endpoint) to the outbox. Every frame goes through here or
  /// `queue_marker`, which keeps `open_run_` true to its meaning.
  void queue(node_id node, std::string_view endpoint, wire::message frame);
  /// Appends marker `m` for `node`'s host: to the run that ends `node`'s stream if it is of the
  /// same checkpoint, initiator and epoch (nothing has been queued for that host since), else as
  /// a new run (snapshot/README.md "marker runs").
  void queue_marker(node_id node, const marker& m);
  /// Appends a report for the coordinator: to the report run that is the last frame queued for
  /// it, if any, else as a new run (README.md "report runs").
  void queue_report(participant_report report);
  /// Feeds the frames held for generation_ (they arrived before this node got there).
  void replay_ahead();
  void carry_out(participant_output out);
  void to_host(participant_id to, wire::message frame);
  participant_config config_for(participant_id id, const participant_hooks& hooks) const;

  layer_config config_;
  std::map<participant_id, hosted> hosted_;
  bool started_ = false;
  std::size_t awaiting_ = 0;  ///< local participants still waiting for their restore order
  /// Frames for a participant still awaiting its restore, in arrival order, per participant.
  std::map<participant_id, std::deque<std::pair<node_id, wire::message>>> held_;
  std::size_t held_count_ = 0;
  /// Restore in place (README.md): the generation this node is in, the one each source node's
  /// frames belong to (set by its fences, in FIFO order on its link), and frames from a source
  /// already in a later generation than this node, with that generation, in arrival order.
  std::uint64_t generation_ = 0;
  bool rollback_unconfirmed_ = false;  ///< rolled_back not sent yet for generation_
  std::map<node_id, std::uint64_t> source_generation_;
  std::deque<std::tuple<node_id, std::uint64_t, wire::message>> ahead_;
  /// A frame waiting in the outbox; when `run` is set, the marker run runs_[*run], encoded by
  /// take_outbox.
  struct queued {
    node_id node = 0;
    std::string_view endpoint;
    wire::message frame;
    std::optional<std::size_t> run;
    std::optional<std::size_t> reports;  ///< report_runs_[*reports], encoded by take_outbox
  };
  std::vector<queued> outbox_;
  std::vector<marker_run> runs_;
  /// Per node: the index in runs_ of the run that is the last frame queued for that node's host,
  /// if the last one is a run. Any other frame queued for that host closes it.
  std::map<node_id, std::size_t> open_run_;
  std::vector<report_run> report_runs_;
  /// The report run that is the last frame queued for the coordinator, and its bytes, roughly.
  std::optional<std::size_t> open_report_run_;
  std::size_t open_report_run_bytes_ = 0;
  layer_stats stats_;
};

}  // namespace troupe::checkpoint::channel
