#define BOOST_TEST_MODULE metrics_endpoint
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "runtime/metrics/buckets.hpp"
#include "runtime/metrics/http_endpoint.hpp"
#include "runtime/metrics/node_metrics.hpp"
#include "tests/support/process.hpp"

using namespace troupe::metrics;
namespace support = troupe::test;

namespace {

/// promtool from the build tree (scripts/install-deps.sh unpacks it there) or from PATH; empty if
/// neither has it.
std::string find_promtool() { return support::find_tool("promtool"); }

std::unique_ptr<http_endpoint> start_or_fail(
    const endpoint_options& options,
    std::vector<std::shared_ptr<const prometheus::Collectable>> c) {
  auto e = http_endpoint::start(options, std::move(c));
  BOOST_REQUIRE_MESSAGE(e.ok(), (e.ok() ? "" : e.err().message));
  return std::move(*e);
}

/// A node-like registry: a labelled counter, a gauge and a labelled histogram.
void populate(prometheus::Registry& registry) {
  auto& sent = prometheus::BuildCounter()
                   .Name("troupe_transport_sent_bytes_total")
                   .Help("Bytes sent to peers.")
                   .Register(registry);
  sent.Add({{"peer", "2"}, {"lane", "control"}}).Increment(1234);
  sent.Add({{"peer", "3"}, {"lane", "bulk"}}).Increment(99);
  prometheus::BuildGauge()
      .Name("troupe_raft_has_leader")
      .Help("1 if this node knows a leader, else 0.")
      .Register(registry)
      .Add({})
      .Set(1);
  auto& fsync = prometheus::BuildHistogram()
                    .Name("troupe_storage_fsync_duration_seconds")
                    .Help("Time to fsync the log.")
                    .Register(registry)
                    .Add({{"db", "log"}}, latency_buckets_seconds());
  for (double v : {0.0002, 0.003, 0.003, 0.07, 2.0}) fsync.Observe(v);
}

}  // namespace

BOOST_AUTO_TEST_CASE(scraped_metrics_pass_promtool_check_without_warnings) {
  const std::string promtool = find_promtool();
  BOOST_REQUIRE_MESSAGE(!promtool.empty(),
                        "promtool not found in " TROUPE_BINARY_DIR
                        "/tools or on PATH: run scripts/install-deps.sh <build dir>");
  node_metrics m;
  populate(*m.registry);
  auto endpoint = start_or_fail({}, m.collectables());
  BOOST_TEST(endpoint->port() != 0);

  auto r = support::http_get("127.0.0.1", endpoint->port(), "/metrics");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.headers.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  BOOST_TEST(
      r.body.find("troupe_storage_fsync_duration_seconds_bucket{db=\"log\",le=\"0.0025\"}") !=
      std::string::npos);
  BOOST_TEST(r.body.find("process_start_time_seconds ") != std::string::npos);

  support::temp_dir dir("troupe-metrics");
  const std::string scraped = dir.file("metrics.txt");
  support::write_file(scraped, r.body);
  // promtool reads the exposition from stdin; its findings go to stdout and stderr, merged here.
  support::child_process check(
      {"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, scraped});
  auto exit = check.wait_exit(std::chrono::seconds(30));
  BOOST_REQUIRE_MESSAGE(exit.has_value(), "promtool did not finish");
  BOOST_TEST_MESSAGE("promtool output: " << check.transcript());
  BOOST_TEST(WIFEXITED(*exit));
  BOOST_TEST(WEXITSTATUS(*exit) == 0,
             "promtool exit status " << WEXITSTATUS(*exit) << ": " << check.transcript());
  BOOST_TEST(check.transcript().empty(), "promtool findings: " << check.transcript());
}

BOOST_AUTO_TEST_CASE(binding_a_taken_port_is_a_clear_error_and_the_first_endpoint_keeps_serving) {
  auto first = start_or_fail({}, {});
  endpoint_options same;
  same.port = first->port();
  auto second = http_endpoint::start(same, {});
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST((second.err().code == troupe::errc::io));
  const auto& message = second.err().message;
  BOOST_TEST(message.find(first->address()) != std::string::npos, message);
  BOOST_TEST(message.find("Address already in use") != std::string::npos, message);
  BOOST_TEST(message.find('\n') == std::string::npos, message);
  BOOST_TEST(support::http_get("127.0.0.1", first->port(), "/health").status == 200);
}

BOOST_AUTO_TEST_CASE(bad_hosts_are_refused_before_binding) {
  for (const char* host : {"999.0.0.1", "::1", "[::1]", ""}) {
    endpoint_options o;
    o.host = host;
    auto e = http_endpoint::start(o, {});
    BOOST_TEST(!e.ok(), "host '" << host << "' was accepted");
    if (!e.ok()) BOOST_TEST((e.err().code == troupe::errc::invalid_argument));
  }
}

BOOST_AUTO_TEST_CASE(a_host_name_resolves_to_its_ipv4_address) {
  endpoint_options o;
  o.host = "localhost";
  auto endpoint = start_or_fail(o, {});
  BOOST_TEST(endpoint->address() == "127.0.0.1:" + std::to_string(endpoint->port()));
  BOOST_TEST(support::http_get("127.0.0.1", endpoint->port(), "/health").status == 200);
}

BOOST_AUTO_TEST_CASE(health_and_status_use_defaults_until_handlers_are_plugged_in) {
  auto endpoint = start_or_fail({}, {});
  const auto port = endpoint->port();

  auto health = support::http_get("127.0.0.1", port, "/health");
  BOOST_TEST(health.status == 200);
  BOOST_TEST(health.body == "ok\n");
  auto status = support::http_get("127.0.0.1", port, "/status");
  BOOST_TEST(status.status == 200);
  BOOST_TEST(status.headers.find("Content-Type: text/html") != std::string::npos);

  endpoint->set_health_handler([] { return http_response{503, "text/plain", "no leader\n"}; });
  endpoint->set_status_handler([] {
    return http_response{200, "application/json", "{\"members\":[]}"};
  });
  health = support::http_get("127.0.0.1", port, "/health");
  BOOST_TEST(health.status == 503);
  BOOST_TEST(health.body == "no leader\n");
  status = support::http_get("127.0.0.1", port, "/status");
  BOOST_TEST(status.headers.find("Content-Type: application/json") != std::string::npos);
  BOOST_TEST(status.body == "{\"members\":[]}");

  endpoint->set_health_handler(nullptr);  // back to the default
  BOOST_TEST(support::http_get("127.0.0.1", port, "/health").status == 200);
}

BOOST_AUTO_TEST_CASE(status_json_and_text_are_404_until_set_and_other_paths_cannot_be_added) {
  auto endpoint = start_or_fail({}, {});
  const auto port = endpoint->port();
  BOOST_TEST(support::http_get("127.0.0.1", port, "/status.json").status == 404);
  BOOST_TEST(endpoint->set_handler("/status.json", [] {
    return http_response{200, "application/json", "{}"};
  }));
  auto r = support::http_get("127.0.0.1", port, "/status.json");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == "{}");
  BOOST_TEST(support::http_get("127.0.0.1", port, "/status.txt").status == 404);
  // civetweb's routes are fixed when it starts: anything else is refused, and /metrics is not
  // pluggable.
  BOOST_TEST(!endpoint->set_handler("/other", [] { return http_response{}; }));
  BOOST_TEST(!endpoint->set_handler("/metrics", [] { return http_response{}; }));
  BOOST_TEST(support::http_get("127.0.0.1", port, "/other").status == 404);
  BOOST_TEST(endpoint->set_handler("/status.json", nullptr));  // removed again
  BOOST_TEST(support::http_get("127.0.0.1", port, "/status.json").status == 404);
}

BOOST_AUTO_TEST_CASE(unknown_paths_get_404_and_a_throwing_handler_gets_500) {
  auto endpoint = start_or_fail({}, {});
  const auto port = endpoint->port();
  BOOST_TEST(support::http_get("127.0.0.1", port, "/nothing").status == 404);
  BOOST_TEST(support::http_get("127.0.0.1", port, "/metricsfoo").status == 404);
  BOOST_TEST(support::http_get("127.0.0.1", port, "/metrics/x").status == 404);

  endpoint->set_status_handler([]() -> http_response { throw std::runtime_error("boom"); });
  auto r = support::http_get("127.0.0.1", port, "/status");
  BOOST_TEST(r.status == 500);
  BOOST_TEST(r.body.find("boom") != std::string::npos);
  BOOST_TEST(support::http_get("127.0.0.1", port, "/metrics").status == 200);
}

BOOST_AUTO_TEST_CASE(collectables_added_later_are_served) {
  auto endpoint = start_or_fail({}, {});
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge()
      .Name("troupe_late_gauge")
      .Help("Added late.")
      .Register(*registry)
      .Add({})
      .Set(7);
  BOOST_TEST(support::http_get("127.0.0.1", endpoint->port(), "/metrics").body.empty());
  endpoint->add_collectable(registry);
  BOOST_TEST(support::http_get("127.0.0.1", endpoint->port(), "/metrics")
                 .body.find("troupe_late_gauge 7") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stopping_the_endpoint_releases_its_port) {
  auto first = start_or_fail({}, {});
  endpoint_options again;
  again.port = first->port();
  first.reset();
  auto second = start_or_fail(again, {});
  BOOST_TEST(second->port() == again.port);
  BOOST_TEST(support::http_get("127.0.0.1", second->port(), "/health").status == 200);
}
