#include "consensus/actor/snapshot_recovery.hpp"

namespace troupe::raft {

std::string snapshot_path_for(const std::string& log_path) {
  constexpr std::string_view suffix = ".db";
  if (log_path.size() > suffix.size() && log_path.ends_with(suffix)) {
    return log_path.substr(0, log_path.size() - suffix.size()) + "-snapshots.db";
  }
  return log_path + "-snapshots.db";
}

result<recovered_state> recover_from_snapshot(const std::string& snapshot_path, const sqlite_log_storage& log,
                                              state_machine& sm, const sqlite_snapshot_store_options& opts) {
  auto store = sqlite_snapshot_store::open(snapshot_path, opts);
  if (!store) return store.err();
  recovered_state out;
  const index_t log_start = log.first_index() - 1;  // the last index a snapshot must cover
  const auto& latest = (*store)->latest();
  const index_t snapshot_index = latest ? latest->metadata.last_index : 0;
  if (snapshot_index < log_start) {
    return make_error(errc::corrupt, log.path() + " starts after index " + std::to_string(log_start) +
                                         " but " + snapshot_path +
                                         (latest ? " holds a snapshot of index " + std::to_string(snapshot_index)
                                                 : std::string(" holds no snapshot")) +
                                         ": the entries in between are lost (a missing or foreign snapshot file)");
  }
  if (latest) {
    auto image = (*store)->read_all();
    if (!image) return image.err();
    if (auto s = sm.restore(snapshot_index, *image); !s) {
      return make_error(s.err().code, snapshot_path + ": the state machine refused the snapshot of index " +
                                          std::to_string(snapshot_index) + ": " + s.err().message);
    }
    out.applied = snapshot_index;
  }
  out.snapshots = std::move(*store);
  return out;
}

}  // namespace troupe::raft
