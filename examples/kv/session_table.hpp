#pragma once
/// The key-value service's client sessions are the generic ones of the replicated actor API
/// (actors/replicated/session_table.hpp: Raft thesis 6.3, at most once per (clientId, sequence),
/// bounded, deterministic eviction); kv keeps its own table, separate from the service host's.

#include "actors/replicated/session_table.hpp"

namespace troupe::kv {
using replicated::session_limits;
using replicated::session_table;
using replicated::session_verdict;
}  // namespace troupe::kv
