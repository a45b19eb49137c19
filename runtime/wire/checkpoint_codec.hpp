#pragma once
/// Chandy-Lamport codec: snapshot/core/message.hpp <-> runtime/wire/checkpoint.capnp.
/// encode() never fails. decode_checkpoint_message() never throws and returns, as errors:
///  - errc::malformed: structure that does not fit the schema;
///  - errc::unsupported: a union member or enumerant this build does not know (a newer peer).
/// Meaning (sequence gaps, epochs, clock order) is the core's to check, not the codec's.

#include <variant>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/wire/message.hpp"
#include "snapshot/core/message.hpp"

namespace troupe::wire {

/// Everything a checkpoint frame can hold.
using checkpoint_message =
    std::variant<checkpoint::envelope, checkpoint::marker, checkpoint::checkpoint_command,
                 checkpoint::participant_report, checkpoint::restore_order,
                 checkpoint::host_ready, checkpoint::start_traffic, checkpoint::rollback,
                 checkpoint::generation_fence, checkpoint::rolled_back, checkpoint::marker_run,
                 checkpoint::report_run>;

message encode(const checkpoint::envelope& env);
message encode(const checkpoint::marker& mark);
message encode(const checkpoint::checkpoint_command& command);
message encode(const checkpoint::participant_report& report);
message encode(const checkpoint::restore_order& order);
message encode(const checkpoint::host_ready& ready);
message encode(const checkpoint::start_traffic& start);
message encode(const checkpoint::rollback& order);
message encode(const checkpoint::generation_fence& fence);
message encode(const checkpoint::rolled_back& done);
/// `run.from` and `run.to` must be equally long (asserted).
message encode(const checkpoint::marker_run& run);
message encode(const checkpoint::report_run& run);
message encode(const checkpoint_message& msg);

/// A batch (errc::invalid_argument: decode it with decode_checkpoint_batch).
result<checkpoint_message> decode_checkpoint_message(const message& msg);

/// One frame carrying `frames` (each a checkpoint frame, not a batch), in order. Never fails.
message encode_checkpoint_batch(const std::vector<message>& frames);
/// True if `msg` is a checkpoint batch (a cheap look at the root's union tag).
bool is_checkpoint_batch(const message& msg);
/// The frames of a batch, each parsed and validated as a message of its own. errc::malformed for
/// anything that is not a batch of valid frames, including a batch inside a batch.
result<std::vector<message>> decode_checkpoint_batch(const message& msg);

}  // namespace troupe::wire
