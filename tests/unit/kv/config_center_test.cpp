// The config center through kv_state_machine's bytes: revisions in replies, prefix listing with
// paging, multi-key transactions (compare then write, atomically, one revision), changes since a
// revision (the basis of watch) and the clear error once that revision is compacted away.
#include <boost/test/unit_test.hpp>

#include "examples/kv/kv_state_machine.hpp"
#include "tests/unit/kv/kv_wire.hpp"

namespace troupe::kv {
namespace {

using namespace troupe::kv::test;
using wire::client_error;
using wire::compare_op;
using wire::compare_target;

struct fixture {
  kv_state_machine sm;
  std::uint64_t index = 0;
  std::uint64_t seq = 0;
  explicit fixture(kv_options o = {}) : sm(o) {}
  wire::client_reply write(decltype(wire::client_request::body) body) {
    return reply_of(sm.apply(++index, request_bytes(1, ++seq, std::move(body))));
  }
  wire::client_reply read(decltype(wire::client_request::body) body) const {
    return reply_of(sm.query(request_bytes(2, 1, std::move(body))));
  }
  wire::kv_range_result range(std::string key, bool prefix, std::string after = {}, std::uint32_t limit = 0) const {
    auto r = read(wire::kv_range{std::move(key), prefix, std::move(after), limit, false,
                                 wire::read_consistency::linearizable});
    BOOST_REQUIRE((r.error == client_error::ok));
    return std::get<wire::kv_range_result>(r.body);
  }
  wire::client_reply changes(std::string key, bool prefix, std::uint64_t from, std::uint32_t limit = 0) const {
    return read(wire::kv_changes{std::move(key), prefix, from, limit, wire::read_consistency::linearizable});
  }
  wire::kv_txn_result txn(wire::kv_txn t) {
    auto r = write(std::move(t));
    BOOST_REQUIRE_MESSAGE((r.error == client_error::ok), r.error_message);
    return std::get<wire::kv_txn_result>(r.body);
  }
};

wire::kv_compare cmp(std::string key, compare_target target, compare_op op, std::string value, std::uint64_t n = 0) {
  return wire::kv_compare{std::move(key), op, target, std::move(value), n};
}

BOOST_AUTO_TEST_SUITE(config_center)

BOOST_AUTO_TEST_CASE(a_range_reads_one_key_or_a_prefix_with_revisions) {
  fixture f;
  (void)f.write(wire::kv_put{"app/db", "pg"});   // revision 1
  (void)f.write(wire::kv_put{"app/port", "80"});  // 2
  (void)f.write(wire::kv_put{"app/db", "my"});   // 3
  (void)f.write(wire::kv_put{"other", "x"});     // 4
  auto all = f.range("app/", true);
  BOOST_TEST(all.revision == 4u);
  BOOST_REQUIRE(all.entries.size() == 2u);
  BOOST_TEST((all.entries[0] == wire::kv_entry{"app/db", "my", 1, 3, 2}));
  BOOST_TEST((all.entries[1] == wire::kv_entry{"app/port", "80", 2, 2, 1}));
  auto one = f.range("app/port", false);
  BOOST_REQUIRE(one.entries.size() == 1u);
  BOOST_TEST(f.range("app/", false).entries.empty());  // not a prefix: no key is exactly "app/"
  BOOST_TEST(f.range("", true).entries.size() == 3u);   // the empty prefix lists everything
  auto first = f.range("app/", true, "", 1);
  BOOST_TEST(first.more);
  auto rest = f.range("app/", true, first.entries.back().key, 1);
  BOOST_REQUIRE(rest.entries.size() == 1u);
  BOOST_TEST(rest.entries[0].key == "app/port");
  BOOST_TEST(!rest.more);
  auto empty_key = f.read(wire::kv_range{"", false, "", 0, false, wire::read_consistency::linearizable});
  BOOST_TEST((empty_key.error == client_error::invalid_request));
}

BOOST_AUTO_TEST_CASE(a_range_is_bounded_by_the_servers_maximum) {
  kv_options o;
  o.max_range_entries = 3;
  fixture f(o);
  for (int i = 0; i < 5; ++i) (void)f.write(wire::kv_put{"k" + std::to_string(i), "v"});
  auto r = f.range("k", true, "", 100);
  BOOST_TEST(r.entries.size() == 3u);
  BOOST_TEST(r.more);
}

BOOST_AUTO_TEST_CASE(a_txn_whose_compares_hold_runs_success_atomically_as_one_revision) {
  fixture f;
  (void)f.write(wire::kv_put{"a", "1"});  // 1
  (void)f.write(wire::kv_put{"b", "1"});  // 2
  auto r = f.txn(wire::kv_txn{{cmp("a", compare_target::value, compare_op::equal, "1"),
                               cmp("b", compare_target::mod_revision, compare_op::equal, "", 2),
                               cmp("new", compare_target::version, compare_op::equal, "", 0)},
                              {wire::kv_put{"a", "2"}, wire::kv_del{"b"}, wire::kv_put{"new", "n"},
                               wire::kv_get{"a", wire::read_consistency::linearizable}},
                              {wire::kv_put{"failed", "yes"}}});
  BOOST_TEST(r.succeeded);
  BOOST_TEST(r.revision == 3u);
  BOOST_REQUIRE(r.results.size() == 4u);
  BOOST_TEST(std::holds_alternative<std::monostate>(r.results[0]));
  BOOST_TEST(std::get<wire::del_result>(r.results[1]).existed);
  const auto& got = std::get<wire::kv_txn_get_result>(r.results[3]);
  BOOST_TEST(got.found);
  BOOST_TEST((got.entry == wire::kv_entry{"a", "2", 1, 3, 2}));  // sees the branch's own put
  auto changes = std::get<wire::kv_changes_result>(f.changes("", true, 3).body);
  BOOST_TEST(changes.events.size() == 3u);  // three changes, all at revision 3
  for (const auto& e : changes.events) BOOST_TEST(e.revision == 3u);
  BOOST_TEST(f.range("failed", false).entries.empty());
}

BOOST_AUTO_TEST_CASE(a_txn_whose_compare_fails_runs_failure_and_writes_nothing_else) {
  fixture f;
  (void)f.write(wire::kv_put{"leader", "n1"});
  auto r = f.txn(wire::kv_txn{{cmp("leader", compare_target::create_revision, compare_op::equal, "", 0)},
                              {wire::kv_put{"leader", "n2"}},
                              {wire::kv_get{"leader", wire::read_consistency::linearizable}}});
  BOOST_TEST(!r.succeeded);
  BOOST_TEST(r.revision == 1u);  // a read-only branch takes no revision
  BOOST_TEST(std::get<wire::kv_txn_get_result>(r.results[0]).entry.value == "n1");
  BOOST_TEST(f.range("leader", false).entries[0].value == "n1");
}

BOOST_AUTO_TEST_CASE(every_compare_operator_and_target) {
  fixture f;
  (void)f.write(wire::kv_put{"k", "m"});  // create 1, mod 1, version 1
  (void)f.write(wire::kv_put{"k", "m"});  // mod 2, version 2
  auto holds = [&](wire::kv_compare c) { return f.txn(wire::kv_txn{{std::move(c)}, {}, {}}).succeeded; };
  BOOST_TEST(holds(cmp("k", compare_target::value, compare_op::less, "n")));
  BOOST_TEST(!holds(cmp("k", compare_target::value, compare_op::greater, "n")));
  BOOST_TEST(holds(cmp("k", compare_target::value, compare_op::not_equal, "x")));
  BOOST_TEST(holds(cmp("k", compare_target::version, compare_op::equal, "", 2)));
  BOOST_TEST(holds(cmp("k", compare_target::version, compare_op::greater, "", 1)));
  BOOST_TEST(holds(cmp("k", compare_target::create_revision, compare_op::less, "", 2)));
  BOOST_TEST(holds(cmp("k", compare_target::mod_revision, compare_op::equal, "", 2)));
  // An absent key: numbers are 0, and no value compare holds, not even not_equal.
  BOOST_TEST(holds(cmp("none", compare_target::version, compare_op::equal, "", 0)));
  BOOST_TEST(!holds(cmp("none", compare_target::value, compare_op::not_equal, "x")));
  BOOST_TEST(!holds(cmp("none", compare_target::value, compare_op::equal, "")));
}

BOOST_AUTO_TEST_CASE(a_txn_over_the_limits_or_writing_a_key_twice_is_invalid) {
  kv_options o;
  o.max_txn_operations = 2;
  o.max_read_reply_bytes = 100;
  fixture f(o);
  auto twice = f.write(wire::kv_txn{{}, {wire::kv_put{"a", "1"}, wire::kv_del{"a"}}, {}});
  BOOST_TEST((twice.error == client_error::invalid_request));
  auto many = f.write(wire::kv_txn{{}, {}, {wire::kv_put{"a", "1"}, wire::kv_put{"b", "1"}, wire::kv_put{"c", "1"}}});
  BOOST_TEST((many.error == client_error::invalid_request));
  auto empty_key = f.write(wire::kv_txn{{cmp("", compare_target::version, compare_op::equal, "")}, {}, {}});
  BOOST_TEST((empty_key.error == client_error::invalid_request));
  (void)f.write(wire::kv_put{"big", std::string(90, 'x')});
  auto big_read = f.write(wire::kv_txn{{}, {wire::kv_get{"big", wire::read_consistency::linearizable},
                                            wire::kv_put{"big2", std::string(90, 'y')}}, {}});
  BOOST_TEST((big_read.error == client_error::ok));  // 93 bytes read
  auto too_much = f.write(wire::kv_txn{{}, {wire::kv_put{"big", std::string(200, 'z')},
                                            wire::kv_get{"big", wire::read_consistency::linearizable}}, {}});
  BOOST_TEST((too_much.error == client_error::invalid_request));  // its own put would be read back
  BOOST_TEST(f.range("big", false).entries[0].value == std::string(90, 'x'));
  BOOST_TEST(f.sm.store().revision() == 2u);
}

BOOST_AUTO_TEST_CASE(a_txn_retry_gets_the_first_result_not_a_second_run) {
  fixture f;
  const wire::kv_txn create{{cmp("once", compare_target::version, compare_op::equal, "", 0)},
                            {wire::kv_put{"once", "1"}},
                            {}};
  const auto bytes = request_bytes(7, 1, create);
  const auto first = f.sm.apply(++f.index, bytes);
  const auto retry = f.sm.apply(++f.index, bytes);
  BOOST_TEST(first == retry);
  BOOST_TEST(std::get<wire::kv_txn_result>(reply_of(retry).body).succeeded);
}

BOOST_AUTO_TEST_CASE(changes_since_a_revision_are_complete_ordered_and_pageable) {
  fixture f;
  (void)f.write(wire::kv_put{"cfg/a", "1"});  // 1
  (void)f.write(wire::kv_put{"x", "1"});      // 2
  (void)f.write(wire::kv_del{"cfg/a"});       // 3
  (void)f.write(wire::kv_put{"cfg/b", "2"});  // 4
  auto r = f.changes("cfg/", true, 1);
  BOOST_TEST((r.error == client_error::ok));
  const auto& c = std::get<wire::kv_changes_result>(r.body);
  BOOST_REQUIRE(c.events.size() == 3u);
  BOOST_TEST((c.events[0] == wire::kv_event{1, wire::kv_event_kind::put, "cfg/a", "1", 1, 1}));
  BOOST_TEST((c.events[1] == wire::kv_event{3, wire::kv_event_kind::del, "cfg/a", "", 1, 0}));
  BOOST_TEST(c.events[2].key == "cfg/b");
  BOOST_TEST(c.next_revision == 5u);
  BOOST_TEST(c.revision == 4u);
  // Paging with next_revision: no gap, no duplicate.
  std::vector<std::uint64_t> seen;
  std::uint64_t from = 1;
  for (int pages = 0; pages < 10; ++pages) {
    const auto page = std::get<wire::kv_changes_result>(f.changes("", true, from, 1).body);
    for (const auto& e : page.events) seen.push_back(e.revision);
    from = page.next_revision;
    if (!page.more) break;
  }
  BOOST_TEST((seen == std::vector<std::uint64_t>{1, 2, 3, 4}));
  BOOST_TEST(from == 5u);
  const auto now = std::get<wire::kv_changes_result>(f.changes("cfg/", true, 0).body);
  BOOST_TEST(now.events.empty());
  BOOST_TEST(now.next_revision == 5u);
}

BOOST_AUTO_TEST_CASE(changes_from_a_compacted_revision_get_a_clear_error) {
  kv_options o;
  o.history.retention_revisions = 2;
  fixture f(o);
  for (int i = 0; i < 5; ++i) (void)f.write(wire::kv_put{"k", std::to_string(i)});  // revisions 1..5
  auto gone = f.changes("k", false, 3);
  BOOST_TEST((gone.error == client_error::invalid_request));
  BOOST_TEST(gone.error_message.find("compacted") != std::string::npos);
  const auto& c = std::get<wire::kv_changes_result>(gone.body);
  BOOST_TEST(c.compacted);
  BOOST_TEST(c.compacted_revision == 3u);
  BOOST_TEST(c.events.empty());
  auto kept = f.changes("k", false, 4);
  BOOST_TEST((kept.error == client_error::ok));
  BOOST_TEST(std::get<wire::kv_changes_result>(kept.body).events.size() == 2u);
}

BOOST_AUTO_TEST_CASE(reads_and_writes_in_the_wrong_call_are_invalid) {
  fixture f;
  auto range_in_apply = f.write(wire::kv_range{"k", false, "", 0, false, wire::read_consistency::linearizable});
  BOOST_TEST((range_in_apply.error == client_error::invalid_request));
  auto txn_in_query = f.read(wire::kv_txn{{}, {wire::kv_put{"a", "1"}}, {}});
  BOOST_TEST((txn_in_query.error == client_error::invalid_request));
  BOOST_TEST(f.sm.store().revision() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::kv
