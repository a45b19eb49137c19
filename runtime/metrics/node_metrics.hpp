#pragma once
/// The node's metrics in one place: its single Prometheus registry, where every component adds its
/// families, and the process collector. The node creates one `node_metrics`, hands `registry` to
/// its components and `collectables()` to `http_endpoint::start`.

#include <memory>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include "runtime/metrics/process_collector.hpp"

namespace troupe::metrics {

/// Thread-safety: prometheus::Registry and its metrics are thread-safe; the pointers are set once.
struct node_metrics {
  /// Every `troupe_*` family of this node lives here.
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  /// The standard `process_*` families.
  std::shared_ptr<process_collector> process = std::make_shared<process_collector>();

  /// What the endpoint serves on /metrics.
  std::vector<std::shared_ptr<const prometheus::Collectable>> collectables() const {
    return {registry, process};
  }
};

}  // namespace troupe::metrics
