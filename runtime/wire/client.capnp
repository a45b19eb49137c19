# Client requests and replies (troupe client <-> node). Version 1.
# A client session is (clientId, sequence): a node applies each sequence number of a client at most
# once and answers a retry of an applied request from its session table (Raft thesis section 6.3).
@0xecc81e3e5ff783f1;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::wire::schema");

using Common = import "/runtime/wire/common.capnp";
using Checkpoint = import "/runtime/wire/checkpoint.capnp";

enum ReadConsistency {
  linearizable @0;  # ReadIndex round through the leader (Raft thesis 6.4)
  lease @1;         # leader lease, no round while the lease holds (thesis 6.4.1)
  follower @2;      # follower asks the leader for a read index, then serves locally
}

struct KvPut {
  key @0 :Data;
  value @1 :Data;
}

struct KvGet {
  key @0 :Data;
  consistency @1 :ReadConsistency;
}

struct KvCas {
  key @0 :Data;
  # The value the key must hold for the swap to happen; when expectAbsent is set the key must not
  # exist and `expected` is ignored.
  expected @1 :Data;
  expectAbsent @2 :Bool;
  newValue @3 :Data;
}

struct KvDel {
  key @0 :Data;
}

struct Ping {
  nonce @0 :UInt64;
}

struct StatusQuery {
  # Reserved for filters; empty in version 1.
}

struct ClientRequest {
  clientId @0 :UInt64;  # non-zero; chosen by the client, unique per session
  sequence @1 :UInt64;  # strictly increasing per clientId, starting at 1
  groupId @2 :UInt64;
  body :union {
    put @3 :KvPut;
    get @4 :KvGet;
    cas @5 :KvCas;
    del @6 :KvDel;
    ping @7 :Ping;
    status @8 :StatusQuery;
    checkpoint @9 :Checkpoint.ClientCommand;  # troupe checkpoint ... (checkpoint.capnp)
  }
}

enum ClientError {
  ok @0;
  notLeader @1;        # retry at leaderHint, if set
  noSuchKey @2;
  casMismatch @3;
  busy @4;             # admission control: back off and retry
  timeout @5;
  invalidRequest @6;
  sessionExpired @7;   # the node forgot this clientId: start a new session
  unavailable @8;      # no leader known / no quorum
  internal @9;
}

struct KvValue {
  found @0 :Bool;
  value @1 :Data;
}

struct CasResult {
  succeeded @0 :Bool;
  # The value found when the swap failed; absent (currentFound false) if the key did not exist.
  currentFound @1 :Bool;
  current @2 :Data;
}

struct DelResult {
  existed @0 :Bool;
}

struct Pong {
  nonce @0 :UInt64;
}

enum RaftRole {
  follower @0;
  candidate @1;
  leader @2;
  learner @3;
  preCandidate @4;
}

struct StatusInfo {
  nodeId @0 :UInt64;
  groupId @1 :UInt64;
  term @2 :UInt64;
  role @3 :RaftRole;
  leaderId @4 :UInt64;   # 0: no leader known
  commitIndex @5 :UInt64;
  appliedIndex @6 :UInt64;
  lastLogIndex @7 :UInt64;
  members @8 :List(Common.NodeAddress);
}

struct ClientReply {
  clientId @0 :UInt64;
  sequence @1 :UInt64;  # the request's sequence this answers
  error @2 :ClientError;
  errorMessage @3 :Text;  # for people; empty when error is ok
  leaderHint @4 :Common.NodeAddress;  # set (non-zero nodeId) with notLeader when a leader is known
  body :union {
    none @5 :Void;  # errors, and put
    value @6 :KvValue;
    cas @7 :CasResult;
    del @8 :DelResult;
    pong @9 :Pong;
    status @10 :StatusInfo;
    checkpoint @11 :Checkpoint.ClientResult;
  }
}
