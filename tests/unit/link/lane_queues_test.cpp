// Lane queues and the writer's choice: overflow policies, control priority, no starvation.
#include <boost/test/unit_test.hpp>

#include "runtime/transport/link/lane_queues.hpp"
#include "tests/unit/link/link_test_support.hpp"

namespace troupe::link::test {
namespace {

outbound_message msg(std::uint64_t id, std::size_t name_bytes = 0) {
  return outbound_message{std::string(name_bytes, 'd'), "s", {}, id, 0};
}

using heads_t = std::array<std::optional<std::size_t>, lane_count>;

}  // namespace

BOOST_AUTO_TEST_SUITE(lane_queue_tests)

BOOST_AUTO_TEST_CASE(each_lane_has_its_stated_overflow_policy) {
  BOOST_TEST((policy_of(lane::raft_control) == overflow_policy::drop_oldest));
  BOOST_TEST((policy_of(lane::raft_bulk) == overflow_policy::drop_newest));
  BOOST_TEST((policy_of(lane::application) == overflow_policy::reject_busy));
  BOOST_TEST((policy_of(lane::client) == overflow_policy::reject_busy));
}

BOOST_AUTO_TEST_CASE(a_full_control_lane_drops_its_oldest_message_and_counts_it) {
  lane_config cfg;
  cfg.limits[index_of(lane::raft_control)] = {2, 1u << 20};
  lane_queues q(cfg);
  BOOST_TEST((*q.push(lane::raft_control, msg(1)) == send_outcome::queued));
  BOOST_TEST((*q.push(lane::raft_control, msg(2)) == send_outcome::queued));
  BOOST_TEST((*q.push(lane::raft_control, msg(3)) == send_outcome::queued_evicted));
  BOOST_TEST(q.dropped_total(lane::raft_control) == 1u);
  BOOST_TEST(q.pop(lane::raft_control).message_id == 2u);
  BOOST_TEST(q.pop(lane::raft_control).message_id == 3u);
}

BOOST_AUTO_TEST_CASE(a_full_bulk_lane_drops_the_new_message_and_counts_it) {
  lane_config cfg;
  cfg.limits[index_of(lane::raft_bulk)] = {2, 1u << 20};
  lane_queues q(cfg);
  (void)q.push(lane::raft_bulk, msg(1));
  (void)q.push(lane::raft_bulk, msg(2));
  BOOST_TEST((*q.push(lane::raft_bulk, msg(3)) == send_outcome::dropped));
  BOOST_TEST(q.dropped_total(lane::raft_bulk) == 1u);
  BOOST_TEST(q.queued_messages(lane::raft_bulk) == 2u);
  BOOST_TEST(q.pop(lane::raft_bulk).message_id == 1u);
}

BOOST_AUTO_TEST_CASE(a_full_client_lane_says_busy_and_takes_nothing) {
  lane_config cfg;
  cfg.limits[index_of(lane::client)] = {1, 1u << 20};
  lane_queues q(cfg);
  (void)q.push(lane::client, msg(1));
  auto r = q.push(lane::client, msg(2));
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().code == errc::busy);
  BOOST_TEST(q.dropped_total(lane::client) == 0u);
  BOOST_TEST(q.queued_messages(lane::client) == 1u);
}

BOOST_AUTO_TEST_CASE(byte_bounds_apply_and_an_oversized_message_is_too_large) {
  lane_config cfg;
  cfg.limits[index_of(lane::raft_control)] = {100, 2 * charged_bytes(msg(0, 100))};
  lane_queues q(cfg);
  (void)q.push(lane::raft_control, msg(1, 100));
  (void)q.push(lane::raft_control, msg(2, 100));
  BOOST_TEST((*q.push(lane::raft_control, msg(3, 100)) == send_outcome::queued_evicted));
  BOOST_TEST(q.queued_bytes(lane::raft_control) <= cfg.limits[0].max_bytes);
  auto big = q.push(lane::raft_control, msg(4, 1000));
  BOOST_REQUIRE(!big.ok());
  BOOST_TEST(big.err().code == errc::too_large);
  BOOST_TEST(q.push(lane::application, msg(5)).err().code == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_control_message_queued_behind_thousands_of_bulk_messages_goes_out_next) {
  lane_queues q;
  lane_scheduler sched;
  for (std::uint64_t i = 0; i < 1000; ++i) (void)q.push(lane::raft_bulk, msg(i));
  auto heads = [&] {
    heads_t h{};
    for (std::size_t i = 0; i < lane_count; ++i) h[i] = q.head_bytes(static_cast<lane>(i));
    return h;
  };
  // The writer is busy with bulk...
  for (int i = 0; i < 10; ++i) {
    auto l = sched.pick(heads());
    BOOST_REQUIRE(l.has_value());
    BOOST_TEST((*l == lane::raft_bulk));
    (void)q.pop(*l);
  }
  // ...then a heartbeat arrives.
  (void)q.push(lane::raft_control, msg(9999));
  auto l = sched.pick(heads());
  BOOST_REQUIRE(l.has_value());
  BOOST_TEST((*l == lane::raft_control));
  BOOST_TEST(q.pop(*l).message_id == 9999u);
}

BOOST_AUTO_TEST_CASE(bulk_is_not_starved_under_steady_control_load) {
  lane_config cfg;
  cfg.control_burst_frames = 16;
  lane_scheduler sched(cfg);
  heads_t h{};
  h[index_of(lane::raft_control)] = 100;  // control never runs dry
  h[index_of(lane::raft_bulk)] = 4096;
  int bulk = 0;
  int longest_bulk_wait = 0;
  int since_bulk = 0;
  const int picks = 17'000;
  for (int i = 0; i < picks; ++i) {
    auto l = sched.pick(h);
    BOOST_REQUIRE(l.has_value());
    if (*l == lane::raft_bulk) {
      ++bulk;
      since_bulk = 0;
    } else {
      longest_bulk_wait = std::max(longest_bulk_wait, ++since_bulk);
    }
  }
  BOOST_TEST(bulk == picks / 17);  // exactly one round-robin turn after each burst of 16
  BOOST_TEST(longest_bulk_wait == 16);
}

BOOST_AUTO_TEST_CASE(round_robin_shares_bytes_by_quantum_whatever_the_message_sizes) {
  lane_config cfg;
  cfg.quantum_bytes[index_of(lane::raft_bulk)] = 32 * 1024;
  cfg.quantum_bytes[index_of(lane::application)] = 64 * 1024;
  cfg.quantum_bytes[index_of(lane::client)] = 32 * 1024;
  lane_scheduler sched(cfg);
  heads_t h{};
  h[index_of(lane::raft_bulk)] = 256 * 1024;  // big snapshot chunks
  h[index_of(lane::application)] = 200;       // small envelopes
  h[index_of(lane::client)] = 1000;
  std::array<std::uint64_t, lane_count> bytes{};
  for (int i = 0; i < 200'000; ++i) {
    auto l = sched.pick(h);
    BOOST_REQUIRE(l.has_value());
    bytes[index_of(*l)] += *h[index_of(*l)];
  }
  const double bulk = static_cast<double>(bytes[index_of(lane::raft_bulk)]);
  const double app = static_cast<double>(bytes[index_of(lane::application)]);
  const double client = static_cast<double>(bytes[index_of(lane::client)]);
  BOOST_TEST(bulk > 0.0);
  BOOST_TEST(app / bulk == 2.0, boost::test_tools::tolerance(0.1));
  BOOST_TEST(client / bulk == 1.0, boost::test_tools::tolerance(0.1));
}

BOOST_AUTO_TEST_CASE(nothing_to_write_gives_no_lane) {
  lane_scheduler sched;
  BOOST_TEST(!sched.pick(heads_t{}).has_value());
}

BOOST_AUTO_TEST_CASE(zero_limits_are_rejected_by_validation) {
  lane_config cfg;
  BOOST_TEST(cfg.validate().ok());
  cfg.limits[index_of(lane::client)].max_bytes = 0;
  BOOST_TEST(!cfg.validate().ok());
  lane_config q;
  q.quantum_bytes[index_of(lane::application)] = 0;
  BOOST_TEST(!q.validate().ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace troupe::link::test
