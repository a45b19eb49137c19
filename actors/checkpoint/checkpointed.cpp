#include "actors/checkpoint/checkpointed.hpp"

namespace troupe::actors {

checkpoint::actor::participant_factory hosted(
    std::function<std::unique_ptr<checkpointed>(participant_id)> make) {
  return [make = std::move(make)](participant_id id, checkpoint::actor::send_fn send) {
    std::shared_ptr<checkpointed> p = make(id);
    p->self_ = id;
    p->send_ = std::move(send);
    checkpoint::channel::participant_hooks h;
    h.capture = [p] { return p->capture(); };
    h.restore = [p](const bytes& state) { return p->restore(state); };
    h.deliver = [p](participant_id from, const bytes& payload) { p->on_message(from, payload); };
    h.tick = [p] { p->on_tick(); };
    return h;
  };
}

}  // namespace troupe::actors
