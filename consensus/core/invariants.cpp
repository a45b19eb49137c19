#include "consensus/core/invariants.hpp"

#include <algorithm>
#include <cassert>

#include "consensus/core/membership.hpp"

namespace troupe::raft {

namespace {
std::string describe(node_id id, const std::string& what) {
  return "node " + std::to_string(id) + ": " + what;
}
}  // namespace

std::string node_invariants::check(const node& n) {
  const auto s = n.status();
  if (seen_ && s.term < term_) return describe(s.id, "term went back");
  if (seen_ && s.commit < commit_) return describe(s.id, "commit index went back");
  if (s.commit > s.last_index) return describe(s.id, "commit index beyond the last index");
  if (s.applied > s.commit) return describe(s.id, "applied beyond commit");
  if (s.role == role::leader && (s.voted_for != s.id || s.leader != s.id)) {
    return describe(s.id, "leader that did not vote for itself");
  }
  if (n.log().last_term() > s.term) return describe(s.id, "log holds an entry from a future term");
  if (s.role == role::leader && s.commit > 0 && n.log().term(s.commit) == s.term) {
    // Once a leader has committed an entry of its own term: thesis §4.3, C_old,new is left as soon
    // as it is committed; §4.2.2, a leader outside C_new steps down once C_new is committed. (Before
    // that, a new leader may hold a commit index learned as a follower; it acts when its no-op
    // commits.)
    if (is_joint(s.membership) && s.membership_index <= s.commit) {
      return describe(s.id, "leader stays in a committed joint configuration");
    }
    if (!is_voter_in(s.membership, s.id) && s.membership_index <= s.commit) {
      return describe(s.id, "leader is not a voter of its committed configuration");
    }
  }
  seen_ = true;
  term_ = s.term;
  commit_ = s.commit;
  return {};
}

std::string cluster_invariants::check(std::span<const node* const> nodes) {
  for (const node* n : nodes) {
    if (n == nullptr) continue;
    const auto s = n->status();
    if (s.role == role::leader) {
      auto [it, inserted] = leaders_.emplace(s.term, s.id);
      if (!inserted && it->second != s.id) {
        return "two leaders in term " + std::to_string(s.term) + ": " + std::to_string(it->second) +
               " and " + std::to_string(s.id);
      }
      if (inserted) {
        // Leader Completeness (Raft §5.4, across configuration changes): an entry committed by term
        // T is in the log of every leader of a later term. `commit_term_bound` is at least the term
        // in which the entry was committed.
        for (const auto& [index, rec] : committed_) {
          if (commit_term_bound_.at(index) >= s.term) continue;
          if (index < n->log().snapshot_index()) continue;  // inside its snapshot (Raft §7)
          if (index > n->log().last_index() || n->log().term(index) != rec.term) {
            return describe(s.id, "leader of term " + std::to_string(s.term) + " lacks entry " +
                                      std::to_string(index) + " committed by term " +
                                      std::to_string(commit_term_bound_.at(index)));
          }
        }
      }
    }
    auto& checked = checked_commit_[s.id];
    checked = std::min(checked, s.commit);
    if (s.commit > checked) {
      // Entries inside an installed snapshot were recorded from the nodes that committed them.
      const index_t lo = std::max(checked + 1, n->log().first_index());
      for (const auto& e : n->log().entries(std::min(lo, s.commit + 1), s.commit + 1, ~std::uint64_t{0})) {
        auto [it, inserted] = committed_.emplace(e.index, e);
        if (inserted) {
          commit_term_bound_.emplace(e.index, s.term);
          if (e.type == entry_type::config) {
            if (auto m = decode_membership(e.data)) committed_configs_.emplace(e.index, std::move(*m));
          }
        }
        if (!inserted && it->second != e) {
          return describe(s.id, "committed entry " + std::to_string(e.index) + " (term " +
                                    std::to_string(e.term) + ") differs from one committed before (term " +
                                    std::to_string(it->second.term) + ")");
        }
      }
      checked = s.commit;
      while (committed_.count(contiguous_ + 1) != 0) ++contiguous_;
    }
    // Every node agrees on the configuration of the committed prefix, whether it learned it from
    // the log or from a snapshot (thesis §5.1: a snapshot carries the configuration as of its
    // index). Checked once the cluster's committed log up to the node's commit is known and holds
    // a configuration entry (before that the bootstrap configuration of each node applies).
    if (s.commit <= contiguous_) {
      auto cfg = committed_configs_.upper_bound(s.commit);
      if (cfg != committed_configs_.begin()) {
        --cfg;
        if (n->membership_at(s.commit) != cfg->second) {
          return describe(s.id, "configuration at commit " + std::to_string(s.commit) +
                                    " differs from the committed configuration entry " + std::to_string(cfg->first));
        }
      }
    }
  }
  return {};
}

std::string cluster_invariants::check_log_matching(std::span<const node* const> nodes) const {
  for (std::size_t a = 0; a < nodes.size(); ++a) {
    for (std::size_t b = a + 1; b < nodes.size(); ++b) {
      if (nodes[a] == nullptr || nodes[b] == nullptr) continue;
      const raft_log& la = nodes[a]->log();
      const raft_log& lb = nodes[b]->log();
      // Compared from where both still hold entries (a snapshot replaces a committed prefix).
      const index_t lo = std::max(la.first_index(), lb.first_index());
      index_t i = std::min(la.last_index(), lb.last_index());
      while (i >= lo && la.term(i) != lb.term(i)) --i;
      if (i < lo) continue;
      const auto ea = la.entries(lo, i + 1, ~std::uint64_t{0});
      const auto eb = lb.entries(lo, i + 1, ~std::uint64_t{0});
      assert(ea.size() == i + 1 - lo && eb.size() == i + 1 - lo);
      for (std::size_t k = 0; k < ea.size(); ++k) {
        if (ea[k] != eb[k]) {
          return "log matching broken between nodes " + std::to_string(nodes[a]->cfg().id) +
                 " and " + std::to_string(nodes[b]->cfg().id) + " at index " +
                 std::to_string(ea[k].index);
        }
      }
    }
  }
  return {};
}

}  // namespace troupe::raft
