#pragma once
/// Lanes: each message class has its own queue and policy (DESIGN.md section 3), so that a heartbeat
/// never waits behind a snapshot chunk. The lanes and their policies are the link core's
/// (runtime/transport/link/frame.hpp, lane_queues.hpp); the transport re-exports them.

#include "runtime/transport/link/frame.hpp"

namespace troupe::transport {

using lane = link::lane;
using link::lane_count;
using link::to_string;

}  // namespace troupe::transport
