// kv_state_machine over wire bytes: every operation, client sessions through apply, limits, and bad
// input answered with an invalidRequest reply instead of a throw.
#include <boost/test/unit_test.hpp>

#include "examples/kv/kv_state_machine.hpp"
#include "tests/unit/kv/kv_wire.hpp"

namespace troupe::kv {
namespace {

using namespace troupe::kv::test;
using wire::client_error;

/// A state machine with a log index of its own, as the raft actor would drive it.
struct fixture {
  kv_state_machine sm;
  std::uint64_t index = 0;
  explicit fixture(kv_options o = {}) : sm(o) {}
  wire::client_reply apply(std::uint64_t client, std::uint64_t seq, decltype(wire::client_request::body) body) {
    return reply_of(sm.apply(++index, request_bytes(client, seq, std::move(body))));
  }
  wire::client_reply get(const std::string& key) const {
    return reply_of(sm.query(request_bytes(99, 1, wire::kv_get{key, wire::read_consistency::linearizable})));
  }
};

BOOST_AUTO_TEST_SUITE(kv_state_machine_tests)

BOOST_AUTO_TEST_CASE(put_then_get_returns_the_value_and_get_of_an_absent_key_says_so) {
  fixture f;
  auto r = f.apply(1, 1, wire::kv_put{"k", std::string("v\0x", 3)});
  BOOST_TEST((r.error == client_error::ok));
  BOOST_TEST(r.client_id == 1u);
  BOOST_TEST(r.sequence == 1u);
  BOOST_TEST(std::holds_alternative<std::monostate>(r.body));
  auto g = f.get("k");
  BOOST_TEST((g.error == client_error::ok));
  BOOST_TEST((std::get<wire::kv_value>(g.body) == wire::kv_value{true, std::string("v\0x", 3)}));
  auto absent = f.get("nope");
  BOOST_TEST((absent.error == client_error::no_such_key));
  BOOST_TEST(!std::get<wire::kv_value>(absent.body).found);
  BOOST_TEST(f.sm.applied_index() == 1u);
  BOOST_TEST(f.sm.store().revision() == 1u);
}

BOOST_AUTO_TEST_CASE(cas_swaps_only_on_the_expected_value_and_reports_the_current_one) {
  fixture f;
  (void)f.apply(1, 1, wire::kv_put{"k", "a"});
  auto miss = f.apply(1, 2, wire::kv_cas{"k", std::string("b"), "c"});
  BOOST_TEST((miss.error == client_error::cas_mismatch));
  BOOST_TEST((std::get<wire::cas_result>(miss.body) == wire::cas_result{false, std::string("a")}));
  auto hit = f.apply(1, 3, wire::kv_cas{"k", std::string("a"), "c"});
  BOOST_TEST((hit.error == client_error::ok));
  BOOST_TEST(std::get<wire::cas_result>(hit.body).succeeded);
  BOOST_TEST(std::get<wire::kv_value>(f.get("k").body).value == "c");
}

BOOST_AUTO_TEST_CASE(cas_expecting_absence_creates_once) {
  fixture f;
  auto created = f.apply(1, 1, wire::kv_cas{"lock", std::nullopt, "me"});
  BOOST_TEST((created.error == client_error::ok));
  auto again = f.apply(2, 1, wire::kv_cas{"lock", std::nullopt, "you"});
  BOOST_TEST((again.error == client_error::cas_mismatch));
  BOOST_TEST((std::get<wire::cas_result>(again.body).current == std::optional<std::string>("me")));
  // An expected value on an absent key: mismatch with no current value.
  auto absent = f.apply(2, 2, wire::kv_cas{"none", std::string(""), "x"});
  BOOST_TEST((absent.error == client_error::cas_mismatch));
  BOOST_TEST(!std::get<wire::cas_result>(absent.body).current.has_value());
}

BOOST_AUTO_TEST_CASE(del_reports_whether_the_key_existed) {
  fixture f;
  (void)f.apply(1, 1, wire::kv_put{"k", "v"});
  auto d = f.apply(1, 2, wire::kv_del{"k"});
  BOOST_TEST((d.error == client_error::ok));
  BOOST_TEST(std::get<wire::del_result>(d.body).existed);
  auto again = f.apply(1, 3, wire::kv_del{"k"});
  BOOST_TEST((again.error == client_error::ok));
  BOOST_TEST(!std::get<wire::del_result>(again.body).existed);
  BOOST_TEST((f.get("k").error == client_error::no_such_key));
}

BOOST_AUTO_TEST_CASE(a_duplicate_gets_the_first_reply_without_applying_again) {
  fixture f;
  (void)f.apply(1, 1, wire::kv_put{"n", "0"});
  const auto cas = wire::kv_cas{"n", std::string("0"), "1"};
  const auto first = f.sm.apply(++f.index, request_bytes(1, 2, cas));
  BOOST_TEST((f.sm.last_outcome() == apply_outcome::applied));
  (void)f.apply(2, 1, wire::kv_put{"other", "x"});  // other clients in between: a retry after a gap
  const auto retry = f.sm.apply(++f.index, request_bytes(1, 2, cas));
  BOOST_TEST((f.sm.last_outcome() == apply_outcome::duplicate));
  BOOST_TEST(retry == first);  // byte for byte: success, not a mismatch against its own write
  BOOST_TEST(std::get<wire::cas_result>(reply_of(retry).body).succeeded);
  BOOST_TEST(f.sm.store().find("n")->version == 2u);  // put + one cas
  BOOST_TEST(f.sm.stats().duplicates == 1u);
  BOOST_TEST(f.sm.applied_index() == f.index);
}

BOOST_AUTO_TEST_CASE(a_duplicate_put_does_not_overwrite_a_later_write_by_another_client) {
  fixture f;
  (void)f.apply(1, 1, wire::kv_put{"k", "from-1"});
  (void)f.apply(2, 1, wire::kv_put{"k", "from-2"});
  (void)f.apply(1, 1, wire::kv_put{"k", "from-1"});  // a delayed copy of client 1's request
  BOOST_TEST((f.sm.last_outcome() == apply_outcome::duplicate));
  BOOST_TEST(std::get<wire::kv_value>(f.get("k").body).value == "from-2");
}

BOOST_AUTO_TEST_CASE(an_older_sequence_is_refused_as_invalid_and_changes_nothing) {
  fixture f;
  (void)f.apply(1, 1, wire::kv_put{"k", "1"});
  (void)f.apply(1, 3, wire::kv_put{"k", "3"});  // a gap is fine
  auto old = f.apply(1, 2, wire::kv_put{"k", "2"});
  BOOST_TEST((f.sm.last_outcome() == apply_outcome::stale));
  BOOST_TEST((old.error == client_error::invalid_request));
  BOOST_TEST(old.sequence == 2u);
  BOOST_TEST(std::get<wire::kv_value>(f.get("k").body).value == "3");
  // The session is intact: the latest request is still answered from it.
  (void)f.apply(1, 3, wire::kv_put{"k", "3"});
  BOOST_TEST((f.sm.last_outcome() == apply_outcome::duplicate));
}

BOOST_AUTO_TEST_CASE(a_client_without_a_session_gets_session_expired) {
  kv_options o;
  o.sessions.max_sessions = 2;
  fixture f(o);
  auto unknown = f.apply(5, 4, wire::kv_put{"k", "v"});
  BOOST_TEST((unknown.error == client_error::session_expired));
  BOOST_TEST(f.sm.store().revision() == 0u);
  (void)f.apply(1, 1, wire::kv_put{"a", "1"});
  (void)f.apply(2, 1, wire::kv_put{"b", "1"});
  (void)f.apply(3, 1, wire::kv_put{"c", "1"});  // evicts client 1, the least recently used
  BOOST_TEST(f.sm.sessions().evictions() == 1u);
  auto retry = f.apply(1, 1, wire::kv_put{"a", "1"});
  BOOST_TEST((retry.error == client_error::session_expired));
  BOOST_TEST((f.sm.last_outcome() == apply_outcome::expired));
  BOOST_TEST(f.sm.store().find("a")->version == 1u);  // not applied a second time
  auto next = f.apply(1, 2, wire::kv_put{"a", "2"});
  BOOST_TEST((next.error == client_error::session_expired));
  BOOST_TEST(f.sm.store().revision() == 3u);
}

BOOST_AUTO_TEST_CASE(bad_bytes_get_an_invalid_request_reply_never_a_throw) {
  fixture f;
  for (std::string bytes : {std::string(), std::string("garbage"), std::string(64, '\xff'),
                            std::string(16, '\0')}) {
    auto r = reply_of(f.sm.apply(++f.index, bytes));
    BOOST_TEST((r.error == client_error::invalid_request));
    BOOST_TEST(!r.error_message.empty());
    BOOST_TEST((f.sm.last_outcome() == apply_outcome::invalid));
    BOOST_TEST((reply_of(f.sm.query(bytes)).error == client_error::invalid_request));
  }
  // A valid request cut short.
  auto whole = request_bytes(1, 1, wire::kv_put{"k", "v"});
  auto cut = reply_of(f.sm.apply(++f.index, whole.substr(0, whole.size() - 8)));
  BOOST_TEST((cut.error == client_error::invalid_request));
  BOOST_TEST(f.sm.applied_index() == f.index);  // consumed the index all the same
  BOOST_TEST(f.sm.store().revision() == 0u);
}

BOOST_AUTO_TEST_CASE(requests_of_the_wrong_call_are_invalid) {
  fixture f;
  auto get_in_apply = f.apply(1, 1, wire::kv_get{"k", wire::read_consistency::linearizable});
  BOOST_TEST((get_in_apply.error == client_error::invalid_request));
  auto ping_in_apply = f.apply(1, 2, wire::ping{1});
  BOOST_TEST((ping_in_apply.error == client_error::invalid_request));
  auto put_in_query = reply_of(f.sm.query(request_bytes(1, 3, wire::kv_put{"k", "v"})));
  BOOST_TEST((put_in_query.error == client_error::invalid_request));
  BOOST_TEST(f.sm.store().revision() == 0u);
  auto zero_client = f.apply(0, 1, wire::kv_put{"k", "v"});
  BOOST_TEST((zero_client.error == client_error::invalid_request));
  auto zero_seq = f.apply(1, 0, wire::kv_put{"k", "v"});
  BOOST_TEST((zero_seq.error == client_error::invalid_request));
  BOOST_TEST(f.sm.store().revision() == 0u);
}

BOOST_AUTO_TEST_CASE(oversized_and_empty_keys_and_values_are_refused) {
  kv_options o;
  o.max_key_bytes = 8;
  o.max_value_bytes = 16;
  fixture f(o);
  BOOST_TEST((f.apply(1, 1, wire::kv_put{std::string(9, 'k'), "v"}).error == client_error::invalid_request));
  BOOST_TEST((f.apply(1, 2, wire::kv_put{"k", std::string(17, 'v')}).error == client_error::invalid_request));
  BOOST_TEST((f.apply(1, 3, wire::kv_put{"", "v"}).error == client_error::invalid_request));
  BOOST_TEST((f.apply(1, 4, wire::kv_cas{"k", std::nullopt, std::string(17, 'v')}).error ==
              client_error::invalid_request));
  BOOST_TEST((f.apply(1, 5, wire::kv_del{std::string(9, 'k')}).error == client_error::invalid_request));
  BOOST_TEST((f.get(std::string(9, 'k')).error == client_error::invalid_request));
  BOOST_TEST(f.sm.store().revision() == 0u);
  BOOST_TEST((f.apply(1, 6, wire::kv_put{std::string(8, 'k'), std::string(16, 'v')}).error == client_error::ok));
  // A refusal is cached like any reply: its retry is answered the same without re-checking.
  BOOST_TEST((f.apply(1, 6, wire::kv_put{std::string(8, 'k'), std::string(16, 'v')}).error == client_error::ok));
  kv_options tiny;
  tiny.max_request_bytes = 64;
  fixture g(tiny);
  auto big = g.apply(1, 1, wire::kv_put{"k", std::string(100, 'v')});
  BOOST_TEST((big.error == client_error::invalid_request));
}

BOOST_AUTO_TEST_CASE(re_applying_an_index_changes_nothing) {
  fixture f;
  (void)f.apply(1, 1, wire::kv_put{"k", "v"});
  auto r = reply_of(f.sm.apply(f.index, request_bytes(1, 2, wire::kv_put{"k", "w"})));
  BOOST_TEST((r.error == client_error::internal));
  BOOST_TEST(std::get<wire::kv_value>(f.get("k").body).value == "v");
}

BOOST_AUTO_TEST_CASE(replicas_applying_the_same_commands_agree_byte_for_byte) {
  kv_options o;
  o.sessions.max_sessions = 3;
  kv_state_machine a(o), b(o);
  std::uint64_t index = 0;
  for (std::uint64_t i = 1; i <= 300; ++i) {
    const std::uint64_t client = i % 5 + 1;
    const std::uint64_t seq = i % 4 == 0 ? 1 : i / 5 + 1;  // a mix of fresh, duplicate, stale, expired
    const std::string key = "k" + std::to_string(i % 7);
    decltype(wire::client_request::body) body = wire::kv_put{key, std::to_string(i)};
    if (i % 3 == 0) body = wire::kv_cas{key, std::to_string(i - 3), std::to_string(i)};
    if (i % 11 == 0) body = wire::kv_del{key};
    const auto bytes = request_bytes(client, seq, body);
    ++index;
    BOOST_TEST(a.apply(index, bytes) == b.apply(index, bytes));
  }
  BOOST_TEST((a.store().data() == b.store().data()));
  BOOST_TEST(a.stats().applied == b.stats().applied);
  BOOST_TEST(a.sessions().evictions() > 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::kv
