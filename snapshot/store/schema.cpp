#include "snapshot/store/schema.hpp"

namespace troupe::checkpoint::store {

std::vector<storage::migration> schema_migrations() {
  // Ids are SQLite INTEGERs (int64): checkpoint ids are kept below 2^63 by save(); participant
  // ids are stored bit for bit (a uint64 above 2^63 reads back as a negative int64 and converts
  // back exactly). Every row carries `checksum`, a CRC-32C of its identity and contents
  // (parts.hpp).
  return {
      {1,
       {
           "CREATE TABLE checkpoints("
           " id INTEGER PRIMARY KEY,"
           " initiator INTEGER NOT NULL,"
           " status TEXT NOT NULL,"
           " reason TEXT NOT NULL,"
           " started_unix_ms INTEGER NOT NULL,"
           " finished_unix_ms INTEGER NOT NULL,"
           " participant_count INTEGER NOT NULL,"
           " state_count INTEGER NOT NULL,"
           " channel_count INTEGER NOT NULL,"
           " message_count INTEGER NOT NULL,"
           " state_bytes INTEGER NOT NULL,"
           " message_bytes INTEGER NOT NULL,"
           " checksum INTEGER NOT NULL)",
           "CREATE TABLE participants("
           " checkpoint_id INTEGER NOT NULL,"
           " participant INTEGER NOT NULL,"
           " node TEXT NOT NULL,"
           " location TEXT NOT NULL,"
           " has_state INTEGER NOT NULL,"
           " state_bytes INTEGER NOT NULL,"
           " checksum INTEGER NOT NULL,"
           " PRIMARY KEY(checkpoint_id, participant))",
           "CREATE TABLE local_states("
           " checkpoint_id INTEGER NOT NULL,"
           " participant INTEGER NOT NULL,"
           " state BLOB NOT NULL,"
           " checksum INTEGER NOT NULL,"
           " PRIMARY KEY(checkpoint_id, participant))",
           "CREATE TABLE channels("
           " checkpoint_id INTEGER NOT NULL,"
           " sender INTEGER NOT NULL,"
           " receiver INTEGER NOT NULL,"
           " message_count INTEGER NOT NULL,"
           " message_bytes INTEGER NOT NULL,"
           " checksum INTEGER NOT NULL,"
           " PRIMARY KEY(checkpoint_id, sender, receiver))",
           "CREATE TABLE messages("
           " checkpoint_id INTEGER NOT NULL,"
           " sender INTEGER NOT NULL,"
           " receiver INTEGER NOT NULL,"
           " position INTEGER NOT NULL,"
           " sequence INTEGER NOT NULL,"
           " epoch INTEGER NOT NULL,"
           " lamport INTEGER NOT NULL,"
           " vector_clock BLOB NOT NULL,"
           " payload BLOB NOT NULL,"
           " checksum INTEGER NOT NULL,"
           " PRIMARY KEY(checkpoint_id, sender, receiver, position))",
       }},
      // Version 2: the channels recorded empty (most of them: 40,000 of 40,008 in the bank
      // benchmark) as one row per checkpoint, a blob of (sender, receiver) pairs, instead of a
      // `channels` row each; a row per channel cost most of a save's time. Channels with messages
      // keep their rows. Checkpoints stored by version 1 (every channel a row) still load: the
      // reader takes both (README.md "Schema").
      {2,
       {
           "CREATE TABLE empty_channels("
           " checkpoint_id INTEGER PRIMARY KEY,"
           " channels BLOB NOT NULL,"
           " checksum INTEGER NOT NULL)",
       }},
      // Version 3: a checkpoint's participant rows with their local states, and its channels
      // holding messages with those messages, packed into a few `part_runs` rows (runs.hpp)
      // instead of a row each: ~38,000 rows per checkpoint in the bank benchmark, whose binding,
      // stepping and B-tree inserts were most of a save. Each entry keeps its version 2 row's
      // checksum. Checkpoints stored by versions 1 and 2 still load: the reader takes rows
      // from the old tables and from runs alike (README.md "Schema").
      {3,
       {
           "CREATE TABLE part_runs("
           " checkpoint_id INTEGER NOT NULL,"
           " run INTEGER NOT NULL,"
           " kind INTEGER NOT NULL,"
           " body BLOB NOT NULL,"
           " checksum INTEGER NOT NULL,"
           " PRIMARY KEY(checkpoint_id, run))",
       }},
      // Version 4: the highest checkpoint id ever stored, kept when checkpoints are deleted. A
      // coordinator continues above it; taken from the `checkpoints` table alone, deleting the
      // newest checkpoint (operator or retention) let a restarted coordinator hand its id out
      // again. One row; the migration starts it at the highest id stored.
      {4,
       {
           "CREATE TABLE checkpoint_ids("
           " singleton INTEGER PRIMARY KEY CHECK (singleton = 1),"
           " highest INTEGER NOT NULL)",
           "INSERT INTO checkpoint_ids(singleton, highest)"
           " SELECT 1, COALESCE(MAX(id), 0) FROM checkpoints",
       }},
  };
}

}  // namespace troupe::checkpoint::store
