#include "consensus/storage/checksum.hpp"

#include "runtime/base/crc32c.hpp"

namespace troupe::raft::log_store {

// The layouts below are the on-disk format of schema version 1: changing one is a migration.

std::uint32_t entry_checksum(const log_entry& entry) noexcept {
  return checksum_builder{}
      .u64(entry.index)
      .u64(entry.term)
      .u8(static_cast<std::uint8_t>(entry.type))
      .raw(entry.data)
      .value();
}

std::uint32_t hard_state_checksum(const hard_state& hs) noexcept {
  return checksum_builder{}.u64(hs.term).u64(hs.voted_for).u64(hs.commit).value();
}

std::uint32_t applied_checksum(index_t applied) noexcept {
  return checksum_builder{}.u64(applied).value();
}

std::uint32_t log_start_checksum(index_t first_index, term_t prev_term, std::string_view membership) noexcept {
  checksum_builder b;
  b.u8('F').u64(first_index).u64(prev_term);
  if (!membership.empty()) b.text(membership);
  return b.value();
}

}  // namespace troupe::raft::log_store
