#include "consensus/storage/schema.hpp"

namespace troupe::raft::log_store {

std::vector<storage::migration> schema_migrations() {
  // WITHOUT ROWID is not used for entries: with an INTEGER PRIMARY KEY the index *is* the rowid,
  // so range deletes and scans walk the table b-tree directly.
  return {
      {1,
       {
           "CREATE TABLE entries("
           "idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL, "
           "data BLOB NOT NULL, checksum INTEGER NOT NULL)",
           "CREATE TABLE hard_state("
           "id INTEGER PRIMARY KEY CHECK (id = 0), term INTEGER NOT NULL, "
           "voted_for INTEGER NOT NULL, commit_index INTEGER NOT NULL, checksum INTEGER NOT NULL)",
           "CREATE TABLE applied("
           "id INTEGER PRIMARY KEY CHECK (id = 0), applied_index INTEGER NOT NULL, "
           "checksum INTEGER NOT NULL)",
       }},
      {2,
       {
           "CREATE TABLE log_start("
           "id INTEGER PRIMARY KEY CHECK (id = 0), first_index INTEGER NOT NULL, "
           "prev_term INTEGER NOT NULL, checksum INTEGER NOT NULL)",
           // Configuration entries are rare: a partial index finds the last one without a scan.
           "CREATE INDEX entries_config ON entries(idx) WHERE type = 2",
       }},
      {3,
       {
           // The configuration in effect at the snapshot (thesis §5.1): once the log is compacted
           // past the last configuration entry, this is where the core finds it.
           "ALTER TABLE log_start ADD COLUMN membership BLOB NOT NULL DEFAULT x''",
       }},
  };
}

std::vector<storage::migration> snapshot_schema_migrations() {
  // Chunks are clustered by (snapshot, offset) so that reading a range, and dropping a whole
  // snapshot, walk one b-tree range.
  return {
      {1,
       {
           "CREATE TABLE snapshots("
           "id INTEGER PRIMARY KEY, complete INTEGER NOT NULL, last_index INTEGER NOT NULL, "
           "last_term INTEGER NOT NULL, membership BLOB NOT NULL, size INTEGER NOT NULL, "
           "crc INTEGER NOT NULL, checksum INTEGER NOT NULL)",
           "CREATE TABLE chunks("
           "snapshot_id INTEGER NOT NULL, offset INTEGER NOT NULL, data BLOB NOT NULL, "
           "checksum INTEGER NOT NULL, PRIMARY KEY(snapshot_id, offset)) WITHOUT ROWID",
       }},
  };
}

}  // namespace troupe::raft::log_store
