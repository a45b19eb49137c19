// Membership values and joint-quorum arithmetic (Raft thesis §4.3).
#include "consensus/core/membership.hpp"

#include <algorithm>
#include <cassert>
#include <set>

namespace troupe::raft {

const char* to_string(conf_change::kind k) noexcept {
  switch (k) {
    case conf_change::kind::add_voter: return "add_voter";
    case conf_change::kind::add_learner: return "add_learner";
    case conf_change::kind::remove: return "remove";
  }
  return "unknown";
}

namespace {
bool contains(const std::vector<node_id>& v, node_id id) { return std::find(v.begin(), v.end(), id) != v.end(); }

void sort_ids(std::vector<node_id>& v) { std::sort(v.begin(), v.end()); }

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

class reader {
 public:
  explicit reader(std::string_view b) : b_(b) {}
  bool u32(std::uint32_t& v) {
    if (b_.size() - pos_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(b_[pos_ + i])} << (8 * i);
    pos_ += 4;
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (b_.size() - pos_ < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(b_[pos_ + i])} << (8 * i);
    pos_ += 8;
    return true;
  }
  bool ids(std::vector<node_id>& out) {
    std::uint32_t n = 0;
    if (!u32(n) || n > (b_.size() - pos_) / 8) return false;  // bounded by the bytes present
    out.resize(n);
    for (auto& id : out) {
      if (!u64(id)) return false;
    }
    return true;
  }
  /// id -> address pairs; each address non-empty and at most max_member_address_bytes, ids unique.
  bool addresses(std::vector<member_address>& out) {
    std::uint32_t n = 0;
    if (!u32(n) || n > (b_.size() - pos_) / 12) return false;  // each pair takes at least 12 bytes
    for (std::uint32_t i = 0; i < n; ++i) {
      std::uint64_t id = 0;
      std::uint32_t len = 0;
      if (!u64(id) || !u32(len) || len == 0 || len > max_member_address_bytes || len > b_.size() - pos_) {
        return false;
      }
      if (!out.empty() && out.back().id >= id) return false;  // written sorted, each id once
      out.push_back({id, std::string(b_.substr(pos_, len))});
      pos_ += len;
    }
    return true;
  }
  bool at_end() const { return pos_ == b_.size(); }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
};

constexpr char membership_format_version = 1;            ///< ids only
constexpr char membership_format_version_addresses = 2;  ///< ids and member addresses
}  // namespace

bool is_voter_in(const membership& m, node_id id) {
  return contains(m.voters, id) || contains(m.voters_outgoing, id);
}

bool is_learner_in(const membership& m, node_id id) { return contains(m.learners, id); }

std::vector<node_id> members_of(const membership& m) {
  std::set<node_id> all(m.voters.begin(), m.voters.end());
  all.insert(m.voters_outgoing.begin(), m.voters_outgoing.end());
  all.insert(m.learners.begin(), m.learners.end());
  return {all.begin(), all.end()};
}

const std::string* address_of(const membership& m, node_id id) {
  for (const auto& a : m.addresses) {
    if (a.id == id) return &a.address;
  }
  return nullptr;
}

void set_address(membership& m, node_id id, std::string address) {
  auto it = std::lower_bound(m.addresses.begin(), m.addresses.end(), id,
                             [](const member_address& a, node_id x) { return a.id < x; });
  if (it != m.addresses.end() && it->id == id) {
    it->address = std::move(address);
  } else {
    m.addresses.insert(it, member_address{id, std::move(address)});
  }
}

membership leave_joint(const membership& m) {
  membership next{m.voters, m.learners, {}, {}};
  for (const auto& a : m.addresses) {
    if (contains(m.voters, a.id) || contains(m.learners, a.id)) next.addresses.push_back(a);
  }
  return next;
}

result<membership> apply_conf_changes(const membership& current, const std::vector<conf_change>& changes) {
  if (is_joint(current)) return make_error(errc::invalid_argument, "conf change: configuration is joint");
  if (changes.empty()) return make_error(errc::invalid_argument, "conf change: no change");
  std::set<node_id> named;
  membership next = current;
  for (const auto& c : changes) {
    if (c.id == no_node) return make_error(errc::invalid_argument, "conf change: node id 0");
    if (!named.insert(c.id).second) {
      return make_error(errc::invalid_argument, "conf change: node " + std::to_string(c.id) + " named twice");
    }
    const bool voter = contains(current.voters, c.id);
    const bool learner = contains(current.learners, c.id);
    if (c.address.size() > max_member_address_bytes) {
      return make_error(errc::invalid_argument, "conf change: address of " + std::to_string(c.id) + " too long");
    }
    // An outgoing voter keeps its address until C_new is in effect (leave_joint drops it).
    if (c.type != conf_change::kind::remove && !c.address.empty()) set_address(next, c.id, c.address);
    switch (c.type) {
      case conf_change::kind::add_voter:
        if (voter) return make_error(errc::invalid_argument, "conf change: " + std::to_string(c.id) + " is a voter");
        std::erase(next.learners, c.id);  // a promotion (thesis §4.2.1)
        next.voters.push_back(c.id);
        break;
      case conf_change::kind::add_learner:
        if (learner) return make_error(errc::invalid_argument, "conf change: " + std::to_string(c.id) + " is a learner");
        if (voter) {
          return make_error(errc::invalid_argument,
                            "conf change: demoting voter " + std::to_string(c.id) + " to learner (remove it first)");
        }
        next.learners.push_back(c.id);
        break;
      case conf_change::kind::remove:
        if (!voter && !learner) {
          return make_error(errc::invalid_argument, "conf change: " + std::to_string(c.id) + " is not a member");
        }
        std::erase(next.voters, c.id);
        std::erase(next.learners, c.id);
        break;
    }
  }
  if (next.voters.empty()) return make_error(errc::invalid_argument, "conf change: no voter would remain");
  sort_ids(next.voters);
  sort_ids(next.learners);
  std::vector<node_id> old_voters = current.voters;
  sort_ids(old_voters);
  // Only a change of voters needs C_old,new (thesis §4.3); learners never count toward a quorum.
  if (next.voters != old_voters) next.voters_outgoing = old_voters;
  const auto members = members_of(next);
  std::erase_if(next.addresses, [&](const member_address& a) { return !std::binary_search(members.begin(), members.end(), a.id); });
  return next;
}

std::string encode_membership(const membership& m) {
  std::string out;
  out.push_back(m.addresses.empty() ? membership_format_version : membership_format_version_addresses);
  for (const auto* list : {&m.voters, &m.learners, &m.voters_outgoing}) {
    put_u32(out, static_cast<std::uint32_t>(list->size()));
    for (node_id id : *list) put_u64(out, id);
  }
  if (m.addresses.empty()) return out;
  put_u32(out, static_cast<std::uint32_t>(m.addresses.size()));
  for (const auto& a : m.addresses) {
    put_u64(out, a.id);
    put_u32(out, static_cast<std::uint32_t>(a.address.size()));
    out += a.address;
  }
  return out;
}

result<membership> decode_membership(std::string_view bytes) {
  if (bytes.empty() || (bytes[0] != membership_format_version && bytes[0] != membership_format_version_addresses)) {
    return make_error(errc::malformed, "membership: unknown format version");
  }
  const bool with_addresses = bytes[0] == membership_format_version_addresses;
  reader r(bytes.substr(1));
  membership m;
  if (!r.ids(m.voters) || !r.ids(m.learners) || !r.ids(m.voters_outgoing) ||
      (with_addresses && !r.addresses(m.addresses)) || !r.at_end()) {
    return make_error(errc::malformed, "membership: truncated or trailing bytes, or a bad address");
  }
  for (const auto& a : m.addresses) {
    if (!contains(m.voters, a.id) && !contains(m.learners, a.id) && !contains(m.voters_outgoing, a.id)) {
      return make_error(errc::malformed, "membership: an address for non-member " + std::to_string(a.id));
    }
  }
  if (m.voters.empty()) return make_error(errc::malformed, "membership: no voter");
  std::set<node_id> incoming;
  for (const auto* list : {&m.voters, &m.learners}) {
    for (node_id id : *list) {
      if (id == no_node || !incoming.insert(id).second) {
        return make_error(errc::malformed, "membership: zero or repeated node id");
      }
    }
  }
  std::set<node_id> outgoing;
  for (node_id id : m.voters_outgoing) {
    if (id == no_node || !outgoing.insert(id).second) {
      return make_error(errc::malformed, "membership: zero or repeated outgoing voter");
    }
  }
  return m;
}

namespace {
/// Majority-matched index of one voter set; an empty set constrains nothing.
index_t half_committed(const std::vector<node_id>& voters, const std::function<index_t(node_id)>& match) {
  if (voters.empty()) return ~index_t{0};
  std::vector<index_t> m;
  m.reserve(voters.size());
  for (node_id id : voters) m.push_back(match(id));
  return quorum_committed_index(m);
}

vote_result half_tally(const std::vector<node_id>& voters, const std::map<node_id, bool>& votes) {
  if (voters.empty()) return vote_result::won;
  std::size_t granted = 0, rejected = 0;
  for (node_id id : voters) {
    auto it = votes.find(id);
    if (it == votes.end()) continue;
    (it->second ? granted : rejected) += 1;
  }
  return tally_votes(voters.size(), granted, rejected);
}
}  // namespace

index_t joint_committed_index(const membership& m, const std::function<index_t(node_id)>& match) {
  assert(!m.voters.empty());
  return std::min(half_committed(m.voters, match), half_committed(m.voters_outgoing, match));
}

vote_result joint_tally(const membership& m, const std::map<node_id, bool>& votes) {
  const auto a = half_tally(m.voters, votes);
  const auto b = half_tally(m.voters_outgoing, votes);
  if (a == vote_result::lost || b == vote_result::lost) return vote_result::lost;
  if (a == vote_result::won && b == vote_result::won) return vote_result::won;
  return vote_result::pending;
}

bool joint_quorum(const membership& m, const std::function<bool(node_id)>& active) {
  auto half = [&](const std::vector<node_id>& voters) {
    if (voters.empty()) return true;
    std::size_t n = 0;
    for (node_id id : voters) n += active(id) ? 1 : 0;
    return n >= majority(voters.size());
  };
  return half(m.voters) && half(m.voters_outgoing);
}

}  // namespace troupe::raft
