#include "runtime/metrics/corruption_metric.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

namespace troupe::metrics {

prometheus::Counter& corruption_counter(prometheus::Registry& registry, const std::string& store) {
  return prometheus::BuildCounter()
      .Name("troupe_storage_corruption_detected_total")
      .Help("Stored data found corrupt (failed checksum or integrity check) by a running node, by store")
      .Register(registry)
      .Add({{"store", store}});
}

}  // namespace troupe::metrics
