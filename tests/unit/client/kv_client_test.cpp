/// kv_client against a scripted in-memory cluster and a simulated clock: leader finding, retries
/// with the same (client id, sequence), backoff on busy, and the outcome rules (done / failed /
/// unknown / invalid).
#include <boost/test/unit_test.hpp>

#include "tests/unit/client/fake_cluster.hpp"

using namespace std::chrono_literals;
using troupe::client::kv_client;
using troupe::client::kv_outcome;
using troupe::wire::client_error;
using troupe::test::fake_cluster;

namespace {

troupe::client::kv_client_options options() {
  troupe::client::kv_client_options o;
  o.endpoints = {"n1", "n2", "n3"};
  o.timeout = 5s;
  o.attempt_timeout = 1s;
  o.seed = 42;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kv_client_behaviour)

BOOST_AUTO_TEST_CASE(follows_the_leader_hint_and_remembers_the_leader) {
  fake_cluster c;
  c.leader = 2;
  kv_client k(options(), c.factory(), c.clock());
  auto r = k.put("a", "1");
  BOOST_TEST(r.outcome == kv_outcome::done);
  BOOST_TEST(r.attempts == 2u);  // n1 said "not leader, try n3"; n3 applied
  BOOST_TEST(*k.leader() == "n3");
  auto r2 = k.put("b", "2");
  BOOST_TEST(r2.attempts == 1u);  // straight to the remembered leader
  BOOST_TEST(c.store["b"] == "2");
  BOOST_TEST(r.sequence == 1u);
  BOOST_TEST(r2.sequence == 2u);
  BOOST_TEST(k.client_id() != 0u);
}

BOOST_AUTO_TEST_CASE(without_a_hint_tries_every_endpoint_and_skips_unreachable_ones) {
  fake_cluster c;
  c.leader = 2;
  c.hint = false;
  c.unreachable = {1};
  kv_client k(options(), c.factory(), c.clock());
  auto r = k.put("a", "1");
  BOOST_TEST(r.outcome == kv_outcome::done);
  BOOST_TEST(*k.leader() == "n3");
}

BOOST_AUTO_TEST_CASE(a_hint_to_an_unlisted_node_is_dialled_too) {
  fake_cluster c;
  c.leader = 2;
  auto o = options();
  o.endpoints = {"n1"};
  kv_client k(o, c.factory(), c.clock());
  BOOST_TEST(k.put("a", "1").outcome == kv_outcome::done);
  BOOST_TEST(*k.leader() == "n3");
}

BOOST_AUTO_TEST_CASE(a_lost_reply_is_retried_with_the_same_sequence_and_applied_once) {
  fake_cluster c;
  c.drop_replies_after_apply = 1;
  kv_client k(options(), c.factory(), c.clock());
  auto r = k.put("a", "1");
  BOOST_TEST(r.outcome == kv_outcome::done);
  BOOST_TEST(c.applied == 1);
  BOOST_TEST(r.attempts >= 2u);
  for (auto& [node, seq] : c.seen) BOOST_TEST(seq == 1u);  // every retry kept sequence 1
}

BOOST_AUTO_TEST_CASE(a_connection_lost_before_delivery_is_retried) {
  fake_cluster c;
  c.close_after_send = 2;
  kv_client k(options(), c.factory(), c.clock());
  auto r = k.put("a", "1");
  BOOST_TEST(r.outcome == kv_outcome::done);
  BOOST_TEST(c.applied == 1);
}

BOOST_AUTO_TEST_CASE(busy_backs_off_with_growing_pauses_then_succeeds) {
  fake_cluster c;
  c.busy_replies = 4;
  kv_client k(options(), c.factory(), c.clock());
  auto r = k.put("a", "1");
  BOOST_TEST(r.outcome == kv_outcome::done);
  BOOST_REQUIRE_EQUAL(c.sleeps.size(), 4u);
  BOOST_TEST(c.sleeps.back() > c.sleeps.front());
}

BOOST_AUTO_TEST_CASE(busy_until_the_timeout_is_a_definite_failure) {
  fake_cluster c;
  c.busy_replies = 1'000'000;
  kv_client k(options(), c.factory(), c.clock());
  auto start = c.now;
  auto r = k.put("a", "1");
  BOOST_TEST(r.outcome == kv_outcome::failed);
  BOOST_TEST(r.code == client_error::busy);
  BOOST_TEST(c.applied == 0);
  BOOST_TEST((c.now - start) <= 5s);
  BOOST_TEST((c.now - start) >= 5s - 500ms);
}

BOOST_AUTO_TEST_CASE(no_reachable_node_is_a_definite_failure) {
  fake_cluster c;
  c.unreachable = {0, 1, 2};
  kv_client k(options(), c.factory(), c.clock());
  auto r = k.put("a", "1");
  BOOST_TEST(r.outcome == kv_outcome::failed);
  BOOST_TEST(r.message.find("connection refused") != std::string::npos);
  BOOST_TEST(r.attempts == 0u);
}

BOOST_AUTO_TEST_CASE(no_leader_until_the_timeout_is_a_definite_failure) {
  fake_cluster c;
  c.leader = -1;
  kv_client k(options(), c.factory(), c.clock());
  auto r = k.put("a", "1");
  BOOST_TEST(r.outcome == kv_outcome::failed);
  BOOST_TEST(r.code == client_error::unavailable);
  BOOST_TEST(c.sleeps.size() >= 3u);  // it backed off between rounds instead of spinning
}

BOOST_AUTO_TEST_CASE(a_request_sent_without_answer_until_the_timeout_is_unknown) {
  fake_cluster c;
  c.apply_nothing = true;
  kv_client k(options(), c.factory(), c.clock());
  auto r = k.put("a", "1");
  BOOST_TEST(r.outcome == kv_outcome::unknown);
  BOOST_TEST(r.message.find("unknown") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_refused_connection_fails_at_once) {
  fake_cluster c;
  c.refuse = true;
  kv_client k(options(), c.factory(), c.clock());
  auto r = k.get("a");
  BOOST_TEST(r.outcome == kv_outcome::failed);
  BOOST_TEST(r.message == "wrong client secret");
  BOOST_TEST(r.refused);
  BOOST_TEST(c.sleeps.empty());
}

BOOST_AUTO_TEST_CASE(get_cas_and_del_report_values_mismatches_and_absent_keys) {
  fake_cluster c;
  kv_client k(options(), c.factory(), c.clock());
  auto g = k.get("a");
  BOOST_TEST(g.outcome == kv_outcome::failed);
  BOOST_TEST(g.code == client_error::no_such_key);
  BOOST_TEST(k.cas("a", std::nullopt, "1").outcome == kv_outcome::done);  // expect absent
  auto m = k.cas("a", std::nullopt, "2");
  BOOST_TEST(m.outcome == kv_outcome::failed);
  BOOST_TEST(m.code == client_error::cas_mismatch);
  BOOST_TEST(*m.value == "1");
  BOOST_TEST(k.cas("a", std::string("1"), "3").outcome == kv_outcome::done);
  g = k.get("a");
  BOOST_TEST(g.outcome == kv_outcome::done);
  BOOST_TEST(*g.value == "3");
  BOOST_TEST(k.del("a").outcome == kv_outcome::done);
  auto d = k.del("a");
  BOOST_TEST(d.outcome == kv_outcome::failed);
  BOOST_TEST(d.code == client_error::no_such_key);
}

BOOST_AUTO_TEST_CASE(reads_do_not_use_up_sequence_numbers) {
  fake_cluster c;
  kv_client k(options(), c.factory(), c.clock());
  BOOST_TEST(k.get("a").outcome == kv_outcome::failed);  // absent
  auto p = k.put("a", "1");
  BOOST_TEST(p.outcome == kv_outcome::done);
  BOOST_TEST(p.sequence == 1u);  // the session opens with the first write
  BOOST_TEST(k.get("a").sequence == 1u);
  BOOST_TEST(k.put("a", "2").sequence == 2u);
}

BOOST_AUTO_TEST_CASE(range_and_changes_are_reads_and_txn_is_a_write) {
  BOOST_TEST(troupe::client::is_read(troupe::wire::kv_range{}));
  BOOST_TEST(troupe::client::is_read(troupe::wire::kv_changes{}));
  BOOST_TEST(troupe::client::is_read(troupe::wire::kv_get{}));
  BOOST_TEST(!troupe::client::is_read(troupe::wire::kv_txn{}));
  BOOST_TEST(!troupe::client::is_read(troupe::wire::kv_put{}));
  fake_cluster c;
  kv_client k(options(), c.factory(), c.clock());
  BOOST_TEST(k.put("a", "1").sequence == 1u);
  auto rg = k.range({"", true});
  BOOST_TEST(rg.outcome == kv_outcome::done);
  BOOST_TEST(rg.sequence == 1u);  // reused, not taken
  BOOST_TEST(std::get<troupe::wire::kv_range_result>(rg.body).entries.size() == 1u);
  troupe::wire::kv_changes ch;
  ch.prefix = true;
  ch.from_revision = 1;
  auto cr = k.changes(ch);
  BOOST_TEST(cr.outcome == kv_outcome::done);
  BOOST_TEST(cr.sequence == 1u);
  BOOST_TEST(std::get<troupe::wire::kv_changes_result>(cr.body).events.size() == 1u);
  BOOST_TEST(k.put("b", "2").sequence == 2u);  // the next write is 2: no gap left by the reads
  BOOST_TEST(c.applied == 2);
}

BOOST_AUTO_TEST_CASE(a_kv_session_read_is_refused_without_sending_since_no_index_travels) {
  // KvGet, KvRange and KvChanges carry no minIndex: a node would serve `session` like `stale`
  // (docs/consistency.md), which is weaker than what the caller asked for.
  fake_cluster c;
  kv_client k(options(), c.factory(), c.clock());
  BOOST_TEST(k.put("a", "1").outcome == kv_outcome::done);
  const auto sent = c.seen.size();
  auto g = k.get("a", troupe::wire::read_consistency::session);
  BOOST_TEST(g.outcome == kv_outcome::invalid);
  BOOST_TEST(g.message.find("session") != std::string::npos);
  BOOST_TEST(g.attempts == 0u);
  troupe::wire::kv_range rg{"", true};
  rg.consistency = troupe::wire::read_consistency::session;
  BOOST_TEST(k.range(rg).outcome == kv_outcome::invalid);
  troupe::wire::kv_changes ch;
  ch.consistency = troupe::wire::read_consistency::session;
  BOOST_TEST(k.changes(ch).outcome == kv_outcome::invalid);
  BOOST_TEST(c.seen.size() == sent);  // nothing went out
  BOOST_TEST(k.get("a", troupe::wire::read_consistency::stale).outcome == kv_outcome::done);
}

BOOST_AUTO_TEST_CASE(changes_from_a_compacted_revision_is_invalid_with_the_compacted_revision) {
  fake_cluster c;
  kv_client k(options(), c.factory(), c.clock());
  c.compacted = 4;
  troupe::wire::kv_changes ch;
  ch.from_revision = 3;
  auto r = k.changes(ch);
  BOOST_TEST(r.outcome == kv_outcome::invalid);
  const auto& body = std::get<troupe::wire::kv_changes_result>(r.body);
  BOOST_TEST(body.compacted);
  BOOST_TEST(body.compacted_revision == 4u);
}

BOOST_AUTO_TEST_CASE(a_forgotten_session_goes_on_under_a_new_client_id) {
  fake_cluster c;
  kv_client k(options(), c.factory(), c.clock());
  BOOST_TEST(k.put("a", "1").outcome == kv_outcome::done);
  auto old_id = k.client_id();
  c.sessions.clear();  // e.g. evicted
  auto r = k.put("a", "2");
  BOOST_TEST(r.outcome == kv_outcome::done);
  BOOST_TEST(k.client_id() != old_id);
  BOOST_TEST(r.sequence == 1u);
  BOOST_TEST(c.store["a"] == "2");
}

BOOST_AUTO_TEST_CASE(a_forgotten_session_after_a_lost_reply_is_unknown) {
  fake_cluster c;
  kv_client k(options(), c.factory(), c.clock());
  BOOST_TEST(k.put("a", "1").outcome == kv_outcome::done);
  c.close_after_send = 1;  // the first copy is lost on the way...
  c.sessions.clear();      // ...and the session is gone when the retry arrives
  auto r = k.put("a", "2");
  BOOST_TEST(r.outcome == kv_outcome::unknown);
}

BOOST_AUTO_TEST_CASE(each_session_has_its_own_random_client_id) {
  fake_cluster c;
  auto o = options();
  kv_client a(o, c.factory(), c.clock());
  kv_client b(o, c.factory(), c.clock());
  BOOST_TEST(a.client_id() != 0u);
  BOOST_TEST(a.client_id() != b.client_id());
}

BOOST_AUTO_TEST_SUITE_END()
