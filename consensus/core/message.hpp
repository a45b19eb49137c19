#pragma once
/// The plain C++ structs of every Raft message exchanged between peers of one group.
///
/// Header-only and dependency-free on purpose: the pure core (consensus/core/), the Cap'n Proto codec
/// (runtime/wire/raft_codec.*) and the tests all include it. The shell decodes and validates a frame
/// into these structs before the core sees it; the core never sees bytes off the wire.
///
/// Conventions:
/// - Indexes start at 1; index 0 and term 0 mean "nothing" (the empty log's last entry is (0, 0)).
/// - Every body carries the Raft group id so that many groups can share a node later (DESIGN.md 3).
/// - The envelope `raft_message` carries sender, receiver and the sender's term. For a PreVote request
///   the term is the term the sender *would* campaign at (its term + 1); it has not adopted it (thesis
///   §9.6).
/// - Entry payloads are opaque bytes held in `std::string` (cheap to move; `data()` gives the bytes).

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace troupe::raft {

using node_id = std::uint64_t;   ///< 0 is never a valid node id: it means "none".
using group_id = std::uint64_t;  ///< Raft group (shard) identifier.
using term_t = std::uint64_t;
using index_t = std::uint64_t;

inline constexpr node_id no_node = 0;

/// What a log entry holds. The core applies none of them; `no_op` is appended by every new leader
/// (Raft §8, thesis §6.4) and `config` is reserved for membership changes (not implemented yet).
enum class entry_type : std::uint8_t {
  normal = 0,
  no_op = 1,
  config = 2,
};

struct log_entry {
  term_t term = 0;
  index_t index = 0;
  entry_type type = entry_type::normal;
  std::string data;  ///< opaque command bytes; empty for no_op

  friend bool operator==(const log_entry&, const log_entry&) = default;
};

/// Voters and learners of a configuration. `voters_outgoing` is non-empty only inside a joint
/// configuration (thesis §4.3); reserved for membership changes.
/// Where a member listens, as a configuration records it (opaque to the core).
struct member_address {
  node_id id = no_node;
  std::string address;  ///< "host:port"

  friend bool operator==(const member_address&, const member_address&) = default;
};

struct membership {
  std::vector<node_id> voters;
  std::vector<node_id> learners;
  std::vector<node_id> voters_outgoing;
  /// Where each member listens ("host:port"), opaque to the core: carried in the configuration
  /// entry so that every node, a new one too, learns its peers' addresses from the log. May be
  /// empty (a configuration written without addresses); only members of the configuration appear,
  /// sorted by id, at most once each (membership.hpp: address_of, set_address).
  std::vector<member_address> addresses;

  friend bool operator==(const membership&, const membership&) = default;
};

/// RequestVote (Raft §5.2) or PreVote (thesis §9.6) request; `pre_vote` tells which.
struct vote_request {
  group_id group = 0;
  bool pre_vote = false;
  index_t last_log_index = 0;
  term_t last_log_term = 0;
  /// Set when the campaign follows a TimeoutNow (thesis §3.10): voters ignore their leader stickiness.
  bool leadership_transfer = false;

  friend bool operator==(const vote_request&, const vote_request&) = default;
};

/// Answer to a `vote_request`. For a granted PreVote the envelope term echoes the request's term;
/// otherwise it is the voter's current term.
struct vote_response {
  group_id group = 0;
  bool pre_vote = false;
  bool granted = false;

  friend bool operator==(const vote_response&, const vote_response&) = default;
};

/// AppendEntries (Raft §5.3). `entries` may be empty (a probe); they are consecutive and start at
/// prev_log_index + 1.
struct append_entries {
  group_id group = 0;
  index_t prev_log_index = 0;
  term_t prev_log_term = 0;
  std::vector<log_entry> entries;
  index_t leader_commit = 0;

  friend bool operator==(const append_entries&, const append_entries&) = default;
};

/// Answer to `append_entries`.
/// - success: `match_index` is the last index known to match the leader's log.
/// - reject: `rejected_index` is the prev_log_index that did not match; the hint is the follower's
///   largest index <= rejected_index whose term is <= the leader's prev_log_term, with that term
///   (fast backtracking, Raft §5.3 "optimization", as etcd's findConflictByTerm).
struct append_entries_response {
  group_id group = 0;
  bool success = false;
  index_t match_index = 0;
  index_t rejected_index = 0;
  index_t reject_hint_index = 0;
  term_t reject_hint_term = 0;

  friend bool operator==(const append_entries_response&, const append_entries_response&) = default;
};

/// Leader heartbeat. `read_context` names the heartbeat round (never 0 from a leader): an answer
/// echoing it confirms leadership for every read registered before that round was sent (thesis §6.4).
struct heartbeat {
  group_id group = 0;
  index_t leader_commit = 0;  ///< capped by the leader at the follower's match index
  std::uint64_t read_context = 0;

  friend bool operator==(const heartbeat&, const heartbeat&) = default;
};

struct heartbeat_response {
  group_id group = 0;
  std::uint64_t read_context = 0;  ///< echoed from the heartbeat
  index_t last_log_index = 0;      ///< lets the leader notice a follower that fell behind

  friend bool operator==(const heartbeat_response&, const heartbeat_response&) = default;
};

/// Leadership transfer: the receiver starts an election at once, ignoring its timeout (thesis §3.10).
struct timeout_now {
  group_id group = 0;

  friend bool operator==(const timeout_now&, const timeout_now&) = default;
};

/// What a state-machine snapshot covers (Raft §7).
struct snapshot_metadata {
  index_t last_index = 0;
  term_t last_term = 0;
  struct membership membership;

  friend bool operator==(const snapshot_metadata&, const snapshot_metadata&) = default;
};

/// One chunk of InstallSnapshot (Raft §7, Figure 13). Chunks are sent in order; `offset` is the byte
/// offset of `data` in the snapshot; `done` marks the last chunk.
struct install_snapshot {
  group_id group = 0;
  snapshot_metadata metadata;
  std::uint64_t offset = 0;
  std::string data;
  bool done = false;

  friend bool operator==(const install_snapshot&, const install_snapshot&) = default;
};

/// How a follower answers a snapshot chunk (Raft §7, thesis §5.3; transfer and apply acknowledged
/// separately so that a slow restore never causes a retransfer).
enum class snapshot_reply : std::uint8_t {
  accepted = 0,   ///< the chunk is durable; `next_offset` bytes are held
  resend = 1,     ///< the chunk was not at the expected offset: continue from `next_offset`
  received = 2,   ///< the whole snapshot is durable; the follower restores it (wait, do not resend)
  installed = 3,  ///< restored, or not needed (at or below its commit index): matches up to `match_index`
};

/// Answer to one snapshot chunk, naming the snapshot it answers by (last_index, last_term).
struct install_snapshot_response {
  group_id group = 0;
  index_t last_index = 0;  ///< the snapshot answered
  term_t last_term = 0;
  std::uint64_t next_offset = 0;  ///< bytes of it the follower holds durably (resume point)
  snapshot_reply status = snapshot_reply::accepted;
  index_t match_index = 0;  ///< installed: the follower's log matches the leader's up to here

  friend bool operator==(const install_snapshot_response&, const install_snapshot_response&) = default;
};

/// Follower read (thesis §6.4): a follower asks the leader for a read index. `context` is chosen by
/// the follower and echoed back.
struct read_index_request {
  group_id group = 0;
  std::uint64_t context = 0;

  friend bool operator==(const read_index_request&, const read_index_request&) = default;
};

/// The leader's answer: once the follower has applied up to `read_index` it may serve the read.
/// `success == false` means the leader could not serve it (not leader any more, no quorum yet).
struct read_index_response {
  group_id group = 0;
  std::uint64_t context = 0;
  index_t read_index = 0;
  bool success = false;

  friend bool operator==(const read_index_response&, const read_index_response&) = default;
};

using raft_message_body =
    std::variant<vote_request, vote_response, append_entries, append_entries_response, heartbeat,
                 heartbeat_response, timeout_now, install_snapshot, install_snapshot_response,
                 read_index_request, read_index_response>;

/// One message between two peers of a group.
struct raft_message {
  node_id from = no_node;
  node_id to = no_node;
  term_t term = 0;  ///< the sender's current term (see the PreVote note above)
  raft_message_body body;

  friend bool operator==(const raft_message&, const raft_message&) = default;
};

/// The group id of any message (every body carries one).
inline group_id group_of(const raft_message& m) {
  return std::visit([](const auto& b) { return b.group; }, m.body);
}

/// Whether `m` belongs on the bulk lane (DESIGN.md 3): snapshot chunks. Everything else (votes,
/// heartbeats, appends, acks) is control traffic that must not queue behind a snapshot.
inline bool is_bulk(const raft_message& m) { return std::holds_alternative<install_snapshot>(m.body); }

/// A short stable name for logs and traces.
inline const char* type_name(const raft_message& m) {
  constexpr const char* names[] = {
      "vote_request",    "vote_response",      "append_entries",     "append_entries_response",
      "heartbeat",       "heartbeat_response", "timeout_now",        "install_snapshot",
      "install_snapshot_response", "read_index_request", "read_index_response"};
  return names[m.body.index()];
}

}  // namespace troupe::raft
