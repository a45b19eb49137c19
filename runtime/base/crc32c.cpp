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
// Appending zero bytes to a CRC register is linear over GF(2): a 32x32 bit matrix (column i is the
// image of bit i). Used to join CRCs computed apart: crc(A || B) = shift_|B|(crc(A)) ^ crc(B) for
// raw registers, B's started at 0 (zlib's crc32_combine; Mark Adler's crc32c.c for the three
// lanes below).
using gf2_matrix = std::array<std::uint32_t, 32>;

constexpr std::uint32_t gf2_times(const gf2_matrix& m, std::uint32_t v) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; v != 0; ++i, v >>= 1) {
    if ((v & 1u) != 0) sum ^= m[i];
  }
  return sum;
}

constexpr gf2_matrix gf2_product(const gf2_matrix& a, const gf2_matrix& b) {
  gf2_matrix p{};
  for (std::size_t i = 0; i < 32; ++i) p[i] = gf2_times(a, b[i]);
  return p;
}

/// The matrix that appends `bytes` zero bytes to a raw (not inverted) CRC-32C register.
constexpr gf2_matrix zeros_operator(std::size_t bytes) {
  gf2_matrix one_bit{};  // one zero bit: shift right, xor the polynomial when bit 0 falls out
  one_bit[0] = castagnoli_reflected;
  for (std::size_t i = 1; i < 32; ++i) one_bit[i] = 1u << (i - 1);
  gf2_matrix power = one_bit;
  for (int i = 0; i < 3; ++i) power = gf2_product(power, power);  // one zero byte
  gf2_matrix result{};
  for (std::size_t i = 0; i < 32; ++i) result[i] = 1u << i;
  for (; bytes != 0; bytes >>= 1, power = gf2_product(power, power)) {
    if ((bytes & 1u) != 0) result = gf2_product(power, result);
  }
  return result;
}

/// zeros_operator(bytes) applied a byte of the register at a time: four lookups.
using shift_table = std::array<std::array<std::uint32_t, 256>, 4>;

constexpr shift_table make_shift_table(std::size_t bytes) {
  const gf2_matrix op = zeros_operator(bytes);
  shift_table t{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    for (std::size_t k = 0; k < 4; ++k) t[k][n] = gf2_times(op, n << (8 * k));
  }
  return t;
}

// The crc32 instruction takes 3 cycles and can start one per cycle: one dependent chain uses a
// third of it. Three lanes of lane_bytes each run side by side and are joined (two shifts per
// 3 x lane_bytes). A 33 MB kv snapshot image: 4.4 -> 1.7 ms (kv README "Snapshots").
constexpr std::size_t lane_bytes = 4096;
constexpr shift_table shift_lane = make_shift_table(lane_bytes);

inline std::uint32_t shift(const shift_table& t, std::uint32_t crc) noexcept {
  return t[0][crc & 0xFFu] ^ t[1][(crc >> 8) & 0xFFu] ^ t[2][(crc >> 16) & 0xFFu] ^ t[3][crc >> 24];
}

// SSE 4.2's crc32 instruction computes this very CRC (Castagnoli, reflected), 8 bytes per
// instruction: a byte a cycle or so with the table, ~10 times that here (~25 with three lanes). A
// snapshot of 100,000 keys is checksummed whole, on every node, every compaction (perf under a put
// load: the table loop was 6-15% of the nodes' CPU while one was saved).
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::span<const std::byte> data,
                                                               std::uint32_t crc) noexcept {
  const std::byte* p = data.data();
  std::size_t n = data.size();
  std::uint64_t c = crc;
  for (; n >= 3 * lane_bytes; p += 3 * lane_bytes, n -= 3 * lane_bytes) {
    std::uint64_t c1 = 0, c2 = 0;
    for (std::size_t i = 0; i < lane_bytes; i += 8) {
      std::uint64_t w0, w1, w2;
      std::memcpy(&w0, p + i, 8);  // unaligned, little-endian: the byte order the CRC consumes
      std::memcpy(&w1, p + lane_bytes + i, 8);
      std::memcpy(&w2, p + 2 * lane_bytes + i, 8);
      c = _mm_crc32_u64(c, w0);
      c1 = _mm_crc32_u64(c1, w1);
      c2 = _mm_crc32_u64(c2, w2);
    }
    c = shift(shift_lane, static_cast<std::uint32_t>(c)) ^ c1;
    c = shift(shift_lane, static_cast<std::uint32_t>(c)) ^ c2;
  }
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
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
