/// `troupe bench kv` options: the anchor's levels by default, --scale on every op count, and one-line
/// errors for bad values.
#include <boost/test/unit_test.hpp>

#include "runtime/client/bench/bench_options.hpp"

using troupe::client::bench::parse_bench_options;

namespace {

std::string error_of(std::vector<std::string> words) {
  auto o = parse_bench_options(words);
  BOOST_REQUIRE(!o);
  return o.err().message;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bench_options)

BOOST_AUTO_TEST_CASE(defaults_are_the_etcd_anchors_levels) {
  auto o = parse_bench_options({});
  BOOST_REQUIRE(o);
  BOOST_TEST(o->endpoints.empty());  // start a local cluster
  BOOST_REQUIRE_EQUAL(o->puts.size(), 4u);
  BOOST_TEST(o->puts[0].clients == 1);
  BOOST_TEST(o->puts[0].ops == 30000u);
  BOOST_TEST(o->puts[3].clients == 256);
  BOOST_TEST(o->puts[3].ops == 120000u);
  BOOST_TEST(o->gets.clients == 64);
  BOOST_TEST(o->gets.ops == 100000u);
  BOOST_TEST(o->keyspace == 100000u);
  BOOST_TEST(o->preload_clients == 16);
  BOOST_TEST(o->value_bytes == 256u);
  BOOST_TEST(o->event_loop);  // all clients on one event loop unless --driver=threads
}

BOOST_AUTO_TEST_CASE(the_driver_is_the_event_loop_or_one_thread_per_client) {
  auto threads = parse_bench_options({"--driver=threads"});
  BOOST_REQUIRE(threads);
  BOOST_TEST(!threads->event_loop);
  auto loop = parse_bench_options({"--driver=loop"});
  BOOST_REQUIRE(loop);
  BOOST_TEST(loop->event_loop);
  BOOST_TEST(error_of({"--driver=fibers"}).find("--driver") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(scale_multiplies_every_op_count_and_levels_can_be_chosen) {
  auto o = parse_bench_options({"--scale=0.1", "--put-levels=2:1000,8:50"});
  BOOST_REQUIRE(o);
  BOOST_REQUIRE_EQUAL(o->puts.size(), 2u);
  BOOST_TEST(o->puts[0].clients == 2);
  BOOST_TEST(o->puts[0].ops == 100u);
  BOOST_TEST(o->puts[1].ops == 5u);
  BOOST_TEST(o->gets.ops == 10000u);
  auto tiny = parse_bench_options({"--scale=0.00001"});
  BOOST_REQUIRE(tiny);
  BOOST_TEST(tiny->puts[0].ops == 1u);  // never zero

  auto attach = parse_bench_options({"--endpoints=127.0.0.1:7101,127.0.0.1:7102", "--server-pids=12,34"});
  BOOST_REQUIRE(attach);
  BOOST_TEST(attach->endpoints.size() == 2u);
  BOOST_TEST(attach->server_pids.size() == 2u);
}

BOOST_AUTO_TEST_CASE(bad_values_are_one_line_errors_naming_the_option) {
  BOOST_TEST(error_of({"--scale=x"}).find("--scale") != std::string::npos);
  BOOST_TEST(error_of({"--scale=0"}).find("--scale") != std::string::npos);
  BOOST_TEST(error_of({"--put-levels=64"}).find("--put-levels") != std::string::npos);
  BOOST_TEST(error_of({"--put-levels=0:10"}).find("--put-levels") != std::string::npos);
  BOOST_TEST(error_of({"--server-pids=12"}).find("--endpoints") != std::string::npos);
  BOOST_TEST(error_of({"--endpoints=127.0.0.1:1", "--server-pids=x"}).find("--server-pids") != std::string::npos);
  BOOST_TEST(error_of({"--get-clients=0"}).find("--get-clients") != std::string::npos);
  BOOST_TEST(error_of({"--frob"}).find("frob") != std::string::npos);
  BOOST_TEST(error_of({"extra"}).size() > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
