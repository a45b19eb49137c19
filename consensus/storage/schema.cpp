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
  // Version 1 clustered the chunks by (snapshot, offset) so that reading a range, and dropping a
  // whole snapshot, walk one b-tree range; version 2 keeps that order through its index.
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
      {2,
       {
           // A WITHOUT ROWID table is an index b-tree whose cells are the whole rows: a chunk of
           // up to a megabyte overflows its leaf, and SQLite compares a probe with an overflowing
           // cell only after reading the cell's whole record (btree.c, sqlite3BtreeIndexMoveto:
           // accessPayload of the full payload). Every INSERT's seek and every read's seek read
           // several whole chunks back (perf: ~6 page reads per page written, most of a save's
           // system calls). In a rowid table the b-tree compares integer rowids only, and the
           // small (snapshot_id, offset) keys live in their own index. Rows are copied in order,
           // so an existing file keeps its snapshots byte for byte (their checksums do not
           // involve the rowid).
           "CREATE TABLE chunks_v2("
           "seq INTEGER PRIMARY KEY, snapshot_id INTEGER NOT NULL, offset INTEGER NOT NULL, "
           "data BLOB NOT NULL, checksum INTEGER NOT NULL)",
           "INSERT INTO chunks_v2(snapshot_id, offset, data, checksum) "
           "SELECT snapshot_id, offset, data, checksum FROM chunks ORDER BY snapshot_id, offset",
           "DROP TABLE chunks",
           "ALTER TABLE chunks_v2 RENAME TO chunks",
           "CREATE UNIQUE INDEX chunks_by_offset ON chunks(snapshot_id, offset)",
       }},
  };
}

}  // namespace troupe::raft::log_store
