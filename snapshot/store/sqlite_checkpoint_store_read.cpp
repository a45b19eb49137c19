// The read side of the store: list, show, latest_complete, load (verified), plan.
#include <map>

#include "snapshot/store/parts.hpp"
#include "snapshot/store/rules.hpp"
#include "snapshot/store/sql.hpp"
#include "snapshot/store/sqlite_checkpoint_store.hpp"

namespace troupe::checkpoint::store {

namespace {

using parts::prefix;

/// One read transaction around a read, so that every row it reads comes from one snapshot of the
/// file even while another connection (the node, while a tool inspects its file) deletes a
/// checkpoint. runtime/storage's `begin()` is BEGIN IMMEDIATE (a write lock), so this issues a
/// deferred BEGIN itself; it is ended before the store returns, and never spans a `begin()`.
/// Declare it before any statement of the read so that it ends after them.
class read_snapshot {
 public:
  explicit read_snapshot(storage::database& db) : db_(db) {
    // Inside a write transaction (never, today) the reads already see one state.
    if (!db_.in_transaction()) open_ = static_cast<bool>(db_.exec("BEGIN DEFERRED"));
  }
  ~read_snapshot() {
    // Nothing was written: ROLLBACK and COMMIT both just end the snapshot; a failure to end it
    // would surface at the next BEGIN, which reports its own error.
    if (open_) (void)db_.exec("ROLLBACK");
  }
  read_snapshot(const read_snapshot&) = delete;
  read_snapshot& operator=(const read_snapshot&) = delete;

 private:
  storage::database& db_;
  bool open_ = false;
};

constexpr const char* manifest_columns =
    "SELECT id, initiator, status, reason, started_unix_ms, finished_unix_ms, participant_count,"
    " state_count, channel_count, message_count, state_bytes, message_bytes, checksum"
    " FROM checkpoints ";

/// The manifest row the statement is on, verified against its checksum.
result<checkpoint_summary> read_manifest_row(const storage::statement& s) {
  checkpoint_summary m;
  m.id = sql::column_u64(s, 0);
  m.initiator = sql::column_u64(s, 1);
  const auto status_name = s.column_text(2);
  const auto status = parse_status(status_name);
  m.reason = std::string{s.column_text(3)};
  m.started_unix_ms = s.column_int64(4);
  m.finished_unix_ms = s.column_int64(5);
  m.participant_count = sql::column_u64(s, 6);
  m.state_count = sql::column_u64(s, 7);
  m.channel_count = sql::column_u64(s, 8);
  m.message_count = sql::column_u64(s, 9);
  m.state_bytes = sql::column_u64(s, 10);
  m.message_bytes = sql::column_u64(s, 11);
  if (status) m.status = *status;
  if (!status || parts::manifest_checksum(m) != sql::column_u64(s, 12)) {
    return make_error(errc::corrupt, prefix(m.id) + "the manifest fails its checksum");
  }
  return m;
}

result<checkpoint_summary> read_manifest(storage::database& db, checkpoint_id id) {
  auto select = db.prepare(std::string{manifest_columns} + "WHERE id = ?");
  if (!select) return select.err();
  if (auto b = sql::bind_all(*select, id); !b) return b.err();
  auto row = select->step();
  if (!row) return row.err();
  if (!*row) return make_error(errc::not_found, prefix(id) + "not stored");
  return read_manifest_row(*select);
}

/// The manifest's participants, verified, and checked against the manifest's counts.
result<std::vector<participant_summary>> read_participants(storage::database& db,
                                                           const checkpoint_summary& m) {
  auto select = db.prepare(
      "SELECT participant, node, location, has_state, state_bytes, checksum FROM participants"
      " WHERE checkpoint_id = ?");
  if (!select) return select.err();
  if (auto b = sql::bind_all(*select, m.id); !b) return b.err();
  std::map<participant_id, participant_summary> rows;  // ascending id, also above 2^63
  std::uint64_t with_state = 0;
  while (true) {
    auto row = select->step();
    if (!row) return row.err();
    if (!*row) break;
    participant_summary p;
    p.participant = sql::column_u64(*select, 0);
    p.where.node = std::string{select->column_text(1)};
    p.where.location = std::string{select->column_text(2)};
    p.has_state = select->column_int64(3) != 0;
    p.state_bytes = sql::column_u64(*select, 4);
    if (parts::participant_checksum(m.id, p) != sql::column_u64(*select, 5)) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " +
                                           std::to_string(p.participant) +
                                           ": its manifest entry fails its checksum");
    }
    if (p.has_state) ++with_state;
    rows[p.participant] = std::move(p);
  }
  if (rows.size() != m.participant_count || with_state != m.state_count) {
    return make_error(errc::corrupt, prefix(m.id) + "the manifest lists " +
                                         std::to_string(m.participant_count) + " participants (" +
                                         std::to_string(m.state_count) + " with a state), " +
                                         std::to_string(rows.size()) + " (" +
                                         std::to_string(with_state) + ") are stored");
  }
  std::vector<participant_summary> out;
  for (auto& [id, p] : rows) out.push_back(std::move(p));
  return out;
}

struct channel_row {
  std::uint64_t message_count = 0;
  std::uint64_t message_bytes = 0;
};

result<std::map<channel_id, channel_row>> read_channels(storage::database& db,
                                                        const checkpoint_summary& m) {
  auto select = db.prepare(
      "SELECT sender, receiver, message_count, message_bytes, checksum FROM channels"
      " WHERE checkpoint_id = ?");
  if (!select) return select.err();
  if (auto b = sql::bind_all(*select, m.id); !b) return b.err();
  std::map<channel_id, channel_row> out;
  while (true) {
    auto row = select->step();
    if (!row) return row.err();
    if (!*row) break;
    const channel_id c{sql::column_u64(*select, 0), sql::column_u64(*select, 1)};
    const channel_row r{sql::column_u64(*select, 2), sql::column_u64(*select, 3)};
    if (parts::channel_checksum(m.id, c, r.message_count, r.message_bytes) !=
        sql::column_u64(*select, 4)) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " + std::to_string(c.to) +
                                           ": channel " + parts::channel_text(c) +
                                           " fails its checksum");
    }
    out[c] = r;
  }
  // Channels recorded empty (schema version 2: one row per checkpoint; none in version 1, whose
  // checkpoints have a `channels` row for every channel). A deleted row is caught by the count.
  auto empty = db.prepare("SELECT channels, checksum FROM empty_channels WHERE checkpoint_id = ?");
  if (!empty) return empty.err();
  if (auto b = sql::bind_all(*empty, m.id); !b) return b.err();
  auto row = empty->step();
  if (!row) return row.err();
  if (*row) {
    const auto blob = empty->column_blob(0);
    auto channels = parts::decode_channels(blob);
    if (!channels || parts::empty_channels_checksum(m.id, blob) != sql::column_u64(*empty, 1)) {
      return make_error(errc::corrupt, prefix(m.id) + "the list of empty channels fails its checksum");
    }
    for (const auto& c : *channels) {
      if (!out.emplace(c, channel_row{}).second) {
        return make_error(errc::corrupt, prefix(m.id) + "participant " + std::to_string(c.to) +
                                             ": channel " + parts::channel_text(c) +
                                             " is stored twice");
      }
    }
  }
  if (out.size() != m.channel_count) {
    return make_error(errc::corrupt, prefix(m.id) + "the manifest lists " +
                                         std::to_string(m.channel_count) + " channels, " +
                                         std::to_string(out.size()) + " are stored");
  }
  return out;
}

status read_local_states(storage::database& db, const checkpoint_summary& m,
                         const std::vector<participant_summary>& members, global_state& out) {
  auto select =
      db.prepare("SELECT participant, state, checksum FROM local_states WHERE checkpoint_id = ?");
  if (!select) return select.err();
  if (auto b = sql::bind_all(*select, m.id); !b) return b;
  while (true) {
    auto row = select->step();
    if (!row) return row.err();
    if (!*row) break;
    const participant_id p = sql::column_u64(*select, 0);
    const auto state = select->column_blob(1);
    if (parts::state_checksum(m.id, p, state) != sql::column_u64(*select, 2)) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " + std::to_string(p) +
                                           ": local state fails its checksum");
    }
    out.local_states[p] = parts::to_bytes(state);
  }
  for (const auto& p : members) {
    const auto found = out.local_states.find(p.participant);
    if (found == out.local_states.end() || found->second.size() != p.state_bytes) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " +
                                           std::to_string(p.participant) +
                                           ": local state missing or of the wrong size");
    }
  }
  if (out.local_states.size() != members.size()) {
    return make_error(errc::corrupt, prefix(m.id) + "a local state of a non-participant is stored");
  }
  return {};
}

status read_messages(storage::database& db, const checkpoint_summary& m,
                     const std::map<channel_id, channel_row>& channels, global_state& out) {
  for (const auto& [c, r] : channels) {
    if (!out.local_states.contains(c.from) || !out.local_states.contains(c.to)) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " + std::to_string(c.to) +
                                           ": channel " + parts::channel_text(c) +
                                           " has an end that is not a participant");
    }
    out.channels[c];  // an empty recorded channel is part of the global state too
  }
  auto select = db.prepare(
      "SELECT sender, receiver, position, sequence, epoch, lamport, vector_clock, payload, checksum"
      " FROM messages WHERE checkpoint_id = ? ORDER BY sender, receiver, position");
  if (!select) return select.err();
  if (auto b = sql::bind_all(*select, m.id); !b) return b;
  while (true) {
    auto row = select->step();
    if (!row) return row.err();
    if (!*row) break;
    const channel_id c{sql::column_u64(*select, 0), sql::column_u64(*select, 1)};
    const std::uint64_t position = sql::column_u64(*select, 2);
    const auto where = prefix(m.id) + "participant " + std::to_string(c.to) + ": channel " +
                       parts::channel_text(c) + " message " + std::to_string(position);
    auto channel = out.channels.find(c);
    if (channel == out.channels.end()) {
      return make_error(errc::corrupt, where + " belongs to no stored channel");
    }
    if (position != channel->second.size()) {
      return make_error(errc::corrupt, where + ": a message before it is missing");
    }
    envelope e;
    e.from = c.from;
    e.to = c.to;
    e.sequence = sql::column_u64(*select, 3);
    e.epoch = sql::column_u64(*select, 4);
    e.lamport = sql::column_u64(*select, 5);
    auto clock = parts::decode_clock(select->column_blob(6));
    e.payload = parts::to_bytes(select->column_blob(7));
    if (clock) e.vector_clock = std::move(*clock);
    if (!clock || parts::message_checksum(m.id, c, position, e) != sql::column_u64(*select, 8)) {
      return make_error(errc::corrupt, where + " fails its checksum");
    }
    channel->second.push_back(std::move(e));
  }
  for (const auto& [c, r] : channels) {
    std::uint64_t payload_bytes = 0;
    for (const auto& e : out.channels[c]) payload_bytes += e.payload.size();
    if (out.channels[c].size() != r.message_count || payload_bytes != r.message_bytes) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " + std::to_string(c.to) +
                                           ": channel " + parts::channel_text(c) + " has " +
                                           std::to_string(out.channels[c].size()) + " of its " +
                                           std::to_string(r.message_count) + " messages");
    }
  }
  return {};
}

/// The manifest of checkpoint `id` and its participants, verified (show and load start so).
result<manifest> read_head(storage::database& db, checkpoint_id id) {
  auto m = read_manifest(db, id);
  if (!m) return m.err();
  auto members = read_participants(db, *m);
  if (!members) return members.err();
  return manifest{std::move(*m), std::move(*members)};
}

}  // namespace

result<std::vector<checkpoint_summary>> sqlite_checkpoint_store::list() {
  const read_snapshot snapshot(db_);
  auto select = db_.prepare(std::string{manifest_columns} + "ORDER BY id DESC");
  if (!select) return select.err();
  std::vector<checkpoint_summary> out;
  while (true) {
    auto row = select->step();
    if (!row) return row.err();
    if (!*row) break;
    auto m = read_manifest_row(*select);
    if (!m) return m.err();
    out.push_back(std::move(*m));
  }
  return out;
}

result<checkpoint_id> sqlite_checkpoint_store::highest_id() {
  auto select = db_.prepare("SELECT COALESCE(MAX(id), 0) FROM checkpoints");
  if (!select) return select.err();
  auto row = select->step();
  if (!row) return row.err();
  // The schema keeps ids in 1..INT64_MAX (rules.cpp), so the cast is exact.
  return *row ? static_cast<checkpoint_id>(select->column_int64(0)) : checkpoint_id{0};
}

result<manifest> sqlite_checkpoint_store::show(checkpoint_id id) {
  const read_snapshot snapshot(db_);
  auto head = read_head(db_, id);
  if (!head) return head.err();
  auto channels = read_channels(db_, head->summary);
  if (!channels) return channels.err();
  manifest out = std::move(*head);
  std::map<participant_id, participant_summary*> by_id;
  for (auto& p : out.participants) by_id[p.participant] = &p;
  for (const auto& [c, r] : *channels) {
    if (auto found = by_id.find(c.to); found != by_id.end()) {
      ++found->second->channels_in;
      found->second->messages_in += r.message_count;
    }
  }
  return out;
}

result<global_state> sqlite_checkpoint_store::load(checkpoint_id id) {
  const read_snapshot snapshot(db_);
  auto head = read_head(db_, id);
  if (!head) return head.err();
  const checkpoint_summary* m = &head->summary;
  const std::vector<participant_summary>* members = &head->participants;
  if (auto why = rules::incomplete_reason(*m, *members)) {
    return make_error(errc::invalid_argument, *why);
  }
  auto channels = read_channels(db_, *m);
  if (!channels) return channels.err();
  global_state out;
  out.id = m->id;
  out.initiator = m->initiator;
  if (auto s = read_local_states(db_, *m, *members, out); !s) return s.err();
  if (auto s = read_messages(db_, *m, *channels, out); !s) return s.err();
  // Every row verified on its own; the totals tie them to the manifest (read back, so checked
  // as data, not asserted).
  const std::uint64_t message_bytes = out.byte_count() - m->state_bytes;
  if (out.recorded_message_count() != m->message_count || message_bytes != m->message_bytes) {
    return make_error(errc::corrupt,
                      prefix(m->id) + "the manifest counts " + std::to_string(m->message_count) +
                          " messages of " + std::to_string(m->message_bytes) +
                          " bytes, the channels " + std::to_string(out.recorded_message_count()) +
                          " of " + std::to_string(message_bytes));
  }
  return out;
}

}  // namespace troupe::checkpoint::store
