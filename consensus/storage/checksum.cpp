#include "consensus/storage/checksum.hpp"

#include <array>

namespace troupe::raft::log_store {
namespace {

// Reflected form of the Castagnoli polynomial 0x1EDC6F41.
constexpr std::uint32_t polynomial = 0x82F63B78u;

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) != 0 ? polynomial : 0u);
    table[i] = crc;
  }
  return table;
}

constexpr std::array<std::uint32_t, 256> table = make_table();

std::uint32_t extend_u64(std::uint32_t crc, std::uint64_t value) noexcept {
  std::array<std::byte, 8> le{};
  for (std::size_t i = 0; i < le.size(); ++i) le[i] = static_cast<std::byte>(value >> (8 * i));
  return crc32c(crc, le);
}

}  // namespace

std::uint32_t crc32c(std::uint32_t crc, std::span<const std::byte> bytes) noexcept {
  crc = ~crc;
  for (const std::byte b : bytes) {
    crc = table[(crc ^ static_cast<std::uint32_t>(b)) & 0xFFu] ^ (crc >> 8);
  }
  return ~crc;
}

std::uint32_t crc32c(std::uint32_t crc, std::string_view bytes) noexcept {
  return crc32c(crc, std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
}

std::uint32_t entry_checksum(const log_entry& entry) noexcept {
  std::uint32_t crc = extend_u64(0, entry.index);
  crc = extend_u64(crc, entry.term);
  const std::byte type{static_cast<std::uint8_t>(entry.type)};
  crc = crc32c(crc, std::span<const std::byte>(&type, 1));
  return crc32c(crc, entry.data);
}

std::uint32_t hard_state_checksum(const hard_state& hs) noexcept {
  return extend_u64(extend_u64(extend_u64(0, hs.term), hs.voted_for), hs.commit);
}

std::uint32_t applied_checksum(index_t applied) noexcept { return extend_u64(0, applied); }

}  // namespace troupe::raft::log_store
