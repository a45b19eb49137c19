#pragma once
/// An application hosted inside `troupe node` (e.g. the bank example, `troupe bank`): started once
/// the transport and the node's services run, stopped first at shutdown. Keeps node_main free of
/// any one application.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "cli/commands.hpp"
#include "runtime/base/log_level.hpp"
#include "runtime/base/result.hpp"
#include "runtime/node/config.hpp"

namespace prometheus {
class Registry;
}

namespace troupe::status_page {
class status_board;
}

namespace troupe::node {

/// What the node hands an application at start. Valid until the application's actors stopped.
struct node_app_context {
  const node_config& config;
  caf::actor_system& system;
  caf::actor transport;
  prometheus::Registry* registry = nullptr;
  log_function log;
  /// Stops the node with exit code 1 after logging `why` (e.g. a refused restore). Any thread.
  std::function<void(const std::string& why)> fail;
  /// The status page's board (runtime/status): an application may report to it, e.g. its recent
  /// checkpoints (`record_checkpoint`). Thread-safe; lives as long as the node.
  std::shared_ptr<status_page::status_board> status;
  /// The raft actor of the node's group (consensus/actor/raft_actor.hpp): an application may
  /// propose to it (e.g. the lock service's clock, examples/lock). Null if the group did not start.
  caf::actor raft;
};

struct node_app {
  std::string name;  ///< for log lines
  /// Spawns the application's actors; an error stops the node with exit code 1.
  std::function<result<std::vector<caf::actor>>(node_app_context&)> start;
};

}  // namespace troupe::node

namespace troupe::cli {
/// `troupe node` hosting `app` (null: a plain node) besides its Raft group (`make_state_machine`
/// may be empty). `a` are the node's flags (cli/commands.hpp).
int node_main_with(const args& a, const state_machine_factory& make_state_machine,
                   const node::node_app* app);
}  // namespace troupe::cli
