#pragma once
/// CRC-32C (Castagnoli: the polynomial of iSCSI, ext4 metadata and LevelDB/RocksDB blocks), the
/// checksum every store of Troupe puts on what it writes and verifies on what it reads.
///
/// Why CRC-32C: it detects every burst error up to 32 bits and every 1-, 2- and 3-bit error in
/// records far longer than ours, which is the failure it guards against (a torn or rotted page);
/// it is no defence against a deliberate forger. SSE 4.2's crc32 instruction where the CPU has it
/// (x86-64), else table-driven: a record is checksummed once when written and once when read.
/// Pure functions; thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace troupe {

/// CRC-32C of `data`, continuing from `crc` (0 to start). crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;
std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0) noexcept;

/// Builds the checksum of a record field by field over a canonical byte string: integers as
/// fixed-width little-endian, `bytes`/`text` length-prefixed (so "ab"+"c" and "a"+"bc" differ),
/// `raw` as is (for a trailing field, or formats fixed before this class existed). Callers start
/// with the record's kind and identity so a row copied onto another row's place fails its check.
class checksum_builder {
 public:
  checksum_builder& u64(std::uint64_t value) noexcept;
  checksum_builder& i64(std::int64_t value) noexcept {
    return u64(static_cast<std::uint64_t>(value));
  }
  checksum_builder& u8(std::uint8_t value) noexcept;
  checksum_builder& bytes(std::span<const std::byte> data) noexcept;
  checksum_builder& text(std::string_view data) noexcept;
  checksum_builder& raw(std::span<const std::byte> data) noexcept;
  checksum_builder& raw(std::string_view data) noexcept;
  /// The checksum of everything added so far.
  std::uint32_t value() const noexcept { return crc_; }

 private:
  std::uint32_t crc_ = 0;
};

}  // namespace troupe
