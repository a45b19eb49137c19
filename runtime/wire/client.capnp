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
  session @3;       # any node, once its applied index reaches the request's minIndex (read your
                    # writes, monotonic reads within a session; docs/consistency.md)
  stale @4;         # any node, at once, from whatever it has applied: may be arbitrarily old
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

# --- Config center (issue 6; examples/kv/README.md) -------------------------------------------------
# Revisions: the store's revision rises by one with every change (a put, the delete of a present
# key, a transaction's writes all together); each key keeps the revision that created it, the one
# that last modified it, and its version (puts since it was created). Absent keys have all three 0.

struct KvRange {
  # Read (served by query): one key, or with `prefix` every key starting with `key`, in key order.
  key @0 :Data;
  prefix @1 :Bool;
  startAfter @2 :Data;  # paging: only keys after this one (empty: from the first)
  limit @3 :UInt32;     # at most this many entries; 0: the server's maximum
  keysOnly @4 :Bool;    # entries without values
  consistency @5 :ReadConsistency;
}

enum CompareOp {
  equal @0;
  notEqual @1;
  less @2;
  greater @3;
}

struct KvCompare {
  key @0 :Data;
  op @1 :CompareOp;
  target :union {
    value @2 :Data;            # byte-wise comparison; never true for an absent key
    version @3 :UInt64;        # 0 for an absent key
    createRevision @4 :UInt64;
    modRevision @5 :UInt64;
  }
}

struct KvTxnOp {
  union {
    put @0 :KvPut;
    del @1 :KvDel;
    get @2 :KvGet;  # read inside the transaction; its consistency is ignored
  }
}

struct KvTxn {
  # Write (served by apply): if every compare holds, run `success`, else `failure`, atomically, as
  # one revision. A key may be written at most once per branch.
  compares @0 :List(KvCompare);
  success @1 :List(KvTxnOp);
  failure @2 :List(KvTxnOp);
}

struct KvChanges {
  # Read (served by query): the changes with revision >= fromRevision to `key` (or, with `prefix`,
  # to keys starting with it), in revision order: the basis of watch. fromRevision 0: from now.
  key @0 :Data;
  prefix @1 :Bool;
  fromRevision @2 :UInt64;
  limit @3 :UInt32;  # at most about this many events (whole revisions); 0: the server's maximum
  consistency @4 :ReadConsistency;
}

# --- Replicated application services (issue 6; actors/README.md, docs/consistency.md) ------------
# A node's Raft group hosts named services (counter, lock, ...): the request names the service and
# carries the service's own bytes; the node's service host routes it. Commands go through the log
# and the generic client sessions (clientId, sequence: applied at most once); queries are read-only
# and served at the requested consistency.

enum AppCall {
  command @0;  # a write: proposed, applied once per (clientId, sequence)
  query @1;    # a read: never in the log, takes no sequence of its own
}

struct AppRequest {
  service @0 :Text;   # the registered service name
  call @1 :AppCall;
  payload @2 :Data;   # the service's own encoding
  consistency @3 :ReadConsistency;  # queries only
  minIndex @4 :UInt64;  # session queries: serve only once applied >= minIndex (0: no bound)
}

struct AppReply {
  payload @0 :Data;   # the service's answer
  # A command: the log index it was applied at. A query: the applied index of the replica that
  # served it. A session client keeps the highest it has seen and sends it as minIndex.
  index @1 :UInt64;
}

struct StatusQuery {
  # Reserved for filters; empty in version 1.
}

# --- Membership (issue 4; troupe cluster add|promote|remove|transfer-leader) -----------------------
# Served by the leader's raft actor. A reply carries no body: error ok once the change is complete
# (its configuration committed, and for voters the C_new after C_old,new: Raft thesis 4.3);
# invalidRequest when the change does not fit the configuration (errorMessage says why); busy while
# another change is in progress; notLeader with leaderHint; timeout when the outcome is unknown.

enum MemberChangeKind {
  addVoter @0;    # a new voter, or the promotion of a learner (address may then be empty)
  addLearner @1;  # a non-voting member that receives the log (thesis 4.2.1)
  remove @2;
}

struct MemberChange {
  kind @0 :MemberChangeKind;
  nodeId @1 :UInt64;
  address @2 :Text;  # host:port where the node listens; recorded in the configuration
}

struct ClusterCommand {
  union {
    changeMembers @0 :List(MemberChange);  # several at once: one joint configuration
    transferLeader @1 :UInt64;             # node id of the voter to lead (thesis 3.10)
  }
}

# --- Backup (issue 4; troupe backup save, docs/operations.md) ----------------------------------------
# A backup file (consensus/actor/backup_file.hpp) is fetched in chunks, so that no frame comes near
# the maximum frame size: backupId 0 asks the node to take a new backup (the leader does, at the
# index of a linearizable read; others answer notLeader) and answers its first chunk; later
# requests name that backupId and the offset to continue from. The node keeps one backup per
# client service; a backupId it no longer holds is invalidRequest (start again with 0).

struct BackupRequest {
  backupId @0 :UInt64;  # 0: take a new backup
  offset @1 :UInt64;    # first byte wanted
  maxBytes @2 :UInt32;  # at most this many bytes in the answer (the node may send fewer)
}

struct BackupChunk {
  backupId @0 :UInt64;
  totalBytes @1 :UInt64;  # the whole file's size
  offset @2 :UInt64;      # where `data` starts in the file
  data @3 :Data;
  index @4 :UInt64;       # the applied index the backup was taken at
  term @5 :UInt64;        # that index's term
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
    range @10 :KvRange;
    txn @11 :KvTxn;
    changes @12 :KvChanges;
    app @13 :AppRequest;  # a replicated application service's command or query
    cluster @14 :ClusterCommand;  # membership changes, leadership transfer
    backup @15 :BackupRequest;    # troupe backup save
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

struct KvEntry {
  key @0 :Data;
  value @1 :Data;
  createRevision @2 :UInt64;
  modRevision @3 :UInt64;
  version @4 :UInt64;
}

struct KvRangeResult {
  entries @0 :List(KvEntry);
  more @1 :Bool;         # keys were left out (limit): ask again with startAfter = the last key
  revision @2 :UInt64;   # the store's revision the entries were read at
}

struct KvTxnGetResult {
  found @0 :Bool;
  entry @1 :KvEntry;
}

struct KvTxnOpResult {
  union {
    put @0 :Void;
    del @1 :DelResult;
    get @2 :KvTxnGetResult;
  }
}

struct KvTxnResult {
  succeeded @0 :Bool;   # the compares held: `success` ran (else `failure`)
  revision @1 :UInt64;  # the store's revision after the transaction
  results @2 :List(KvTxnOpResult);  # one per operation of the branch that ran
}

enum KvEventKind {
  put @0;
  delete @1;
}

struct KvEvent {
  revision @0 :UInt64;
  kind @1 :KvEventKind;
  key @2 :Data;
  value @3 :Data;            # the new value (put)
  createRevision @4 :UInt64;
  version @5 :UInt64;        # after a put; 0 for delete
}

struct KvChangesResult {
  events @0 :List(KvEvent);
  nextRevision @1 :UInt64;  # ask again from here: no gap, no duplicate
  more @2 :Bool;            # stopped at a limit, not at the current revision
  revision @3 :UInt64;      # the store's revision at the time of the read
  # The history before fromRevision was compacted away (error invalidRequest): events is empty;
  # every change up to compactedRevision is gone. Start again from a fresh range read.
  compacted @4 :Bool;
  compactedRevision @5 :UInt64;
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
    range @12 :KvRangeResult;
    txn @13 :KvTxnResult;
    changes @14 :KvChangesResult;
    app @15 :AppReply;
    backup @16 :BackupChunk;
  }
}
