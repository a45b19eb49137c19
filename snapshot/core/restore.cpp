#include "snapshot/core/restore.hpp"

#include <cassert>
#include <cstdint>
#include <map>
#include <string>

namespace troupe::checkpoint {

namespace {

std::string channel_text(const channel_id& c) {
  return std::to_string(c.from) + "->" + std::to_string(c.to);
}

}  // namespace

result<std::vector<restore_plan>> plan_restore(const global_state& state) {
  if (state.id == 0 || state.local_states.empty()) {
    return make_error(errc::invalid_argument, "checkpoint has no id or no participants");
  }
  std::map<participant_id, restore_plan> plans;
  for (const auto& [p, local] : state.local_states) {
    plans[p] = restore_plan{p, local, {}};
  }
  const auto prefix = "checkpoint " + std::to_string(state.id) + ": ";
  // Channels iterate in (from, to) order, so each receiver's deliveries come in ascending sender
  // id.
  for (const auto& [c, messages] : state.channels) {
    if (!plans.contains(c.from) || !plans.contains(c.to)) {
      return make_error(errc::corrupt, prefix + "channel " + channel_text(c) +
                                           " has an end without a recorded local state");
    }
    std::uint64_t previous = 0;
    for (const auto& m : messages) {
      if (m.from != c.from || m.to != c.to) {
        return make_error(errc::corrupt, prefix + "a message on channel " + channel_text(c) +
                                             " says it is from " + std::to_string(m.from) + " to " +
                                             std::to_string(m.to));
      }
      if (m.sequence <= previous) {
        return make_error(errc::corrupt,
                          prefix + "messages out of channel order on " + channel_text(c));
      }
      previous = m.sequence;
      plans[c.to].deliveries.push_back(m);
    }
  }
  std::vector<restore_plan> out;
  out.reserve(plans.size());
  for (auto& [p, plan] : plans) out.push_back(std::move(plan));
  assert(out.size() == state.local_states.size());
  return out;
}

}  // namespace troupe::checkpoint
