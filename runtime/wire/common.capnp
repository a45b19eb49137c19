# Vocabulary shared by every Troupe schema. See runtime/wire/README.md for the versioning rule:
# fields and union members are only ever added (with the next ordinal), never removed, renumbered
# or retyped; a reader must treat an unknown union tag as "not understood", never as a crash.
@0xb022b1b4ce175ee6;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::wire::schema");

# Protocol versions this build speaks. The link handshake (link.capnp) exchanges a VersionRange
# and both sides use the highest version inside both ranges; no overlap refuses the connection.
# Bump protocolVersionMax when a change needs both sides to know it (a new message a peer must
# understand); raise protocolVersionMin only when dropping support for old peers.
const protocolVersionMin :UInt16 = 1;
const protocolVersionMax :UInt16 = 1;

# Node ids are cluster-unique, non-zero, fixed for a node's life (0 means "none/unknown").
# Group ids name a Raft group; many groups may share a node.
# Both travel as UInt64 fields named nodeId / groupId (Cap'n Proto has no type aliases).

struct VersionRange {
  min @0 :UInt16;  # lowest protocol version the sender speaks
  max @1 :UInt16;  # highest protocol version the sender speaks
}

# Where a node can be reached: its id and advertised "host:port".
struct NodeAddress {
  nodeId @0 :UInt64;
  address @1 :Text;
}
