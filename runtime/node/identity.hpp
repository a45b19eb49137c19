#pragma once
/// The node's data directory and identity: `<data-dir>/node.db` records which cluster and node
/// the directory belongs to and how often the node has started. Keeping it open holds the data
/// directory's exclusive lock, so two processes can never run on one data directory.

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/base/result.hpp"
#include "runtime/storage/database.hpp"

namespace troupe::metrics {
class storage_metrics;
}

namespace troupe::node {

struct node_identity {
  std::uint64_t node_id = 0;
  std::string cluster_id;
  /// Starts of this node on this data directory, this one included (1 on a new directory).
  std::uint64_t starts = 0;
  /// True when this start created the data directory's identity.
  bool created = false;
};

/// Opens (creating if needed) `data_dir` and its node.db, checks that it belongs to `cluster_id`
/// and `node_id`, and durably counts this start. Errors name the directory: errc::busy (another
/// process runs on it), errc::refused (it belongs to another cluster or node), and the storage
/// layer's errors (io, corrupt, not_found, unsupported). When `metrics` is set, the identity
/// commit and node.db's background WAL checkpoints are observed there (it must outlive the
/// returned database).
result<std::pair<storage::database, node_identity>> open_data_dir(
    const std::string& data_dir, std::string_view cluster_id, std::uint64_t node_id,
    metrics::storage_metrics* metrics = nullptr);

}  // namespace troupe::node
