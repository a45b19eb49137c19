# Raft peer messages (one group's peers talk with these). Version 1.
# Plain C++ form: consensus/core/message.hpp; codec: runtime/wire/raft_codec.hpp.
# Section numbers cite the Raft paper (Ongaro & Ousterhout 2014) and Ongaro's thesis (2014).
@0xc1abadbd1356e7b6;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("troupe::wire::schema");

enum EntryType {
  normal @0;
  noOp @1;    # appended by every new leader (Raft section 8, thesis 6.4)
  config @2;  # membership change (thesis chapter 4)
}

struct Entry {
  term @0 :UInt64;
  index @1 :UInt64;
  type @2 :EntryType;
  data @3 :Data;  # opaque command bytes; empty for noOp
}

struct Membership {
  voters @0 :List(UInt64);
  learners @1 :List(UInt64);
  votersOutgoing @2 :List(UInt64);  # non-empty only in a joint configuration (thesis 4.3)
  addresses @3 :List(MemberAddress);  # where members listen; may be empty (written without them)
}

struct MemberAddress {
  nodeId @0 :UInt64;
  address @1 :Text;  # host:port
}

# RequestVote (Raft 5.2) or PreVote (thesis 9.6).
struct VoteRequest {
  preVote @0 :Bool;
  lastLogIndex @1 :UInt64;
  lastLogTerm @2 :UInt64;
  leadershipTransfer @3 :Bool;  # campaign after TimeoutNow: voters ignore stickiness (thesis 3.10)
}

struct VoteResponse {
  preVote @0 :Bool;
  granted @1 :Bool;
}

# AppendEntries (Raft 5.3); entries are consecutive from prevLogIndex + 1.
struct AppendEntries {
  prevLogIndex @0 :UInt64;
  prevLogTerm @1 :UInt64;
  entries @2 :List(Entry);
  leaderCommit @3 :UInt64;
}

# On reject, the hint lets the leader skip a whole conflicting term at once (fast backtracking,
# Raft 5.3): the follower's largest index <= rejectedIndex whose term <= the leader's prevLogTerm.
struct AppendEntriesResponse {
  success @0 :Bool;
  matchIndex @1 :UInt64;
  rejectedIndex @2 :UInt64;
  rejectHintIndex @3 :UInt64;
  rejectHintTerm @4 :UInt64;
}

# readContext names the heartbeat round that confirms leadership for ReadIndex (thesis 6.4).
struct Heartbeat {
  leaderCommit @0 :UInt64;
  readContext @1 :UInt64;
}

struct HeartbeatResponse {
  readContext @0 :UInt64;
  lastLogIndex @1 :UInt64;
}

# Leadership transfer: start an election now (thesis 3.10).
struct TimeoutNow {
}

struct SnapshotMetadata {
  lastIndex @0 :UInt64;
  lastTerm @1 :UInt64;
  membership @2 :Membership;
}

# One chunk of InstallSnapshot (Raft 7, Figure 13), sent in order; resumable by offset.
struct InstallSnapshot {
  metadata @0 :SnapshotMetadata;
  offset @1 :UInt64;
  data @2 :Data;
  done @3 :Bool;
}

# Answer to a chunk (consensus/core/message.hpp install_snapshot_response).
struct InstallSnapshotResponse {
  lastIndex @0 :UInt64;
  nextOffset @1 :UInt64;
  obsoleteDone @2 :Bool;      # unused since the snapshot protocol (status replaces it)
  obsoleteRejected @3 :Bool;  # unused since the snapshot protocol (status replaces it)
  lastTerm @4 :UInt64;
  status @5 :UInt8;           # 0 accepted, 1 resend, 2 received, 3 installed
  matchIndex @6 :UInt64;
}

# Follower read: a follower asks the leader for a read index (thesis 6.4).
struct ReadIndexRequest {
  context @0 :UInt64;
}

struct ReadIndexResponse {
  context @0 :UInt64;
  readIndex @1 :UInt64;
  success @2 :Bool;
}

# The root of every Raft frame. The group id is carried once, here, for every body.
struct RaftMessage {
  groupId @0 :UInt64;
  from @1 :UInt64;   # node id, never 0
  to @2 :UInt64;     # node id, never 0
  term @3 :UInt64;   # sender's current term (for PreVote: the term it would campaign at)
  body :union {
    voteRequest @4 :VoteRequest;
    voteResponse @5 :VoteResponse;
    appendEntries @6 :AppendEntries;
    appendEntriesResponse @7 :AppendEntriesResponse;
    heartbeat @8 :Heartbeat;
    heartbeatResponse @9 :HeartbeatResponse;
    timeoutNow @10 :TimeoutNow;
    installSnapshot @11 :InstallSnapshot;
    installSnapshotResponse @12 :InstallSnapshotResponse;
    readIndexRequest @13 :ReadIndexRequest;
    readIndexResponse @14 :ReadIndexResponse;
  }
}
