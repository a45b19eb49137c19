#pragma once
/// Raft peer message codec: consensus/core/message.hpp <-> runtime/wire/raft.capnp.
/// encode() never fails. decode_raft_message() never throws and returns, as errors:
///  - errc::malformed: structure that does not fit the schema, a zero `from`/`to` node id, or
///    AppendEntries entries whose indexes are not consecutive from prev_log_index + 1;
///  - errc::unsupported: a body or entry type this build does not know (a newer peer).
/// Every body's `group` is set from the message's single group id.

#include "consensus/core/message.hpp"
#include "runtime/base/result.hpp"
#include "runtime/wire/message.hpp"

namespace troupe::wire {

message encode(const raft::raft_message& msg);

result<raft::raft_message> decode_raft_message(const message& msg);

}  // namespace troupe::wire
