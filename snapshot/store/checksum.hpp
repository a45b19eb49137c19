#pragma once
/// CRC-32C (Castagnoli), the checksum the checkpoint store puts on every part it writes and
/// verifies on every part it reads. CRC-32C because it is what LevelDB, RocksDB and ext4 use for
/// the same job (detecting torn or rotted records, not adversaries), and a table-driven version
/// needs no library.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace troupe::checkpoint::store {

/// CRC-32C of `data`, continuing from `crc` (0 to start). crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;

/// Builds the canonical byte string a part's checksum covers: fixed-width little-endian integers
/// and length-prefixed byte strings, so two different parts never encode to the same bytes. Every
/// part starts with its kind and its identity (checkpoint id, participant, channel, position), so a
/// row copied onto another row's place fails its check too.
class checksum_builder {
 public:
  checksum_builder& u64(std::uint64_t value) noexcept;
  checksum_builder& i64(std::int64_t value) noexcept {
    return u64(static_cast<std::uint64_t>(value));
  }
  checksum_builder& bytes(std::span<const std::byte> data) noexcept;
  checksum_builder& text(std::string_view data) noexcept;
  /// The checksum of everything added so far.
  std::uint32_t value() const noexcept { return crc_; }

 private:
  std::uint32_t crc_ = 0;
};

}  // namespace troupe::checkpoint::store
