#include "consensus/actor/snapshot_io.hpp"

#include <algorithm>

namespace troupe::raft {

status persist_chunks(sqlite_snapshot_store& store, const std::vector<snapshot_chunk>& chunks) {
  for (const auto& c : chunks) {
    if (c.offset == 0) {
      // A transfer (re)started from 0: whatever partial is there goes, even one of the same
      // snapshot (begin_write would resume it, and the sender starts over).
      if (store.partial()) {
        if (auto s = store.abort_write(); !s) return s;
      }
      auto from = store.begin_write(c.metadata);
      if (!from) return from.err();
    } else if (!store.partial() || store.partial()->metadata != c.metadata ||
               store.partial()->written != c.offset) {
      return make_error(errc::corrupt, store.path() + ": a received snapshot chunk at offset " +
                                           std::to_string(c.offset) + " of the snapshot of index " +
                                           std::to_string(c.metadata.last_index) +
                                           " does not continue the partial snapshot held");
    }
    if (auto s = store.write_chunk(c.offset, c.data); !s) return s;
    if (c.done) {
      if (auto f = store.finalize(); !f) return f.err();
    }
  }
  return {};
}

result<bool> save_if_newer(sqlite_snapshot_store& store, const snapshot_metadata& meta, std::string_view image) {
  if (store.latest() && store.latest()->metadata.last_index >= meta.last_index) return false;
  if (store.partial() && store.partial()->metadata.last_index > meta.last_index) return false;
  auto saved = store.save(meta, image);
  if (!saved) return saved.err();
  return true;
}

result<std::string> read_image(sqlite_snapshot_store& store, const snapshot_metadata& meta) {
  auto size = store.size_of(meta);
  if (!size) return size.err();
  std::string image;
  image.reserve(*size);
  constexpr std::uint64_t piece = 16u << 20;
  while (image.size() < *size) {
    auto got = store.read_of(meta, image.size(), std::min<std::uint64_t>(piece, *size - image.size()));
    if (!got) return got.err();
    if (got->empty()) return make_error(errc::corrupt, store.path() + ": snapshot shorter than its size");
    image += *got;
  }
  return image;
}

result<bool> install_latest_in_log(sqlite_log_storage& log, const sqlite_snapshot_store& store) {
  const auto& latest = store.latest();
  if (!latest || latest->metadata.last_index < log.first_index()) return false;
  if (auto s = log.apply_snapshot(latest->metadata); !s) return s.err();
  auto hs = log.initial_hard_state();
  if (!hs) return hs.err();
  hard_state raised = *hs;
  raised.commit = std::max(hs->commit, latest->metadata.last_index);
  if (hs->term < latest->metadata.last_term) {
    // The log's last term is now the snapshot's: a current term below it would make this node's
    // next entries older than the ones before them (terms only grow along a log, Raft §5.3). Only
    // a crash inside restore_backup (image durable, log not yet written) leaves this; a received
    // snapshot always comes in a term at least its own. No vote was cast in the raised term.
    raised.term = latest->metadata.last_term;
    raised.voted_for = no_node;
  }
  if (raised != *hs) {
    if (auto s = log.set_hard_state(raised); !s) return s.err();
  }
  if (auto s = log.sync(); !s) return s.err();
  return true;
}

}  // namespace troupe::raft
