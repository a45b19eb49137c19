#pragma once
/// The node's checkpoint store: one SQLite file (runtime/storage) holding every checkpoint, each
/// saved in ONE transaction, every row checksummed (CRC-32C) and verified when read.
/// Schema: schema.cpp and README.md. Owns its `storage::database`; movable; one thread at a time.

#include <string>

#include "runtime/storage/database.hpp"
#include "snapshot/store/checkpoint_store.hpp"

namespace troupe::checkpoint::store {

struct store_options {
  retention keep;
  /// The SQLite options; the store adds its migrations to them. Tests set `vfs` (fault_vfs.hpp).
  /// `read_only` gives a store for tools: list, show, load work on a live node's file, every
  /// write fails (errc::io).
  storage::options database;
};

class sqlite_checkpoint_store final : public checkpoint_store {
 public:
  /// Opens (or creates) the store's file at `path` and brings its schema up to date. Errors are
  /// storage::database::open's (they name the file and the cause).
  static result<sqlite_checkpoint_store> open(std::string path, store_options opts = {});

  sqlite_checkpoint_store(sqlite_checkpoint_store&&) noexcept = default;
  sqlite_checkpoint_store& operator=(sqlite_checkpoint_store&&) noexcept = default;

  /// One transaction (BEGIN IMMEDIATE ... COMMIT with synchronous=FULL): success means on disk.
  status save(const global_state& state, const checkpoint_metadata& meta) override;
  /// Each read below runs in one read transaction: it sees one state of the file.
  result<std::vector<checkpoint_summary>> list() override;
  result<checkpoint_id> highest_id() override;
  result<manifest> show(checkpoint_id id) override;
  /// Verifies every row's checksum and the manifest's counts and sizes.
  result<global_state> load(checkpoint_id id) override;
  status remove(checkpoint_id id) override;
  status keep_last(std::size_t complete) override;
  const retention& kept() const noexcept override { return keep_; }

  const std::string& path() const noexcept { return db_.path(); }

 private:
  sqlite_checkpoint_store(storage::database db, retention keep) noexcept
      : db_(std::move(db)), keep_(keep) {}
  storage::database db_;
  retention keep_;
};

}  // namespace troupe::checkpoint::store
