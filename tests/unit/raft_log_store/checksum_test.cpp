// Record checksums of the log store change when any field changes (CRC-32C itself is tested in
// tests/unit/base/crc32c_test.cpp).
#define BOOST_TEST_MODULE raft_log_store_checksum
#include <boost/test/unit_test.hpp>

#include "consensus/storage/checksum.hpp"
#include "tests/unit/raft_log_store/test_support.hpp"

using namespace troupe::raft;
using namespace troupe::raft::log_store;
using namespace troupe::raft::test;

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
