// The write side of the store: open, save (one transaction), retention, remove.
#include "snapshot/store/sqlite_checkpoint_store.hpp"

#include <cassert>
#include <span>
#include <vector>

#include "snapshot/store/parts.hpp"
#include "snapshot/store/rules.hpp"
#include "snapshot/store/runs.hpp"
#include "snapshot/store/schema.hpp"
#include "snapshot/store/sql.hpp"

namespace troupe::checkpoint::store {

namespace {

status insert_manifest(storage::database& db, const checkpoint_summary& m) {
  return sql::run(db,
                  "INSERT INTO checkpoints(id, initiator, status, reason, started_unix_ms,"
                  " finished_unix_ms, participant_count, state_count, channel_count, message_count,"
                  " state_bytes, message_bytes, checksum) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  m.id, m.initiator, std::string_view{to_string(m.status)}, m.reason,
                  m.started_unix_ms, m.finished_unix_ms, m.participant_count, m.state_count,
                  m.channel_count, m.message_count, m.state_bytes, m.message_bytes,
                  parts::manifest_checksum(m));
}

/// The parts as schema version 3 stores them (runs.hpp): the participant rows with their local
/// states and the channels holding messages packed into runs (by the caller, before its write
/// transaction); the channels recorded empty in one `empty_channels` row (version 2).
status insert_parts(storage::database& db, const global_state& state, const runs::packed& packed) {
  for (std::uint64_t index = 0; index < packed.runs.size(); ++index) {
    const auto kind = static_cast<std::int64_t>(packed.runs[index].kind);
    const std::span<const std::byte> body(packed.runs[index].body);
    auto s = sql::run(db,
                      "INSERT INTO part_runs(checkpoint_id, run, kind, body, checksum)"
                      " VALUES (?,?,?,?,?)",
                      state.id, index, kind, body, parts::run_checksum(state.id, index, kind, body));
    if (!s) return s;
  }
  if (packed.empty_channels.empty()) return {};
  const auto blob = parts::encode_channels(packed.empty_channels);
  return sql::run(db, "INSERT INTO empty_channels(checkpoint_id, channels, checksum) VALUES (?,?,?)",
                  state.id, std::span<const std::byte>(blob),
                  parts::empty_channels_checksum(state.id, blob));
}

/// Deletes every row of checkpoint `id` (inside the caller's transaction), first raising the
/// high-water mark to `id` (schema version 4): ids are never reused, even the newest one deleted.
status delete_rows(storage::database& db, checkpoint_id id) {
  if (auto s = sql::run(db, "UPDATE checkpoint_ids SET highest = MAX(highest, ?) WHERE singleton = 1", id); !s) {
    return s;
  }
  for (const char* table :
       {"part_runs", "messages", "channels", "empty_channels", "local_states", "participants"}) {
    auto s = sql::run(db, std::string{"DELETE FROM "} + table + " WHERE checkpoint_id = ?", id);
    if (!s) return s;
  }
  return sql::run(db, "DELETE FROM checkpoints WHERE id = ?", id);
}

/// Ids of the checkpoints retention drops (rules::expired over the manifest table).
result<std::vector<checkpoint_id>> expired(storage::database& db, const retention& keep) {
  std::vector<std::pair<checkpoint_id, bool>> newest_first;
  auto s = sql::for_each_row(
      db,
      "SELECT id, status = 'ok' AND participant_count > 0 AND state_count = participant_count"
      " FROM checkpoints ORDER BY id DESC",
      [&](const storage::statement& select) {
        newest_first.emplace_back(sql::column_u64(select, 0), select.column_int64(1) != 0);
      });
  if (!s) return s.err();
  return rules::expired(newest_first, keep);
}

status apply_retention(storage::database& db, const retention& keep) {
  auto ids = expired(db, keep);
  if (!ids) return ids.err();
  for (const auto id : *ids) {
    if (auto s = delete_rows(db, id); !s) return s;
  }
  return {};
}

result<bool> exists(storage::database& db, checkpoint_id id) {
  auto select = db.prepare("SELECT 1 FROM checkpoints WHERE id = ?");
  if (!select) return select.err();
  if (auto b = sql::bind_all(*select, id); !b) return b.err();
  return select->step();
}

}  // namespace

result<sqlite_checkpoint_store> sqlite_checkpoint_store::open(std::string path,
                                                              store_options opts) {
  opts.database.migrations = schema_migrations();
  auto db = storage::database::open(std::move(path), opts.database);
  if (!db) return db.err();
  return sqlite_checkpoint_store(std::move(*db), opts.keep);
}

status sqlite_checkpoint_store::save(const global_state& state, const checkpoint_metadata& meta) {
  if (auto s = rules::check_save(state, meta); !s) return s;
  // The pure work (rows, summary, and packing, which copies and checksums every state and
  // message) before the write transaction, so the write lock is held only for the INSERTs.
  const auto participant_rows = rules::participant_rows(state, meta);
  const checkpoint_summary manifest_row = rules::summarize(state, meta, participant_rows);
  assert(manifest_row.state_count == (rules::stores_parts(meta) ? state.local_states.size() : 0));
  const auto packed = runs::pack(state, participant_rows, rules::stores_parts(meta));
  auto tx = db_.begin();
  if (!tx) return tx.err();
  auto found = exists(db_, state.id);
  if (!found) return found.err();
  if (*found) {
    // Ids are never reused (snapshot/README.md): a second save of one id is a caller's bug or a
    // restarted coordinator that did not continue above the stored ids.
    return make_error(errc::busy, parts::prefix(state.id) + "already stored");
  }
  if (auto s = insert_manifest(db_, manifest_row); !s) return s;
  if (auto s = insert_parts(db_, state, packed); !s) return s;
  // Retention in the same transaction: the crash that loses this save also keeps the old ones.
  if (auto s = apply_retention(db_, keep_); !s) return s;
  return tx->commit();  // on error the transaction's destructor rolls back everything above
}

status sqlite_checkpoint_store::remove(checkpoint_id id) {
  auto tx = db_.begin();
  if (!tx) return tx.err();
  auto found = exists(db_, id);
  if (!found) return found.err();
  if (!*found) return make_error(errc::not_found, parts::prefix(id) + "not stored");
  if (auto s = delete_rows(db_, id); !s) return s;
  return tx->commit();
}

status sqlite_checkpoint_store::keep_last(std::size_t complete) {
  keep_.keep_last = complete;
  auto tx = db_.begin();
  if (!tx) return tx.err();
  if (auto s = apply_retention(db_, keep_); !s) return s;
  return tx->commit();
}

}  // namespace troupe::checkpoint::store
