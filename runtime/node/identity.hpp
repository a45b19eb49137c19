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

/// The configuration a node was first started with, kept in node.db (table bootstrap_configuration)
/// so that a restart uses it rather than whatever --peers says then (issue 4): `members` is the
/// --peers text of the first start with this node included ("1=h:p,2=h:p"), empty for a node that
/// joined (--join). Raft's own rule still holds: once the log has a configuration entry, the
/// latest one wins (thesis §4.1); this is only the configuration before any entry.
struct bootstrap_configuration {
  bool joined = false;
  std::string members;
};

/// Returns the stored bootstrap configuration, or stores `first` (in one transaction) and returns
/// it when there is none yet. `stored_now` tells which happened. Errors: the storage layer's.
result<bootstrap_configuration> load_or_store_bootstrap(storage::database& db, const bootstrap_configuration& first,
                                                        bool& stored_now);

}  // namespace troupe::node
