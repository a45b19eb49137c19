#pragma once
/// The SQLite schema of the Raft log store, as migrations for runtime/storage (which records the
/// version in PRAGMA user_version and runs migrations atomically at open).
///
/// Version 1:
///   entries(idx INTEGER PRIMARY KEY, term INTEGER, type INTEGER, data BLOB, checksum INTEGER)
///   hard_state(id = 0, term INTEGER, voted_for INTEGER, commit_index INTEGER, checksum INTEGER)
///   applied(id = 0, applied_index INTEGER, checksum INTEGER)
/// 64-bit unsigned values (terms, indexes, node ids) are stored as their int64 bit pattern.
/// Version 2 (log compaction, Raft §7):
///   log_start(id = 0, first_index INTEGER, prev_term INTEGER, checksum INTEGER): the first index
///     held and the term of the entry before it; no row means first index 1 (nothing compacted)
///   entries_config: a partial index on entries(idx) WHERE type = 2 (config), for last_config_index
/// Version 3: log_start.membership BLOB (encode_membership of the snapshot's configuration; empty
///   in a row written by version 2)
/// Checksums are CRC-32C (checksum.hpp). The single-row tables hold no row until the first sync
/// that writes them: no row means the initial value (term 0, no vote, commit 0; applied 0).

#include <vector>

#include "runtime/storage/options.hpp"

namespace troupe::raft::log_store {

/// Every migration of the log store's file, versions 1..N. Tools that open the file directly (and
/// tests that damage it on purpose) pass these so the file is not refused as "newer".
std::vector<storage::migration> schema_migrations();

/// The last version of schema_migrations().
inline constexpr int schema_version = 3;

/// Every migration of the snapshot store's file (sqlite_snapshot_store.hpp), a file of its own.
/// Version 1:
///   snapshots(id INTEGER PRIMARY KEY, complete INTEGER, last_index INTEGER, last_term INTEGER,
///             membership BLOB (encode_membership), size INTEGER (bytes durable), crc INTEGER
///             (CRC-32C of those bytes), checksum INTEGER (of the row))
///   chunks(snapshot_id INTEGER, offset INTEGER, data BLOB, checksum INTEGER,
///          PRIMARY KEY(snapshot_id, offset)) WITHOUT ROWID
/// Version 2: chunks becomes a rowid table with the same columns (rows copied in order) and a
///   UNIQUE index chunks_by_offset(snapshot_id, offset): see schema.cpp for why.
std::vector<storage::migration> snapshot_schema_migrations();

/// The last version of snapshot_schema_migrations().
inline constexpr int snapshot_schema_version = 2;

}  // namespace troupe::raft::log_store
