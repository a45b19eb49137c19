# Node-level service messages between nodes (not Raft, not checkpoints): the peer probe that
# measures the application path (actor -> transport -> actor) between every pair of nodes.
# Versioning: add fields at the end with new ordinals; never renumber (runtime/wire/README.md).
@0x895a65de6e4046b8;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::wire::schema");

struct NodeProbe {
  fromNode @0 :UInt64;   # the node that started the round trip
  sequence @1 :UInt64;   # per (from, to) pair, for loss accounting
  sentAtNs @2 :Int64;    # the starter's own monotonic clock, echoed unchanged in the reply
  isReply @3 :Bool;      # false: a probe; true: the answer to one
}
