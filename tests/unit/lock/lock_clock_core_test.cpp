// The lock clock's rules (examples/lock/lock_clock_core.hpp), driven by hand against a real lock
// service behind a service host: no tick while no lease is live, ticks while one is, a restart after
// any interval without a tick, one tick in flight at a time, a fresh session after a failure.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <span>
#include <variant>

#include "actors/replicated/service_host.hpp"
#include "examples/lock/lock_clock_core.hpp"
#include "examples/lock/lock_metrics.hpp"
#include "runtime/wire/client_codec.hpp"

using namespace troupe;
using namespace troupe::lock;

namespace {

wire::client_request decode(const std::string& bytes) {
  auto msg = wire::message::parse(std::as_bytes(std::span(bytes.data(), bytes.size())));
  BOOST_REQUIRE(msg.ok());
  auto r = wire::decode_client_request(*msg);
  BOOST_REQUIRE(r.ok());
  return *r;
}

lock_request tick_of(const wire::client_request& r) {
  const auto* app = std::get_if<wire::app_request>(&r.body);
  BOOST_REQUIRE(app != nullptr);
  BOOST_TEST(app->service == "lock");
  BOOST_TEST((app->call == wire::app_call::command));
  auto t = decode_request(app->payload);
  BOOST_REQUIRE(t.ok());
  BOOST_TEST((t->op == lock_op::tick));
  return *t;
}

/// One node's service host with the lock service, and its observer (what the clock reads).
struct replica {
  std::shared_ptr<atomic_lock_observer> observer = std::make_shared<atomic_lock_observer>();
  replicated::service_host host;
  std::uint64_t index = 0;
  replica() { host.add("lock", std::make_unique<lock_service>(lock_options{}, observer)); }
  std::string apply(const std::string& request) { return host.apply(++index, request); }
  std::uint64_t live() const { return observer->read().leases; }
  void acquire(std::uint64_t client, const std::string& name, std::uint64_t ttl_ms) {
    wire::client_request r;
    r.client_id = client;
    r.sequence = 1;
    r.group_id = 1;
    r.body = wire::app_request{"lock", wire::app_call::command,
                               encode_request({lock_op::acquire, name, ttl_ms, false, 0, 0, false}),
                               wire::read_consistency::linearizable, 0};
    const auto msg = wire::encode(r);
    const auto b = msg.bytes();
    (void)apply(std::string(reinterpret_cast<const char*>(b.data()), b.size()));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(lock_clock_rules)

BOOST_AUTO_TEST_CASE(no_live_lease_means_no_tick_and_the_next_tick_after_idling_restarts) {
  replica r;
  lock_clock_core clock(1, 7);
  for (int i = 0; i < 5; ++i) BOOST_TEST((clock.interval(r.live()) == lock_clock_core::step::idle));
  BOOST_TEST(clock.stats().idle_intervals == 5u);
  BOOST_TEST(clock.stats().proposed == 0u);
  BOOST_TEST(!clock.in_flight());

  r.acquire(900, "db", 1000);
  BOOST_TEST(r.live() == 1u);
  BOOST_REQUIRE((clock.interval(r.live()) == lock_clock_core::step::ask_leader));
  BOOST_TEST((clock.interval(r.live()) == lock_clock_core::step::busy));  // one at a time
  auto first = clock.leader_known(true, 10'000);
  BOOST_REQUIRE(first.has_value());
  const auto req1 = decode(*first);
  BOOST_TEST(req1.sequence == 1u);
  BOOST_TEST(tick_of(req1).restart);  // a leader's first tick counts no time
  auto s1 = clock.answered(r.apply(*first));
  BOOST_REQUIRE_MESSAGE(s1.ok(), (s1.ok() ? "" : s1.err().message));
  BOOST_TEST(!clock.in_flight());

  BOOST_REQUIRE((clock.interval(r.live()) == lock_clock_core::step::ask_leader));
  auto second = clock.leader_known(true, 10'200);
  BOOST_REQUIRE(second.has_value());
  const auto req2 = decode(*second);
  BOOST_TEST(req2.client_id == req1.client_id);
  BOOST_TEST(req2.sequence == 2u);
  BOOST_TEST(!tick_of(req2).restart);
  BOOST_TEST(tick_of(req2).elapsed_ms == 200u);
  BOOST_REQUIRE(clock.answered(r.apply(*second)).ok());

  // The lease runs out under ticks (1010 ms of lock time: TTL plus the 1% margin).
  std::uint64_t now = 10'200;
  while (r.live() > 0 && now < 20'000) {
    BOOST_REQUIRE((clock.interval(r.live()) == lock_clock_core::step::ask_leader));
    now += 200;
    auto t = clock.leader_known(true, now);
    BOOST_REQUIRE(t.has_value());
    BOOST_REQUIRE(clock.answered(r.apply(*t)).ok());
  }
  BOOST_TEST(r.live() == 0u);
  BOOST_TEST(r.observer->read().expirations == 1u);
  BOOST_TEST((clock.interval(r.live()) == lock_clock_core::step::idle));

  // Idle time is not measured: the next tick, much later, restarts instead of counting the gap.
  r.acquire(901, "db", 1000);
  BOOST_REQUIRE((clock.interval(r.live()) == lock_clock_core::step::ask_leader));
  auto after_idle = clock.leader_known(true, 60'000);
  BOOST_REQUIRE(after_idle.has_value());
  BOOST_TEST(tick_of(decode(*after_idle)).restart);
  BOOST_TEST(tick_of(decode(*after_idle)).elapsed_ms == 0u);
}

BOOST_AUTO_TEST_CASE(a_follower_proposes_nothing_and_a_failure_opens_a_new_session) {
  replica r;
  r.acquire(900, "db", 1000);
  lock_clock_core clock(1, 7);
  BOOST_REQUIRE((clock.interval(r.live()) == lock_clock_core::step::ask_leader));
  BOOST_TEST(!clock.leader_known(false, 1'000).has_value());
  BOOST_TEST(!clock.in_flight());
  BOOST_TEST(clock.stats().proposed == 0u);

  BOOST_REQUIRE((clock.interval(r.live()) == lock_clock_core::step::ask_leader));
  const auto lost = decode(*clock.leader_known(true, 1'200));
  clock.failed();  // the proposal timed out: its outcome is unknown
  BOOST_TEST(clock.stats().failed == 1u);
  BOOST_REQUIRE((clock.interval(r.live()) == lock_clock_core::step::ask_leader));
  const auto next = decode(*clock.leader_known(true, 1'400));
  BOOST_TEST(next.client_id != lost.client_id);
  BOOST_TEST(next.sequence == 1u);
  BOOST_TEST(tick_of(next).restart);

  // A reply that is not a tick's answer counts as a failure too.
  auto bad = clock.answered("not a reply");
  BOOST_TEST(!bad.ok());
  BOOST_TEST(!clock.in_flight());
  BOOST_TEST(clock.stats().failed == 2u);
  BOOST_TEST(clock.stats().committed == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
