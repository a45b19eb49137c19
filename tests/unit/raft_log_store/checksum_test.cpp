// CRC-32C of the log store against a plain bit-by-bit oracle (the definition of the CRC, no table)
// and published check values; record checksums change when any field changes.
#define BOOST_TEST_MODULE raft_log_store_checksum
#include <boost/test/unit_test.hpp>

#include "consensus/storage/checksum.hpp"
#include "tests/unit/raft_log_store/test_support.hpp"

using namespace troupe::raft;
using namespace troupe::raft::log_store;
using namespace troupe::raft::test;

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

}  // namespace

BOOST_AUTO_TEST_CASE(crc32c_matches_the_published_check_values) {
  BOOST_TEST(crc32c(0, std::string_view("123456789")) == 0xE3069283u);  // the standard check value
  BOOST_TEST(crc32c(0, std::string_view()) == 0u);
  BOOST_TEST(crc32c(0, std::string(32, '\0')) == 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
  BOOST_TEST(crc32c(0, std::string(32, '\xFF')) == 0x62A8AB43u);  // RFC 3720 B.4: 32 bytes of ones
}

BOOST_AUTO_TEST_CASE(crc32c_equals_the_bitwise_oracle_on_random_inputs_and_splits) {
  std::uint64_t rng = seed_for("crc32c_equals_the_bitwise_oracle_on_random_inputs_and_splits");
  for (int i = 0; i < 2000; ++i) {
    const std::string data = random_bytes(rng, splitmix(rng) % 700);
    BOOST_TEST_REQUIRE(crc32c(0, data) == oracle(data), "input " << i << " of " << data.size());
    // Extending in two pieces gives the checksum of the whole.
    const std::size_t cut = data.empty() ? 0 : splitmix(rng) % data.size();
    const std::string_view view(data);
    BOOST_TEST_REQUIRE(crc32c(crc32c(0, view.substr(0, cut)), view.substr(cut)) == oracle(data));
  }
}

BOOST_AUTO_TEST_CASE(entry_checksum_covers_index_term_type_and_data) {
  const log_entry base = entry(7, 3, "payload");
  const auto sum = entry_checksum(base);
  auto changed = base;
  changed.index = 8;
  BOOST_TEST(entry_checksum(changed) != sum);
  changed = base;
  changed.term = 4;
  BOOST_TEST(entry_checksum(changed) != sum);
  changed = base;
  changed.type = entry_type::no_op;
  BOOST_TEST(entry_checksum(changed) != sum);
  changed = base;
  changed.data[0] ^= 1;
  BOOST_TEST(entry_checksum(changed) != sum);
  BOOST_TEST(entry_checksum(base) == sum);  // deterministic
}

BOOST_AUTO_TEST_CASE(hard_state_checksum_covers_every_field) {
  const hard_state hs{5, 2, 9};
  BOOST_TEST(hard_state_checksum(hard_state{6, 2, 9}) != hard_state_checksum(hs));
  BOOST_TEST(hard_state_checksum(hard_state{5, 3, 9}) != hard_state_checksum(hs));
  BOOST_TEST(hard_state_checksum(hard_state{5, 2, 8}) != hard_state_checksum(hs));
  BOOST_TEST(applied_checksum(1) != applied_checksum(2));
}
