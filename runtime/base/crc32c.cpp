#include "runtime/base/crc32c.hpp"
#include "runtime/base/crc32c_detail.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace troupe {

namespace {

// Reflected form of the Castagnoli polynomial 0x1EDC6F41.
constexpr std::uint32_t castagnoli_reflected = 0x82F63B78u;

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) != 0 ? (c >> 1) ^ castagnoli_reflected : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto table = make_table();

std::uint32_t crc32c_table(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  for (const std::byte b : data) {
    crc = table[(crc ^ static_cast<std::uint32_t>(b)) & 0xFFu] ^ (crc >> 8);
  }
  return crc;
}

#if defined(__x86_64__)
// SSE 4.2's crc32 instruction computes this very CRC (Castagnoli, reflected), 8 bytes per
// instruction: a byte a cycle or so with the table, ~10 times that here. A snapshot of 100,000
// keys is checksummed whole, on every node, every compaction (perf under a put load: the table
// loop was 6-15% of the nodes' CPU while one was saved).
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::span<const std::byte> data,
                                                               std::uint32_t crc) noexcept {
  const std::byte* p = data.data();
  std::size_t n = data.size();
  std::uint64_t c = crc;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);  // unaligned, little-endian: the byte order the CRC consumes
    c = _mm_crc32_u64(c, word);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, static_cast<std::uint8_t>(*p));
  return c32;
}

// Zero (the table) until initialised: a checksum from another static initialiser is still right.
const bool have_sse42 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") != 0;
}();
#endif

}  // namespace

std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc) noexcept {
#if defined(__x86_64__)
  if (have_sse42) return ~crc32c_sse42(data, ~crc);
#endif
  return ~crc32c_table(data, ~crc);
}

std::uint32_t detail::crc32c_portable(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  return ~crc32c_table(data, ~crc);
}

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) noexcept {
  return crc32c(std::as_bytes(std::span<const char>(data.data(), data.size())), crc);
}

checksum_builder& checksum_builder::u64(std::uint64_t value) noexcept {
  std::array<std::byte, 8> le{};
  for (std::size_t i = 0; i < le.size(); ++i) le[i] = static_cast<std::byte>(value >> (8 * i));
  crc_ = crc32c(le, crc_);
  return *this;
}

checksum_builder& checksum_builder::u8(std::uint8_t value) noexcept {
  const std::byte b{value};
  crc_ = crc32c(std::span<const std::byte>(&b, 1), crc_);
  return *this;
}

checksum_builder& checksum_builder::bytes(std::span<const std::byte> data) noexcept {
  u64(data.size());
  return raw(data);
}

checksum_builder& checksum_builder::text(std::string_view data) noexcept {
  return bytes(std::as_bytes(std::span<const char>(data.data(), data.size())));
}

checksum_builder& checksum_builder::raw(std::span<const std::byte> data) noexcept {
  crc_ = crc32c(data, crc_);
  return *this;
}

checksum_builder& checksum_builder::raw(std::string_view data) noexcept {
  crc_ = crc32c(data, crc_);
  return *this;
}

}  // namespace troupe
