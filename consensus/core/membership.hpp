#pragma once
/// Cluster membership as the core sees it (Raft thesis chapter 4): the encoding of a configuration
/// entry's payload, the rules that turn a requested change into the next configuration, and quorum
/// arithmetic over a possibly joint configuration (thesis §4.3: during C_old,new every decision needs
/// a majority of C_old *and* a majority of C_new).
///
/// Pure functions over plain values; no state. `membership` itself (message.hpp) holds the voters
/// (C_new during a joint phase), the learners and, only while joint, the outgoing voters (C_old).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/core/message.hpp"
#include "consensus/core/quorum.hpp"
#include "runtime/base/result.hpp"

namespace troupe::raft {

/// Bound on one member address in a configuration entry (a host name and a port fit easily).
inline constexpr std::size_t max_member_address_bytes = 512;

/// One requested change; `propose_conf_change` takes several at once (thesis §4.3: arbitrary changes
/// go through one joint configuration).
struct conf_change {
  enum class kind : std::uint8_t {
    add_voter = 0,    ///< a new voter, or the promotion of a learner
    add_learner = 1,  ///< a new non-voting member that receives the log (thesis §4.2.1)
    remove = 2,       ///< a voter or a learner leaves
  };
  kind type = kind::add_voter;
  node_id id = no_node;
  /// Where the node listens ("host:port"; opaque to the core): recorded in the configuration for
  /// an added node. Empty: keep the address the configuration already has (a promotion).
  std::string address;

  friend bool operator==(const conf_change&, const conf_change&) = default;
};

const char* to_string(conf_change::kind k) noexcept;

/// The address `m` records for `id`, or nullptr.
const std::string* address_of(const membership& m, node_id id);
/// Records `address` for `id` in `m` (replacing an earlier one), keeping the list sorted by id.
void set_address(membership& m, node_id id, std::string address);

/// True while the configuration is C_old,new.
inline bool is_joint(const membership& m) { return !m.voters_outgoing.empty(); }
/// Voter of either half.
bool is_voter_in(const membership& m, node_id id);
bool is_learner_in(const membership& m, node_id id);
/// Every node the leader replicates to (voters of both halves and learners), sorted, no duplicates.
std::vector<node_id> members_of(const membership& m);
/// The configuration a joint one leaves to (C_new): voters and learners, no outgoing voters, and
/// the addresses of those members only.
membership leave_joint(const membership& m);

/// Applies `changes` to the non-joint configuration `current`. If the voter set changes the result
/// is the joint configuration (voters = C_new, voters_outgoing = C_old); if only learners change it
/// is the new simple configuration (learners never count in a quorum, so no joint phase is needed).
/// Errors (errc::invalid_argument): `current` is joint, no change, node id 0, a node named twice,
/// adding an existing voter or learner as the same, demoting a voter to learner (remove it first),
/// removing a non-member, or a change that leaves no voter.
result<membership> apply_conf_changes(const membership& current, const std::vector<conf_change>& changes);

/// The payload of an entry_type::config entry. Format (little endian): the version byte, then
/// three lists (voters, learners, voters_outgoing), each a u32 count followed by u64 ids. Version 1
/// ends there (written when no address is known); version 2 adds the addresses: a u32 count, then
/// per member a u64 id, a u32 length and that many bytes. Each address is at most
/// max_member_address_bytes.
std::string encode_membership(const membership& m);
/// Parses a payload written by encode_membership (either version). Never throws. Errors
/// (errc::malformed): wrong version, truncated or trailing bytes, a zero or repeated id, a node both
/// voter and learner, an empty voter set, an address of a non-member, an empty or too long address.
result<membership> decode_membership(std::string_view bytes);

/// The largest index matched by a majority of the voters of each half (thesis §4.3: commitment in a
/// joint configuration needs both). `match(id)` gives each voter's match index.
index_t joint_committed_index(const membership& m, const std::function<index_t(node_id)>& match);
/// Election outcome in a joint configuration: won needs both halves, lost if either half is lost.
/// `votes` maps voter to granted; answers from non-voters are ignored.
vote_result joint_tally(const membership& m, const std::map<node_id, bool>& votes);
/// Whether `active` (a predicate over voter ids) holds for a majority of each half (CheckQuorum).
bool joint_quorum(const membership& m, const std::function<bool(node_id)>& active);

}  // namespace troupe::raft
