#pragma once
/// CRC-32C (Castagnoli, the polynomial of iSCSI, ext4 metadata and LevelDB/RocksDB blocks) and the
/// record checksums of the Raft log store built on it.
///
/// Why CRC-32C: it detects every burst error up to 32 bits and every 1-, 2- and 3-bit error in
/// records far longer than a log entry, which is the failure it guards against (a torn or rotted
/// page); it is not a defence against a deliberate forger. Table-driven, portable, no CPU
/// intrinsics: a log entry is checksummed once when written and once when read from the file, far
/// below the cost of the fsync that follows. Pure functions; thread-safe.

#include <cstdint>
#include <span>
#include <string_view>

#include "consensus/core/message.hpp"
#include "consensus/core/types.hpp"

namespace troupe::raft::log_store {

/// Extends `crc` (0 for a fresh computation) with `bytes`. crc32c(0, "123456789") == 0xE3069283.
std::uint32_t crc32c(std::uint32_t crc, std::span<const std::byte> bytes) noexcept;
std::uint32_t crc32c(std::uint32_t crc, std::string_view bytes) noexcept;

/// Checksum of one entry over its index, term, type and data (index and term as 8 little-endian
/// bytes each, type as one byte), so a row copied to another index or given another term fails it
/// too, not only a damaged payload.
std::uint32_t entry_checksum(const log_entry& entry) noexcept;

/// Checksum of a hard state over term, vote and commit (8 little-endian bytes each).
std::uint32_t hard_state_checksum(const hard_state& hs) noexcept;

/// Checksum of the recorded applied index (8 little-endian bytes).
std::uint32_t applied_checksum(index_t applied) noexcept;

}  // namespace troupe::raft::log_store
