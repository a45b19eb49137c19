// CRC-32C against the plain bit-by-bit definition (no table) and published check values, and the
// checksum builder's canonical encoding.
#define BOOST_TEST_MODULE base_crc32c
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "runtime/base/crc32c.hpp"
#include "runtime/base/crc32c_detail.hpp"

using troupe::checksum_builder;
using troupe::crc32c;

namespace {

/// The definition: reflected CRC with polynomial 0x82F63B78, init and final xor all ones.
std::uint32_t oracle(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) {
    crc ^= static_cast<std::uint8_t>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1u) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

/// splitmix64: the same sequence on every platform.
std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

BOOST_AUTO_TEST_CASE(crc32c_matches_the_published_check_values) {
  BOOST_TEST(crc32c(std::string_view("123456789")) == 0xE3069283u);  // the standard check value
  BOOST_TEST(crc32c(std::string_view()) == 0u);
  BOOST_TEST(crc32c(std::string(32, '\0')) == 0x8A9136AAu);     // RFC 3720 B.4: 32 zero bytes
  BOOST_TEST(crc32c(std::string(32, '\xFF')) == 0x62A8AB43u);   // RFC 3720 B.4: 32 bytes of ones
}

BOOST_AUTO_TEST_CASE(crc32c_equals_the_bitwise_oracle_on_random_inputs_and_splits) {
  const char* env = std::getenv("TROUPE_SEED");
  std::uint64_t rng = env != nullptr ? std::strtoull(env, nullptr, 10) : 20261126;
  std::cout << "crc32c oracle: seed " << rng << " (rerun with TROUPE_SEED=" << rng << ")\n";
  for (int i = 0; i < 2000; ++i) {
    std::string data(splitmix(rng) % 700, '\0');
    for (auto& c : data) c = static_cast<char>(splitmix(rng) & 0xFF);
    BOOST_TEST_REQUIRE(crc32c(data) == oracle(data), "input " << i << " of " << data.size());
    // Extending in two pieces gives the checksum of the whole.
    const std::size_t cut = data.empty() ? 0 : splitmix(rng) % data.size();
    const std::string_view view(data);
    BOOST_TEST_REQUIRE(crc32c(view.substr(cut), crc32c(view.substr(0, cut))) == oracle(data));
    // The table the function falls back to without SSE 4.2 (crc32c() here may take the
    // instruction): the same checksums, whole and in two pieces.
    const auto bytes = std::as_bytes(std::span<const char>(data.data(), data.size()));
    BOOST_TEST_REQUIRE(troupe::detail::crc32c_portable(bytes) == oracle(data));
    BOOST_TEST_REQUIRE(troupe::detail::crc32c_portable(
                           bytes.subspan(cut), troupe::detail::crc32c_portable(bytes.first(cut))) ==
                       oracle(data));
  }
}

BOOST_AUTO_TEST_CASE(crc32c_of_long_inputs_equals_the_table_whole_in_pieces_and_at_every_alignment) {
  // Inputs long enough for the instruction's three joined lanes (blocks of 12 KiB), with lengths
  // around whole blocks and random ones, at every alignment; the table is held to the bitwise
  // oracle above.
  const char* env = std::getenv("TROUPE_SEED");
  std::uint64_t rng = env != nullptr ? std::strtoull(env, nullptr, 10) : 20261127;
  std::cout << "crc32c long inputs: seed " << rng << " (rerun with TROUPE_SEED=" << rng << ")\n";
  std::string buffer(300'000, '\0');
  for (auto& c : buffer) c = static_cast<char>(splitmix(rng) & 0xFF);
  const auto all = std::as_bytes(std::span<const char>(buffer.data(), buffer.size()));
  std::vector<std::size_t> lengths;
  for (std::size_t blocks = 0; blocks <= 8; ++blocks) {
    for (std::size_t delta : {0, 1, 7, 8, 9, 4095, 4096, 4097, 8192}) lengths.push_back(blocks * 12288 + delta);
  }
  for (int i = 0; i < 60; ++i) lengths.push_back(splitmix(rng) % 290'000);
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    const std::size_t length = lengths[i], offset = i % 16;
    const auto data = all.subspan(offset, length);
    const std::uint32_t start = i % 3 == 0 ? 0u : static_cast<std::uint32_t>(splitmix(rng));
    const std::uint32_t expected = troupe::detail::crc32c_portable(data, start);
    BOOST_TEST_REQUIRE(crc32c(data, start) == expected, "length " << length << " at offset " << offset);
    const std::size_t cut = length == 0 ? 0 : splitmix(rng) % length;
    BOOST_TEST_REQUIRE(crc32c(data.subspan(cut), crc32c(data.first(cut), start)) == expected,
                       "length " << length << " cut at " << cut);
  }
}

BOOST_AUTO_TEST_CASE(checksum_builder_encodes_fields_canonically) {
  // Integers are 8 little-endian bytes; bytes/text are length-prefixed; raw is as is.
  const std::string le7("\x07\0\0\0\0\0\0\0", 8);
  BOOST_TEST(checksum_builder{}.u64(7).value() == oracle(le7));
  BOOST_TEST(checksum_builder{}.text("abc").value() ==
             oracle(std::string("\x03\0\0\0\0\0\0\0", 8) + "abc"));
  BOOST_TEST(checksum_builder{}.raw(std::string_view("abc")).value() == oracle("abc"));
  BOOST_TEST(checksum_builder{}.u8(0x41).value() == oracle("A"));
  // Length prefixes keep field boundaries: "ab"+"c" differs from "a"+"bc".
  BOOST_TEST(checksum_builder{}.text("ab").text("c").value() !=
             checksum_builder{}.text("a").text("bc").value());
}
