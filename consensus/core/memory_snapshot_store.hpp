#pragma once
/// In-memory snapshot store for tests and the simulation: the latest complete snapshot (metadata
/// and image) and one partial snapshot being received chunk by chunk, with the same rules as the
/// shell's durable store (consensus/storage/sqlite_snapshot_store.hpp): a chunk at offset 0 starts
/// a partial (discarding another), later chunks must continue it exactly, the `done` chunk makes it
/// the latest complete snapshot. Writes count as durable at once. Implements `snapshot_source` for
/// the leader's core. Not thread-safe.

#include <optional>
#include <string>

#include "consensus/core/log_storage.hpp"
#include "consensus/core/types.hpp"

namespace troupe::raft {

class memory_snapshot_store final : public snapshot_source {
 public:
  struct image {
    snapshot_metadata metadata;
    std::string bytes;
  };

  /// A snapshot this node took itself (compaction).
  void save(snapshot_metadata metadata, std::string bytes) { latest_ = image{std::move(metadata), std::move(bytes)}; }
  /// A received chunk (ready::snapshot_chunks). Errors: errc::invalid_argument when it does not
  /// continue the partial snapshot (the core never hands out such a chunk).
  troupe::status write_chunk(const snapshot_chunk& c) {
    if (c.offset == 0) partial_ = image{c.metadata, {}};
    if (!partial_ || partial_->metadata != c.metadata || partial_->bytes.size() != c.offset) {
      return make_error(errc::invalid_argument, "snapshot chunk does not continue the partial snapshot");
    }
    partial_->bytes += c.data;
    if (c.done) {
      latest_ = std::move(*partial_);
      partial_.reset();
    }
    return {};
  }
  const std::optional<image>& latest() const { return latest_; }
  const std::optional<image>& partial() const { return partial_; }

  result<std::uint64_t> size(const snapshot_metadata& meta) const override {
    if (!latest_ || latest_->metadata != meta) return make_error(errc::not_found, "snapshot not held");
    return std::uint64_t{latest_->bytes.size()};
  }
  result<std::string> read(const snapshot_metadata& meta, std::uint64_t offset, std::uint64_t max_bytes) const override {
    if (!latest_ || latest_->metadata != meta || offset >= latest_->bytes.size()) {
      return make_error(errc::not_found, "snapshot range not held");
    }
    return latest_->bytes.substr(offset, max_bytes);
  }

 private:
  std::optional<image> latest_;
  std::optional<image> partial_;
};

}  // namespace troupe::raft
