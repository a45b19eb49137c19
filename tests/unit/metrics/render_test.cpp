#include <boost/test/unit_test.hpp>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "runtime/metrics/http_endpoint.hpp"
#include "runtime/metrics/node_metrics.hpp"

using namespace troupe::metrics;

BOOST_AUTO_TEST_SUITE(render)

BOOST_AUTO_TEST_CASE(rendered_text_holds_registry_and_process_families) {
  node_metrics m;
  prometheus::BuildCounter()
      .Name("troupe_test_events_total")
      .Help("Events seen by the test.")
      .Register(*m.registry)
      .Add({{"kind", "a"}})
      .Increment(3);
  auto text = render_metrics_text(m.collectables());
  BOOST_TEST(text.find("# TYPE troupe_test_events_total counter") != std::string::npos);
  BOOST_TEST(text.find("troupe_test_events_total{kind=\"a\"} 3") != std::string::npos);
  BOOST_TEST(text.find("# TYPE process_resident_memory_bytes gauge") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_collectables_render_to_nothing) {
  BOOST_TEST(render_metrics_text({}).empty());
}

BOOST_AUTO_TEST_SUITE_END()
