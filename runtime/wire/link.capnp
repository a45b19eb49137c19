# The peer link frame header (runtime/transport/link/README.md). Version 1.
# A frame on a link's TCP stream is one LinkFrame message, followed by exactly one payload message
# (the application's own wire message, written unchanged) when `data.hasPayload` is set.
# Versioning (runtime/wire/README.md): members and fields are only ever appended; a reader treats an
# unknown `body` member as unsupported (the connection closes), an unknown Reason as `unknown`.
@0xc5b9b92aff2230d4;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::wire::schema");

using Common = import "/runtime/wire/common.capnp";

# Every name starts with Link: all schemas share the C++ namespace troupe::wire::schema.

enum LinkRole {
  peer @0;    # a cluster node (cluster secret)
  client @1;  # a troupe client (client secret, or loopback only)
}

enum LinkLane {
  raftControl @0;  # votes, heartbeats, small appends
  raftBulk @1;     # snapshot chunks, large batches
  application @2;  # application envelopes and checkpoint markers: sequenced, reliable
  client @3;       # client requests and replies
}

# Why a connection is refused or closed; also a metric label. Values match link::close_reason.
enum LinkReason {
  unknown @0;
  badProof @1;
  wrongCluster @2;
  unknownNode @3;
  duplicateNode @4;
  wrongNode @5;
  incompatibleVersion @6;
  clientNotAllowed @7;
  unauthenticatedPeer @8;
  handshakeTimeout @9;
  protocolError @10;
  idleTimeout @11;
  shuttingDown @12;
  superseded @13;
  peerRestarted @14;    # never sent: reported locally only
  tooManyClients @15;   # the acceptor serves its maximum of client connections (max_clients)
}

# Where a reconnecting sender resumes: the receiver's memory of the application lane.
struct LinkResume {
  peerIncarnation @0 :UInt64;   # the incarnation lastDeliveredSeq refers to; 0: never talked to it
  lastDeliveredSeq @1 :UInt64;  # highest application seq delivered from that incarnation
}

# Dialer -> acceptor: the first frame.
struct LinkHello {
  versions @0 :Common.VersionRange;
  clusterId @1 :Text;
  role @2 :LinkRole;
  senderId @3 :UInt64;          # node id (peer) or client id (client), non-zero
  expectedAcceptor @4 :UInt64;  # the node the dialer means to reach; 0: any
  nonce @5 :Data;               # 32 random bytes
  incarnation @6 :UInt64;       # the dialer process's incarnation, non-zero
}

# Acceptor -> dialer.
struct LinkChallenge {
  version @0 :UInt16;      # chosen: highest in both ranges
  acceptorId @1 :UInt64;
  nonce @2 :Data;          # 32 random bytes
  incarnation @3 :UInt64;
  authenticated @4 :Bool;  # false: loopback client at a node without client secret, no proofs
}

# Dialer -> acceptor: HMAC-SHA256 proof for direction dialer->acceptor (never the secret itself).
struct LinkAuth {
  proof @0 :Data;  # 32 bytes (all zero when unauthenticated)
  resume @1 :LinkResume;
}

# Acceptor -> dialer, only after the dialer's proof verified.
struct LinkWelcome {
  proof @0 :Data;  # 32 bytes, direction acceptor->dialer
  resume @1 :LinkResume;
}

struct LinkRefuse {
  reason @0 :LinkReason;
  text @1 :Text;
}

struct LinkData {
  lane @0 :LinkLane;
  seq @1 :UInt64;          # application lane: 1, 2, ... per pair of incarnations; else 0
  ack @2 :UInt64;          # cumulative: highest application seq the sender delivered
  hasPayload @3 :Bool;     # one payload message follows this header
  destination @4 :Text;    # endpoint at the receiver
  source @5 :Text;         # endpoint at the sender
}

struct LinkAck {
  ack @0 :UInt64;
}

struct LinkPing {
  sentAtNs @0 :Int64;  # the pinger's monotonic clock, echoed unchanged
}

struct LinkPong {
  echoNs @0 :Int64;
}

struct LinkGoodbye {
  reason @0 :LinkReason;
  text @1 :Text;
}

struct LinkFrame {
  body :union {
    hello @0 :LinkHello;
    challenge @1 :LinkChallenge;
    auth @2 :LinkAuth;
    welcome @3 :LinkWelcome;
    refuse @4 :LinkRefuse;
    data @5 :LinkData;
    ack @6 :LinkAck;
    ping @7 :LinkPing;
    pong @8 :LinkPong;
    goodbye @9 :LinkGoodbye;
  }
}
