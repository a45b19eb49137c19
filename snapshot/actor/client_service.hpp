#pragma once
/// How the node's client service reaches the checkpoint coordinator (header only: the node needs
/// no link dependency on the checkpoint libraries). The coordinator actor puts itself in the actor
/// system's registry under `coordinator_registry_key`; the client service looks it up per request
/// and asks `(client_atom, uint8 verb, uint64 id)` -> `(uint64 id, std::string status,
/// std::string text)` (verbs: wire::checkpoint_verb; status "ok", a checkpoint status name, or an
/// error code name).

#include <caf/atom.hpp>

namespace troupe::checkpoint::actor {

using client_atom = caf::atom_constant<caf::atom("ck_client")>;
inline constexpr caf::atom_value coordinator_registry_key = caf::atom("ck_coord");

}  // namespace troupe::checkpoint::actor
