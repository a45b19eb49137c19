#include "examples/lock/lock_node.hpp"

#include "examples/lock/lock_clock_actor.hpp"

namespace troupe::lock {

lock_hosting::lock_hosting() : counts_(std::make_shared<atomic_lock_observer>()) {
  app_.name = "lock";
  app_.start = [counts = counts_](node::node_app_context& context) -> result<std::vector<caf::actor>> {
    if (!context.raft) return make_error(errc::internal, "the lock clock needs the node's raft actor");
    lock_clock_config config;
    config.raft = context.raft;
    config.registry = context.registry;
    config.counts = counts;
    config.log = context.log;
    return std::vector<caf::actor>{spawn_lock_clock(context.system, std::move(config))};
  };
}

std::unique_ptr<lock_service> lock_hosting::service() const {
  return std::make_unique<lock_service>(lock_options{}, counts_);
}

}  // namespace troupe::lock
