#pragma once
/// The checkpoint coordinator actor: the actor shell of snapshot/core/coordinator.hpp, in the
/// spirit of the seed's `DistributedSnapshot` (create with an id and an initiator = `take`,
/// initiate = the take commands it sends, get the global state = the stored checkpoint, handed to
/// `on_finished`). Runs on the coordinator's node, registered as `channel::coordinator_endpoint`.
///
/// - Sends each command once per node (the host applies it to every participant it hosts), on the
///   transport's application lane, in order (the coordinator -> host link is FIFO: README.md).
/// - Persists every outcome in the checkpoint store before announcing it (log line, metrics,
///   `on_finished`, the answer to `take`): the global state of a complete one in ONE transaction,
///   the manifest of an aborted one with its status and reason. Saves run in order on a thread of
///   their own (store_thread.hpp), so the coordinator keeps taking reports and ticks meanwhile;
///   outcomes are announced in the order they finished. No checkpoint starts while
///   `core.in_flight_max` outcomes wait to be stored (busy). The store must not be used elsewhere.
/// - Aborts: a participant's failure report; `delivery_failed` for a command (its node restarted
///   and lost it: peer_lost for every participant there); no completion within the timeout.
/// - Restore (`restore_from`): at start, loads and checks the checkpoint (store::plan) and sends
///   every participant its `restore_order`; a refused restore calls `fail` with the reason.
/// - Restore in place (the client's `restore` verb): a global rollback of the running hosts
///   (snapshot/README.md "restore in place"): checkpoints in flight aborted, then per node
///   rollback, restore orders, start; answered once every node confirmed (`rolled_back`) or with
///   `timeout` after `core.timeout_ticks`; refused with the reason (nothing changed) when the
///   checkpoint cannot be restored whole. No checkpoint starts while one is unconfirmed (busy).
///
/// Spawned detached: the store's reads (list, show, export, restore plans) block on SQLite on
/// the coordinator's thread (between saves), which must not hold a scheduler thread.
///
/// CAF interface (besides the transport's messages):
/// - `(take_atom)` -> `(uint64 id, std::string status, std::string detail)` once the checkpoint
///   is stored (status "ok") or aborted (its status name); id 0 and status "busy" or
///   "invalid_argument" when it could not start.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "runtime/base/log_level.hpp"
#include "snapshot/channel/directory.hpp"
#include "snapshot/core/coordinator.hpp"
#include "snapshot/store/checkpoint_store.hpp"

namespace prometheus {
class Registry;
}

namespace troupe::checkpoint::actor {

using take_atom = caf::atom_constant<caf::atom("ck_take")>;

struct coordinator_actor_config {
  channel::node_id self = 0;
  channel::directory members;
  caf::actor transport;
  /// Ticks are milliseconds of a monotonic clock: `core.timeout_ticks` is in ms.
  coordinator_config core{.in_flight_max = 8, .timeout_ticks = 10'000, .mode = initiation::ask_all};
  std::chrono::milliseconds tick_interval{20};
  std::shared_ptr<store::checkpoint_store> store;
  /// Take checkpoints by itself every `every` (0: only on request), `burst` at a time (so that
  /// several are in flight at once), at most `limit` in all (0: no limit).
  std::chrono::milliseconds every{0};
  std::size_t burst = 1;
  std::uint64_t limit = 0;
  /// Restore this checkpoint at start; 0 = the newest complete one.
  std::optional<checkpoint_id> restore_from;
  /// After a checkpoint started (its take commands are sent). Runs on the actor.
  std::function<void(checkpoint_id)> on_started;
  /// After an outcome is stored (the application checks or reports it). Runs on the actor.
  std::function<void(const checkpoint_outcome&)> on_finished;
  /// A restore that cannot happen: the process should stop (runtime/node: exit code 1).
  std::function<void(const std::string&)> fail;
  prometheus::Registry* registry = nullptr;
  log_function log;
};

caf::actor spawn_coordinator(caf::actor_system& system, coordinator_actor_config config);

}  // namespace troupe::checkpoint::actor
