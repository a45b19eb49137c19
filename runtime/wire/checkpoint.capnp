# Chandy-Lamport checkpoints: application envelopes and markers on participant channels, and the
# coordinator <-> participant protocol. Version 1.
# Plain C++ form: snapshot/core/message.hpp; codec: runtime/wire/checkpoint_codec.hpp.
# Section numbers cite Chandy & Lamport 1985, "Distributed Snapshots".
# Checkpoints span participants, not a Raft group: these messages carry no group id.
@0xedbdaaa51c9d278d;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::wire::schema");

struct ClockEntry {
  participant @0 :UInt64;
  counter @1 :UInt64;
}

# An application message on the channel from -> to.
struct Envelope {
  from @0 :UInt64;       # logical participant id
  to @1 :UInt64;
  sequence @2 :UInt64;   # 1 for the first envelope on the channel, +1 each (markers not counted)
  epoch @3 :UInt64;      # highest checkpoint id the sender had recorded (0: none)
  lamport @4 :UInt64;    # Lamport timestamp, 0 when not kept
  vectorClock @5 :List(ClockEntry);  # empty when not kept; sorted by participant
  payload @6 :Data;
}

# The marker, sent on from -> to right after `from` recorded checkpoint `id` (marker sending rule,
# section 3), on the same FIFO path as envelopes.
struct Marker {
  checkpointId @0 :UInt64;
  initiator @1 :UInt64;  # 0 when unknown to the sender
  from @2 :UInt64;
  to @3 :UInt64;
  epoch @4 :UInt64;      # sender's highest recorded checkpoint id (>= checkpointId)
}

# Markers of one checkpoint on several channels, all with the same initiator and epoch, that were
# adjacent in the FIFO stream from one node to another (no other frame between them): marker i is
# the marker on from[i] -> to[i], in that order. The receiver feeds them exactly as that run of
# Marker frames; one frame spares the encoding and decoding of each (snapshot/README.md "marker
# runs"). Emitted only by the channel layer; never inside a batch with other markers of its run.
struct MarkerRun {
  checkpointId @0 :UInt64;
  initiator @1 :UInt64;
  epoch @2 :UInt64;
  from @3 :List(UInt64);
  to @4 :List(UInt64);   # as long as `from`
}

enum CheckpointStatus {
  ok @0;
  abortedByRequest @1;
  peerLost @2;
  boundExceeded @3;
  timeout @4;
  outOfOrder @5;
  channelGap @6;
  tooManyInFlight @7;
}

enum CommandKind {
  take @0;
  abort @1;
  release @2;
}

# Coordinator -> participant.
struct Command {
  checkpointId @0 :UInt64;
  initiator @1 :UInt64;
  kind @2 :CommandKind;
  reason @3 :CheckpointStatus;  # for abort only
}

struct RecordedChannel {
  from @0 :UInt64;
  messages @1 :List(Envelope);  # in channel order
}

enum ReportKind {
  full @0;
  lateChannels @1;
}

# Participant -> coordinator.
struct Report {
  checkpointId @0 :UInt64;
  participant @1 :UInt64;
  kind @2 :ReportKind;
  status @3 :CheckpointStatus;
  detail @4 :Text;
  localState @5 :Data;
  channels @6 :List(RecordedChannel);
  markersSentTo @7 :List(UInt64);
}

# Coordinator -> the node hosting `participant`: re-create it from a complete checkpoint (restore,
# DESIGN.md 6): its local state, then the messages recorded on its incoming channels, delivered
# before any new traffic.
struct Restore {
  checkpointId @0 :UInt64;
  participant @1 :UInt64;
  localState @2 :Data;
  deliveries @3 :List(Envelope);  # in channel order, channels by ascending sender
}

# Host -> coordinator, repeated until answered with Start: this node's participant host is
# registered and can receive. `instance` is drawn at random per host start, so that a repeat is told
# from a restarted process (whose participants lost their state).
struct HostReady {
  node @0 :UInt64;
  instance @1 :UInt64;
}

# Coordinator -> host, once every host said HostReady (and after the restore orders, if any):
# application traffic may begin, since every node can now receive it.
struct Start {
  restoredFrom @0 :UInt64;  # the checkpoint restored, 0 for a fresh start
}

# Coordinator -> host: a global rollback in place (snapshot/README.md "restore in place"): enter
# `generation`, every local participant awaits its Restore (which follow on this link), no traffic
# until the next Start.
struct Rollback {
  generation @0 :UInt64;
  checkpointId @1 :UInt64;
}

# Host -> every host, right after entering `generation`: what this node sends after it belongs to
# `generation`; what it sent before belongs to an earlier one (discarded by the receiver).
struct GenerationFence {
  node @0 :UInt64;
  generation @1 :UInt64;
}

# Host -> coordinator: the rollback to `generation` is carried out here and traffic resumed.
struct RolledBack {
  node @0 :UInt64;
  generation @1 :UInt64;
  restored @2 :UInt64;  # participants restored on this node
}

# The root of every checkpoint frame. Envelopes and markers share it so that one lane keeps them in
# one FIFO order, as the algorithm requires.
struct CheckpointMessage {
  body :union {
    envelope @0 :Envelope;
    marker @1 :Marker;
    command @2 :Command;
    report @3 :Report;
    restore @4 :Restore;
    hostReady @5 :HostReady;
    start @6 :Start;
    rollback @7 :Rollback;
    fence @8 :GenerationFence;
    rolledBack @9 :RolledBack;
    # Several frames for the same (node, endpoint), in the order they were emitted: each element is
    # one stream-framed CheckpointMessage (never a batch itself). One frame instead of thousands
    # (a checkpoint's markers, a tick's transfers) spares the per-message cost of the actors and
    # the transport; the FIFO order of each channel is the order of the elements.
    batch @10 :List(Data);
    markerRun @11 :MarkerRun;
    # Several reports of one host to the coordinator, in the order they were emitted: one frame to
    # parse and validate instead of one per participant (snapshot/README.md "report runs").
    reportRun @12 :List(Report);
  }
}

# `troupe checkpoint take | list | show | restore | delete | export`, carried in a ClientRequest
# (client.capnp) to a node; the node's client service hands it to the checkpoint coordinator if it
# runs one (else unavailable).
enum ClientVerb {
  take @0;       # start a checkpoint; answered when it is stored or aborted
  list @1;
  show @2;       # checkpointId
  restore @3;    # checkpointId: rolls the running application back to it in place
  delete @4;     # checkpointId
  exportDot @5;  # checkpointId: the global state as Graphviz
}

struct ClientCommand {
  verb @0 :ClientVerb;
  checkpointId @1 :UInt64;
}

# The answer to a ClientCommand, carried in a ClientReply.
struct ClientResult {
  checkpointId @0 :UInt64;
  status @1 :Text;  # "ok", a checkpoint status name (take: how it ended), or an error code name
  text @2 :Text;    # for people: the listing, the manifest, the dot text, or what went wrong
}
