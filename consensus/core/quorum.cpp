#include "consensus/core/quorum.hpp"

#include <algorithm>
#include <cassert>
#include <vector>

namespace troupe::raft {

index_t quorum_committed_index(std::span<const index_t> match_indexes) {
  if (match_indexes.empty()) return 0;
  std::vector<index_t> sorted(match_indexes.begin(), match_indexes.end());
  // Descending: the majority-th largest value is matched by at least a majority.
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const index_t result = sorted[majority(sorted.size()) - 1];
  assert(result <= sorted.front());
  return result;
}

vote_result tally_votes(std::size_t voters, std::size_t granted, std::size_t rejected) {
  assert(granted + rejected <= voters);
  if (granted >= majority(voters)) return vote_result::won;
  if (voters - rejected < majority(voters)) return vote_result::lost;
  return vote_result::pending;
}

}  // namespace troupe::raft
