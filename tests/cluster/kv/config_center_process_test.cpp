// The config center's protocol through real `troupe node`s: a transaction proposed through Raft
// (and its retry answered from the session table), a prefix range and the changes since a revision
// read back through the read path (examples/kv/README.md).
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "tests/cluster/kv/kv_cluster.hpp"

using namespace std::chrono_literals;
using troupe::test::kv::kv_cluster;
namespace wire = troupe::wire;

namespace {

/// Sends `request` to the current leader until a node answers other than not_leader / unavailable
/// (the same client id and sequence every time: a retry is applied at most once).
wire::client_reply call_leader(const kv_cluster& c, const wire::client_request& request) {
  const auto deadline = std::chrono::steady_clock::now() + troupe::test::kv::hang_deadline;
  while (std::chrono::steady_clock::now() < deadline) {
    const int leader = c.wait_for_leader();
    auto link = c.client_factory()(c.addr(leader), request.client_id, 5s);
    if (!link) continue;
    auto reply = (*link)->call(request, 5s);
    if (!reply) continue;
    if (reply->error == wire::client_error::not_leader || reply->error == wire::client_error::unavailable) continue;
    return *reply;
  }
  BOOST_FAIL("no node answered within the hang deadline");
  return {};
}

wire::client_request request(std::uint64_t seq, decltype(wire::client_request::body) body) {
  wire::client_request r;
  r.client_id = 0x5eed;
  r.sequence = seq;
  r.group_id = 1;
  r.body = std::move(body);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_transaction_range_and_changes_go_through_a_real_cluster) {
  kv_cluster c;
  c.start_all();
  const wire::kv_txn create{{wire::kv_compare{"cfg/mode", wire::compare_op::equal, wire::compare_target::version, "", 0}},
                            {wire::kv_put{"cfg/mode", "blue"}, wire::kv_put{"cfg/port", "80"}},
                            {}};
  const auto first = call_leader(c, request(1, create));
  BOOST_REQUIRE_MESSAGE((first.error == wire::client_error::ok), first.error_message);
  const auto& txn = std::get<wire::kv_txn_result>(first.body);
  BOOST_TEST(txn.succeeded);
  BOOST_TEST(txn.revision >= 1u);
  // A retry of the same (client, sequence) gets the first answer, not a second run (which would
  // fail its compare now that the key exists).
  const auto retry = call_leader(c, request(1, create));
  BOOST_TEST((retry == first));

  const auto range = call_leader(
      c, request(1, wire::kv_range{"cfg/", true, "", 0, false, wire::read_consistency::linearizable}));
  BOOST_REQUIRE((range.error == wire::client_error::ok));
  const auto& entries = std::get<wire::kv_range_result>(range.body).entries;
  BOOST_REQUIRE(entries.size() == 2u);
  BOOST_TEST((entries[0] == wire::kv_entry{"cfg/mode", "blue", txn.revision, txn.revision, 1}));
  BOOST_TEST(entries[1].key == "cfg/port");

  const auto changes =
      call_leader(c, request(1, wire::kv_changes{"cfg/", true, 1, 0, wire::read_consistency::lease}));
  BOOST_REQUIRE((changes.error == wire::client_error::ok));
  const auto& page = std::get<wire::kv_changes_result>(changes.body);
  BOOST_REQUIRE(page.events.size() == 2u);
  BOOST_TEST(page.events[0].revision == txn.revision);
  BOOST_TEST(page.events[1].revision == txn.revision);  // one transaction, one revision
  BOOST_TEST(page.next_revision == txn.revision + 1);

  const wire::kv_txn swap{{wire::kv_compare{"cfg/mode", wire::compare_op::equal, wire::compare_target::value, "green", 0}},
                          {wire::kv_put{"cfg/mode", "red"}},
                          {wire::kv_get{"cfg/mode", wire::read_consistency::linearizable}}};
  const auto failed = call_leader(c, request(2, swap));
  BOOST_REQUIRE((failed.error == wire::client_error::ok));
  const auto& f = std::get<wire::kv_txn_result>(failed.body);
  BOOST_TEST(!f.succeeded);
  BOOST_REQUIRE(f.results.size() == 1u);
  BOOST_TEST(std::get<wire::kv_txn_get_result>(f.results[0]).entry.value == "blue");
}
