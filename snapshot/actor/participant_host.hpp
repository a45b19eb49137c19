#pragma once
/// The actor shell of the channel layer (snapshot/channel/channel_layer.hpp): one per node, hosting
/// that node's participants. It registers as `channel::host_endpoint` with the transport, feeds
/// every `delivery` to the layer and sends the layer's frames on the transport's reliable FIFO
/// application lane (frames for this node's own host go through its own mailbox: also FIFO, and no
/// trip through the broker). Markers take exactly the path of envelopes, at normal priority.
///
/// Backpressure: see `host_config::backlog_max`.
///
/// Failures: `delivery_failed` (a peer restarted before acknowledging: frames lost) and `busy` (a
/// frame was not taken: lost too) make the layer abort every checkpoint held with a channel from
/// that node (peer_lost); the application's own messages on those channels are lost as the crash
/// lost them, which is what a restore from the last complete checkpoint repairs. Both are logged.
///
/// Thread-safety: the hooks run on the host actor only, one at a time.

#include <chrono>
#include <cstdint>
#include <functional>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "runtime/base/log_level.hpp"
#include "snapshot/channel/channel_layer.hpp"

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
  /// Backpressure: the participants' ticks are skipped while the transport holds more than this
  /// many application messages (unacknowledged + queued) towards any peer, polled every tick. The
  /// lane refuses new messages at its bound (65,536 by default) and a refused frame is lost, so
  /// traffic started from ticks must stop well before. Traffic sent from `deliver` is not slowed.
  std::uint64_t backlog_max = 16'384;
  log_function log;  ///< may be empty
};

/// Spawns the host, creates a participant for every id the directory places on `layer.self`, and
/// registers the host with the transport.
caf::actor spawn_participant_host(caf::actor_system& system, host_config config);

}  // namespace troupe::checkpoint::actor
