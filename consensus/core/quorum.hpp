#pragma once
/// Majority quorum arithmetic over one set of voters (Raft §5.2, §5.3). Pure functions; the unit tests
/// compare them with a brute-force oracle.

#include <cstddef>
#include <cstdint>
#include <span>

#include "consensus/core/message.hpp"

namespace troupe::raft {

/// Votes needed to win among `voters` voters: floor(n / 2) + 1.
constexpr std::size_t majority(std::size_t voters) { return voters / 2 + 1; }

/// The largest index that a majority of voters have matched, given each voter's match index (one per
/// voter). 0 for an empty set.
index_t quorum_committed_index(std::span<const index_t> match_indexes);

enum class vote_result : std::uint8_t { pending, won, lost };

/// Outcome of an election among `voters` voters with `granted` yes and `rejected` no answers.
vote_result tally_votes(std::size_t voters, std::size_t granted, std::size_t rejected);

}  // namespace troupe::raft
