// The service host: routing by name, the generic client sessions (Raft thesis §6.3), the key-value
// fallback, and refusals that are the same on every replica.
#define BOOST_TEST_MODULE replicated
#include <boost/test/unit_test.hpp>

#include <span>

#include "actors/replicated/service_host.hpp"
#include "consensus/core/snapshot_bytes.hpp"
#include "examples/counter/counter_service.hpp"
#include "examples/kv/kv_state_machine.hpp"
#include "runtime/wire/client_codec.hpp"
#include "tests/support/journal_machine.hpp"

using namespace troupe;
using replicated::service_host;

namespace {

std::string bytes_of(const wire::client_request& r) {
  const auto m = wire::encode(r);
  const auto b = m.bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

wire::client_reply reply_of(const std::string& bytes) {
  auto m = wire::message::parse(std::as_bytes(std::span(bytes.data(), bytes.size())));
  BOOST_REQUIRE(m.ok());
  auto r = wire::decode_client_reply(*m);
  BOOST_REQUIRE(r.ok());
  return *r;
}

std::string app(std::uint64_t client, std::uint64_t seq, std::string service, wire::app_call call,
                std::string payload) {
  wire::client_request r;
  r.client_id = client;
  r.sequence = seq;
  r.group_id = 1;
  r.body = wire::app_request{std::move(service), call, std::move(payload), wire::read_consistency::linearizable, 0};
  return bytes_of(r);
}

std::string incr(std::uint64_t client, std::uint64_t seq, const std::string& name, std::int64_t by) {
  return app(client, seq, "counter", wire::app_call::command, counter::incr_command(name, by));
}

std::string get(const std::string& name) {
  return app(9, 1, "counter", wire::app_call::query, counter::get_query(name));
}

std::unique_ptr<service_host> make_host(replicated::host_options o = {}) {
  auto h = std::make_unique<service_host>(std::make_unique<kv::kv_state_machine>(), o);
  h->add("counter", std::make_unique<counter::counter_service>());
  return h;
}

std::string payload(const std::string& reply_bytes) {
  auto r = reply_of(reply_bytes);
  BOOST_REQUIRE_MESSAGE(r.error == wire::client_error::ok, r.error_message);
  return std::get<wire::app_reply>(r.body).payload;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_command_reaches_its_service_once_and_a_retry_gets_the_first_answer) {
  auto h = make_host();
  auto first = h->apply(1, incr(7, 1, "a", 5));
  BOOST_TEST(payload(first) == "5");
  BOOST_TEST(std::get<wire::app_reply>(reply_of(first).body).index == 1u);
  // The same (client, sequence) again, later in the log (a retry, a network copy): byte for byte
  // the first answer, nothing applied.
  BOOST_TEST(h->apply(2, incr(7, 1, "a", 5)) == first);
  BOOST_TEST(payload(h->query(get("a"))) == "5");
  BOOST_TEST(h->stats().applied == 1u);
  BOOST_TEST(h->stats().duplicates == 1u);
  // The next sequence applies; an older one is refused and applies nothing.
  BOOST_TEST(payload(h->apply(3, incr(7, 2, "a", 1))) == "6");
  auto old = reply_of(h->apply(4, incr(7, 1, "a", 5)));
  BOOST_TEST((old.error == wire::client_error::invalid_request));
  BOOST_TEST(payload(h->query(get("a"))) == "6");
  // A query's answer carries the applied index it reflects.
  BOOST_TEST(std::get<wire::app_reply>(reply_of(h->query(get("a"))).body).index == 4u);
}

BOOST_AUTO_TEST_CASE(an_unknown_session_beyond_its_first_request_is_expired) {
  auto h = make_host();
  auto r = reply_of(h->apply(1, incr(8, 3, "a", 1)));
  BOOST_TEST((r.error == wire::client_error::session_expired));
  BOOST_TEST(payload(h->query(get("a"))) == "0");
}

BOOST_AUTO_TEST_CASE(refusals_are_values_and_a_services_refusal_is_recorded_in_the_session) {
  auto h = make_host();
  auto none = reply_of(h->apply(1, app(1, 1, "nope", wire::app_call::command, "x")));
  BOOST_TEST((none.error == wire::client_error::invalid_request));
  BOOST_TEST(none.error_message.find("no service named 'nope'") != std::string::npos);
  auto query_as_command = reply_of(h->apply(2, app(1, 1, "counter", wire::app_call::query, "get a")));
  BOOST_TEST((query_as_command.error == wire::client_error::invalid_request));
  auto command_as_query = reply_of(h->query(app(1, 1, "counter", wire::app_call::command, "incr 1 a")));
  BOOST_TEST((command_as_query.error == wire::client_error::invalid_request));
  auto zero = reply_of(h->apply(3, app(0, 1, "counter", wire::app_call::command, "incr 1 a")));
  BOOST_TEST((zero.error == wire::client_error::invalid_request));
  // A command the service refuses consumes its sequence: a retry gets the same refusal.
  auto bad = h->apply(4, app(1, 1, "counter", wire::app_call::command, "incr lots a"));
  BOOST_TEST((reply_of(bad).error == wire::client_error::invalid_request));
  BOOST_TEST(h->apply(5, app(1, 1, "counter", wire::app_call::command, "incr lots a")) == bad);
  // Garbage bytes and a re-applied index: refused, never a throw.
  BOOST_TEST((reply_of(h->apply(6, std::string("\x01\x02garbage", 9))).error == wire::client_error::invalid_request));
  BOOST_TEST((reply_of(h->apply(6, incr(2, 1, "a", 1))).error == wire::client_error::internal));
  BOOST_TEST(payload(h->query(get("a"))) == "0");
}

BOOST_AUTO_TEST_CASE(key_value_requests_go_to_the_fallback_unchanged) {
  auto h = make_host();
  wire::client_request put;
  put.client_id = 3;
  put.sequence = 1;
  put.body = wire::kv_put{"k", "v"};
  BOOST_TEST((reply_of(h->apply(1, bytes_of(put))).error == wire::client_error::ok));
  BOOST_TEST(payload(h->apply(2, incr(4, 1, "a", 2))) == "2");
  wire::client_request g;
  g.client_id = 3;
  g.sequence = 1;
  g.body = wire::kv_get{"k", wire::read_consistency::linearizable};
  auto got = reply_of(h->query(bytes_of(g)));
  BOOST_TEST(std::get<wire::kv_value>(got.body).value == "v");
  BOOST_TEST(h->stats().delegated == 1u);
  BOOST_TEST(h->applied_index() == 2u);
  // Without a fallback, key-value requests are refused.
  service_host bare;
  BOOST_TEST((reply_of(bare.apply(1, bytes_of(put))).error == wire::client_error::invalid_request));
}

BOOST_AUTO_TEST_CASE(a_snapshot_carries_sessions_services_and_kv_and_damage_changes_nothing) {
  auto h = make_host();
  wire::client_request put;
  put.client_id = 3;
  put.sequence = 1;
  put.body = wire::kv_put{"k", "v"};
  (void)h->apply(1, bytes_of(put));
  const auto first = h->apply(2, incr(7, 1, "a", 5));
  (void)h->apply(3, incr(8, 1, "b", 2));
  const std::string image = h->snapshot();
  BOOST_TEST(h->snapshot() == image);  // deterministic

  auto r = make_host();
  BOOST_REQUIRE(r->restore(3, image).ok());
  BOOST_TEST(r->applied_index() == 3u);
  BOOST_TEST(r->snapshot() == image);
  BOOST_TEST(payload(r->query(get("a"))) == "5");
  BOOST_TEST(r->apply(4, incr(7, 1, "a", 5)) == first);  // the session survived: a retry is a duplicate
  BOOST_TEST(payload(r->query(get("a"))) == "5");
  wire::client_request g;
  g.body = wire::kv_get{"k", wire::read_consistency::linearizable};
  BOOST_TEST(std::get<wire::kv_value>(reply_of(r->query(bytes_of(g))).body).value == "v");

  // Damaged or foreign images are refused and change nothing.
  auto s = make_host();
  (void)s->apply(1, incr(9, 1, "a", 1));
  const std::string before = s->snapshot();
  for (std::size_t cut : {std::size_t{0}, std::size_t{8}, image.size() / 2, image.size() - 1}) {
    auto st = s->restore(10, std::string_view(image).substr(0, cut));
    BOOST_TEST(!st.ok(), "cut at " << cut);
    if (!st.ok()) BOOST_TEST((st.err().code == errc::corrupt));
  }
  BOOST_TEST(!s->restore(10, image + "x").ok());
  service_host other(std::make_unique<kv::kv_state_machine>());
  other.add("register", std::make_unique<counter::counter_service>());
  BOOST_TEST(!other.restore(1, image).ok());  // names a service not registered there
  BOOST_TEST(s->snapshot() == before);
  BOOST_TEST(s->applied_index() == 1u);
}

BOOST_AUTO_TEST_CASE(queries_are_counted) {
  auto h = make_host();
  (void)h->apply(1, incr(7, 1, "a", 5));
  BOOST_TEST(h->stats().queries == 0u);
  (void)h->query(get("a"));
  (void)h->query(app(1, 1, "nope", wire::app_call::query, "x"));  // refused: still a query
  BOOST_TEST(h->stats().queries == 2u);
}

BOOST_AUTO_TEST_CASE(an_image_that_names_a_service_twice_is_refused_and_changes_nothing) {
  // Every name is registered and every registered service has a part, but one has two: the
  // second part would be dropped silently (snapshot() writes each name once).
  auto make_two = [] {
    auto h = make_host();
    h->add("register", std::make_unique<counter::counter_service>());
    return h;
  };
  auto h = make_two();
  (void)h->apply(1, incr(7, 1, "a", 5));
  const auto counter_part = h->find("counter")->snapshot();
  raft::snapshot_writer out;
  out.u64(0x7472706873743031ULL);  // the host image's magic (service_host.cpp)
  out.u64(1);                      // applied index
  out.u64(0);                      // sessions
  out.u64(0);                      // evicted order
  out.u64(0);                      // evictions
  out.u64(3);                      // services: "counter" twice, then "register"
  for (int i = 0; i < 2; ++i) {
    out.bytes("counter");
    out.bytes(counter_part);
  }
  out.bytes("register");
  out.bytes(h->find("register")->snapshot());
  out.u64(1);  // the key-value part
  out.u64(h->fallback()->applied_index());
  out.bytes(h->fallback()->snapshot());
  auto r = make_two();
  const auto before = r->snapshot();
  auto st = r->restore(1, out.take());
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST((st.err().code == errc::corrupt));
  BOOST_TEST(st.err().message.find("twice") != std::string::npos, st.err().message);
  BOOST_TEST(r->snapshot() == before);
}

namespace {

/// The host image's layout (service_host.cpp) written field by field from the parts taken apart:
/// the oracle for the host, which writes the fallback's image in place behind a patched length.
std::string host_image_by_parts(const service_host& h, const std::vector<std::string>& names) {
  raft::snapshot_writer out;
  out.u64(0x7472706873743031ULL);
  out.u64(h.applied_index());
  out.u64(h.sessions().size());
  h.sessions().for_each([&](const replicated::session_table::entry_view& e) {
    out.u64(e.client);
    out.u64(e.sequence);
    out.u64(e.last_index);
    out.bytes(e.reply);
  });
  out.u64(h.sessions().evicted_order().size());
  for (std::uint64_t c : h.sessions().evicted_order()) out.u64(c);
  out.u64(h.sessions().evictions());
  out.u64(names.size());
  for (const auto& name : names) {
    out.bytes(name);
    out.bytes(h.find(name)->snapshot());
  }
  out.u64(h.fallback() ? 1 : 0);
  if (h.fallback()) {
    out.u64(h.fallback()->applied_index());
    out.bytes(h.fallback()->snapshot());
  }
  return out.take();
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_key_value_image_is_embedded_in_place_byte_for_byte_and_sized_in_advance) {
  auto h = make_host();
  for (std::uint64_t i = 1; i <= 40; ++i) {
    wire::client_request put;
    put.client_id = 3;
    put.sequence = i;
    put.body = wire::kv_put{"key" + std::to_string(i % 7), std::string(i * 13, 'v')};
    (void)h->apply(2 * i - 1, bytes_of(put));
    (void)h->apply(2 * i, incr(7 + i % 3, 1 + i / 3, "a", 1));
  }
  const std::string image = h->snapshot();
  BOOST_TEST(image == host_image_by_parts(*h, {"counter"}));
  // One allocation of the exact size, services included (libstdc++ reserves exactly what a fresh
  // string is asked for; a second allocation would have doubled the capacity).
  BOOST_TEST(image.capacity() == image.size());
  std::string behind = "xyz";
  h->append_snapshot(behind);
  BOOST_TEST(behind == "xyz" + image);
  auto r = make_host();
  BOOST_REQUIRE(r->restore(h->applied_index(), image).ok());
  BOOST_TEST(r->snapshot() == image);

  // A node's host serves key-value only: its size is exact, so the image is allocated once.
  service_host kv_only(std::make_unique<kv::kv_state_machine>());
  for (std::uint64_t i = 1; i <= 20; ++i) {
    wire::client_request put;
    put.client_id = 4;
    put.sequence = i;
    put.body = wire::kv_put{"k" + std::to_string(i), std::string(i * 31, 'w')};
    (void)kv_only.apply(i, bytes_of(put));
  }
  BOOST_TEST(kv_only.snapshot_size() == kv_only.snapshot().size());
  BOOST_TEST(kv_only.snapshot().capacity() == kv_only.snapshot().size());
  BOOST_TEST(kv_only.snapshot() == host_image_by_parts(kv_only, {}));

  // A fallback that only implements snapshot() is embedded through the defaults, same layout.
  service_host plain(std::make_unique<raft::test_support::journal>());
  (void)plain.fallback()->apply(1, "some state");
  BOOST_TEST(plain.snapshot() == host_image_by_parts(plain, {}));
  service_host plain2(std::make_unique<raft::test_support::journal>());
  BOOST_REQUIRE(plain2.restore(1, plain.snapshot()).ok());
  BOOST_TEST(plain2.fallback()->snapshot() == "some state;");
}
