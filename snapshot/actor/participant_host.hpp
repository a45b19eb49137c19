#pragma once
/// The actor shell of the channel layer (snapshot/channel/channel_layer.hpp): one per node, hosting
/// that node's participants. It registers as `channel::host_endpoint` with the transport, feeds
/// every `delivery` to the layer and sends the layer's frames on the transport's reliable FIFO
/// application lane (frames for this node's own host go through its own mailbox: also FIFO, and no
/// trip through the broker). Markers take exactly the path of envelopes, at normal priority.
///
/// Back-pressure (no frame lost, memory bounded): the host hands the transport at most `window`
/// frames per peer that the peer has not acknowledged yet; the rest wait in the host, in order, in
/// a queue per peer. The window is an estimate kept on the safe side: every frame sent counts, and
/// only an answer to a `status_atom` poll (acknowledged + queued in the transport, plus whatever
/// was sent since the poll left) lowers it; the host polls only while frames wait. Since `window`
/// stays far below the application lane's bound, the transport never refuses (`busy`) a frame of
/// ours. While frames wait for any peer, the participants' ticks are skipped (the producers stop);
/// an application send towards a peer whose queue holds `queue_max` frames is refused (`busy`, the
/// application's `send` returns it and keeps its message). Protocol frames (markers, reports) are
/// never refused: a checkpoint adds at most one marker per channel and one report per participant.
/// Metrics: `troupe_checkpoint_flow_*` (docs/metrics.md).
///
/// Failures: `delivery_failed` (a peer restarted before acknowledging: frames lost) and `busy`
/// (cannot happen with the window below the lane's bound; handled the same) make the layer abort
/// every checkpoint held with a channel from that node (peer_lost); the application's own messages
/// on those channels are lost as the crash lost them, which is what a restore from the last
/// complete checkpoint repairs. Both are logged and counted (`troupe_checkpoint_frames_lost_total`).
///
/// Thread-safety: the hooks run on the host actor only, one at a time.

#include <chrono>
#include <cstdint>
#include <functional>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/base/log_level.hpp"
#include "snapshot/channel/channel_layer.hpp"

namespace prometheus {
class Registry;
}

namespace troupe::checkpoint::actor {

/// Sends an application message from the participant the function was made for.
using send_fn = std::function<status(participant_id to, bytes payload)>;

/// Makes the hooks of local participant `id`; `send` stays valid while the host lives and may only
/// be called from inside the hooks.
using participant_factory = std::function<channel::participant_hooks(participant_id id, send_fn send)>;

struct host_config {
  channel::layer_config layer;
  participant_factory make;
  caf::actor transport;
  /// Period of the participants' `tick` hooks; 0: never.
  std::chrono::milliseconds tick_interval{0};
  /// Back-pressure (above): frames handed to the transport and not yet acknowledged, per peer. A
  /// frame is usually a batch (channel_layer::take_outbox, at most `layer.batch_max_bytes`), so
  /// the transport holds at most window x batch bytes of ours per peer (64 MiB by default). Must
  /// stay well below the transport's application lane bound (65,536 messages by default), which
  /// the coordinator's frames to that peer share.
  std::uint64_t window = 256;
  /// Frames waiting in the host per peer beyond which application sends to it are refused (busy):
  /// with the window, at most (window + queue_max) x batch bytes per peer.
  std::size_t queue_max = 1024;
  /// How often a host with frames waiting asks the transport how many it still holds.
  std::chrono::milliseconds poll_interval{1};
  prometheus::Registry* registry = nullptr;  ///< flow-control metrics go here when set
  log_function log;  ///< may be empty
};

/// Spawns the host, creates a participant for every id the directory places on `layer.self`, and
/// registers the host with the transport.
caf::actor spawn_participant_host(caf::actor_system& system, host_config config);

}  // namespace troupe::checkpoint::actor
