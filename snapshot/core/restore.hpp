#pragma once
/// Turning a complete checkpoint back into running participants (DESIGN.md 6): each participant is
/// re-created from its recorded local state, then gets the messages recorded on its incoming
/// channels, before any new traffic. Pure: the store reads the global state, the shells carry out
/// the plan.

#include <vector>

#include "runtime/base/result.hpp"
#include "snapshot/core/global_state.hpp"

namespace troupe::checkpoint {

/// What one participant needs to come back.
struct restore_plan {
  participant_id participant = no_participant;
  bytes local_state;
  /// The recorded messages addressed to it: each channel's in channel order, channels in ascending
  /// sender id. Deliver them to the application directly (not through a participant core: their
  /// sequence numbers belong to the channels of the old incarnation), and before anything new.
  std::vector<envelope> deliveries;
};

/// Checks that `state` can be restored completely and splits it per participant, in ascending id.
/// Refuses, with the reason, rather than restore part of a checkpoint:
///  - invalid_argument: no participants, or id 0;
///  - corrupt: a channel whose sender or receiver has no local state, a message whose from/to is
///  not
///    its channel's, or messages out of channel order.
/// After a restore the participant cores start afresh (epoch 0, sequences from 1) and the
/// coordinator must start ids above `state.id`.
result<std::vector<restore_plan>> plan_restore(const global_state& state);

}  // namespace troupe::checkpoint
