#include "consensus/actor/restore_backup.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <vector>

#include "consensus/actor/snapshot_recovery.hpp"
#include "consensus/core/membership.hpp"
#include "consensus/storage/sqlite_log_storage.hpp"
#include "consensus/storage/sqlite_snapshot_store.hpp"

namespace troupe::raft {

result<std::string> read_backup_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::io, "backup file " + path + ": cannot open it: " + std::strerror(errno));
  // Verified while it is read, so that a file that is not a backup (a wrong path, a device) is
  // refused after its first bytes instead of being read whole into memory first.
  backup_verifier verifier;
  auto refused = [&](const error& e) { return make_error(e.code, "backup file " + path + ": " + e.message); };
  std::string bytes;
  std::vector<char> buffer(1u << 16);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    const std::string_view piece(buffer.data(), static_cast<std::size_t>(in.gcount()));
    if (auto s = verifier.feed(piece); !s) return refused(s.err());
    bytes.append(piece);
  }
  if (in.bad()) return make_error(errc::io, "backup file " + path + ": read failed");
  if (auto h = verifier.finish(); !h) return refused(h.err());
  return bytes;
}

status check_empty_directory(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return {};
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    return make_error(errc::invalid_argument, "data directory " + dir + " already holds data (" +
                                                  e.path().filename().string() +
                                                  "): --restore-from starts a new cluster in an empty data directory");
  }
  if (ec) return make_error(errc::io, "data directory " + dir + ": " + ec.message());
  return {};
}

result<restored_cluster> restore_backup(const std::string& log_path, group_id group, node_id self,
                                        const std::string& self_address, const decoded_backup& backup) {
  const std::string snapshot_path = snapshot_path_for(log_path);
  for (const std::string& path : {log_path, snapshot_path}) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec) || ec) {
      return make_error(errc::invalid_argument, path + " already exists: --restore-from needs a data directory "
                                                       "that holds no data (start the restore in a new, empty one)");
    }
  }
  const snapshot_metadata& from = backup.header.metadata;
  if (backup.header.group != group) {
    return make_error(errc::invalid_argument, "the backup is of group " + std::to_string(backup.header.group) +
                                                  ", this node runs group " + std::to_string(group));
  }
  if (from.last_index == 0 || from.last_term == 0) {
    return make_error(errc::invalid_argument, "the backup holds no applied entry (index 0): nothing to restore");
  }
  if (self == no_node) return make_error(errc::invalid_argument, "restore_backup: node id 0");

  membership alone;
  alone.voters = {self};
  set_address(alone, self, self_address);
  const snapshot_metadata meta{from.last_index, from.last_term, alone};

  // The image first, durable, then the log that starts after it: the order recover_from_snapshot
  // relies on (a crash in between leaves a snapshot and an empty log, which a retry refuses by the
  // existing files rather than guess).
  auto snapshots = sqlite_snapshot_store::open(snapshot_path);
  if (!snapshots) return snapshots.err();
  if (auto saved = (*snapshots)->save(meta, backup.image); !saved) return saved.err();

  auto log = sqlite_log_storage::open(log_path);
  if (!log) return log.err();
  restored_cluster out{from.last_index, from.last_index + 1, from.last_term + 1};
  if (auto s = (*log)->apply_snapshot(meta); !s) return s.err();
  const log_entry entry{out.term, out.config_index, entry_type::config, encode_membership(alone)};
  if (auto s = (*log)->append(std::span(&entry, 1)); !s) return s.err();
  if (auto s = (*log)->set_hard_state({out.term, no_node, out.config_index}); !s) return s.err();
  if (auto s = (*log)->sync(); !s) return s.err();
  return out;
}

}  // namespace troupe::raft
