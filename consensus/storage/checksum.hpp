#pragma once
/// The record checksums of the Raft log store, CRC-32C (runtime/base/crc32c.hpp) over a fixed
/// byte layout of each record. Pure functions; thread-safe.

#include <cstdint>
#include <string_view>

#include "consensus/core/message.hpp"
#include "consensus/core/types.hpp"

namespace troupe::raft::log_store {

/// Checksum of one entry over its index, term, type and data (index and term as 8 little-endian
/// bytes each, type as one byte), so a row copied to another index or given another term fails it
/// too, not only a damaged payload.
std::uint32_t entry_checksum(const log_entry& entry) noexcept;

/// Checksum of a hard state over term, vote and commit (8 little-endian bytes each).
std::uint32_t hard_state_checksum(const hard_state& hs) noexcept;

/// Checksum of the recorded applied index (8 little-endian bytes).
std::uint32_t applied_checksum(index_t applied) noexcept;

/// Checksum of the compaction point: the first index held, the term of the entry before it (the
/// snapshot's last index and term, Raft §7) and, from schema version 3, the snapshot's encoded
/// membership (left out when empty, so a version 2 row still verifies).
std::uint32_t log_start_checksum(index_t first_index, term_t prev_term, std::string_view membership) noexcept;

}  // namespace troupe::raft::log_store
