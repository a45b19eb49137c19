#pragma once
/// Invariant checkers run after every step in tests and the simulation (LogCabin's checkBasic /
/// checkDelta). Each returns a description of the first broken invariant, or an empty string.
///
/// `node_invariants` checks one node across its steps within one incarnation (reset it when the
/// node restarts: a crash legitimately forgets an in-memory commit index). `cluster_invariants` checks
/// what must hold across nodes and over the whole run (Raft Figure 3).

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "consensus/core/node.hpp"

namespace troupe::raft {

class node_invariants {
 public:
  /// Terms never go back; the commit index never goes back and stays within the log; applied <=
  /// commit; a leader voted for itself in its term; a leader never stays in a committed joint
  /// configuration nor leads a committed configuration it is not a voter of.
  std::string check(const node& n);
  void reset() { seen_ = false; }

 private:
  bool seen_ = false;
  term_t term_ = 0;
  index_t commit_ = 0;
};

class cluster_invariants {
 public:
  /// Election Safety (at most one leader per term, over the whole run, whatever configuration each
  /// node holds), State Machine Safety (no two nodes commit different entries at one index) and,
  /// when a leader is first seen, Leader Completeness (it holds every entry committed in an earlier
  /// term). Cheap enough for every step.
  std::string check(std::span<const node* const> nodes);
  /// Log Matching (Raft §5.3): if two logs hold an entry with the same index and term, they are
  /// identical up to it. Linear in log length per pair: run it every few steps.
  std::string check_log_matching(std::span<const node* const> nodes) const;

  /// Committed entries seen so far, by index (the cluster's agreed log prefix).
  const std::map<index_t, log_entry>& committed() const { return committed_; }
  /// How many times a leader was seen per term (at most 1 distinct node).
  const std::map<term_t, node_id>& leaders() const { return leaders_; }

 private:
  std::map<term_t, node_id> leaders_;
  std::map<index_t, log_entry> committed_;
  std::map<index_t, term_t> commit_term_bound_;  ///< term of the node that first reported it committed
  std::map<node_id, index_t> checked_commit_;
  std::map<index_t, membership> committed_configs_;  ///< committed config entries, by index
  index_t contiguous_ = 0;  ///< every committed entry in [1, contiguous_] is known
};

}  // namespace troupe::raft
