// The read side of the store: list, show, latest_complete, load (verified), plan.
#include <algorithm>
#include <map>
#include <optional>

#include "snapshot/store/parts.hpp"
#include "snapshot/store/rules.hpp"
#include "snapshot/store/runs.hpp"
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

/// Checkpoint `m`'s rows as stored, not yet verified: from version 3's runs and from the tables
/// of versions 1 and 2 (a checkpoint has one layout or the other; a file may hold both kinds).
/// `with_parts`: also the local states and messages (show needs neither; runs are parsed whole
/// either way, so damage reads the same). The first run whose own checksum fails is kept in
/// `first_bad_run`, checked after the entries, so that a damaged entry is reported by name first.
struct rows_read {
  runs::stored_rows rows;
  std::optional<std::uint64_t> first_bad_run;
};

status read_runs(storage::database& db, checkpoint_id id, bool with_parts, rows_read& out) {
  return sql::for_each_row(
      db, "SELECT run, kind, body, checksum FROM part_runs WHERE checkpoint_id = ? ORDER BY run",
      [&](const storage::statement& select) {
        const auto index = sql::column_u64(select, 0);
        const auto kind = select.column_int64(1);
        const auto body = select.column_blob(2);
        if (!out.first_bad_run &&
            parts::run_checksum(id, index, kind, body) != sql::column_u64(select, 3)) {
          out.first_bad_run = index;
        }
        return runs::unpack(id, index, kind, body, with_parts, out.rows);
      },
      id);
}

status read_old_tables(storage::database& db, checkpoint_id id, bool with_parts, rows_read& out) {
  auto& rows = out.rows;
  auto s = sql::for_each_row(
      db,
      "SELECT participant, node, location, has_state, state_bytes, checksum FROM participants"
      " WHERE checkpoint_id = ?",
      [&](const storage::statement& participants) {
        runs::participant_record p;
        p.row.participant = sql::column_u64(participants, 0);
        p.row.where.node = std::string{participants.column_text(1)};
        p.row.where.location = std::string{participants.column_text(2)};
        p.row.has_state = participants.column_int64(3) != 0;
        p.row.state_bytes = sql::column_u64(participants, 4);
        p.checksum = sql::column_u64(participants, 5);
        rows.participants.push_back(std::move(p));
      },
      id);
  if (!s) return s;
  s = sql::for_each_row(
      db,
      "SELECT sender, receiver, message_count, message_bytes, checksum FROM channels"
      " WHERE checkpoint_id = ?",
      [&](const storage::statement& channels) {
        rows.channels.push_back(runs::channel_record{
            {sql::column_u64(channels, 0), sql::column_u64(channels, 1)},
            sql::column_u64(channels, 2), sql::column_u64(channels, 3),
            sql::column_u64(channels, 4)});
      },
      id);
  if (!s || !with_parts) return s;
  s = sql::for_each_row(
      db, "SELECT participant, state, checksum FROM local_states WHERE checkpoint_id = ?",
      [&](const storage::statement& states) {
        rows.states.push_back(runs::state_record{sql::column_u64(states, 0),
                                                 parts::to_bytes(states.column_blob(1)),
                                                 sql::column_u64(states, 2)});
      },
      id);
  if (!s) return s;
  return sql::for_each_row(
      db,
      "SELECT sender, receiver, position, sequence, epoch, lamport, vector_clock, payload, checksum"
      " FROM messages WHERE checkpoint_id = ? ORDER BY sender, receiver, position",
      [&](const storage::statement& messages) {
        runs::message_record m;
        m.message.from = sql::column_u64(messages, 0);
        m.message.to = sql::column_u64(messages, 1);
        m.position = sql::column_u64(messages, 2);
        m.message.sequence = sql::column_u64(messages, 3);
        m.message.epoch = sql::column_u64(messages, 4);
        m.message.lamport = sql::column_u64(messages, 5);
        auto clock = parts::decode_clock(messages.column_blob(6));
        m.clock_ok = clock.has_value();
        if (clock) m.message.vector_clock = std::move(*clock);
        m.message.payload = parts::to_bytes(messages.column_blob(7));
        m.checksum = sql::column_u64(messages, 8);
        rows.messages.push_back(std::move(m));
      },
      id);
}

result<rows_read> read_rows(storage::database& db, checkpoint_id id, bool with_parts) {
  rows_read out;
  if (auto s = read_runs(db, id, with_parts, out); !s) return s.err();
  if (auto s = read_old_tables(db, id, with_parts, out); !s) return s.err();
  return out;
}

/// After every entry verified: a run whose own checksum failed (damage no entry's check saw).
status check_runs(checkpoint_id id, const rows_read& read) {
  if (!read.first_bad_run) return {};
  return make_error(errc::corrupt, prefix(id) + "part run " + std::to_string(*read.first_bad_run) +
                                       " fails its checksum");
}

/// The manifest's participants, verified, and checked against the manifest's counts.
result<std::vector<participant_summary>> verify_participants(
    const checkpoint_summary& m, std::vector<runs::participant_record>& records) {
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a.row.participant < b.row.participant;  // ascending id, also above 2^63
  });
  std::vector<participant_summary> out;
  out.reserve(records.size());
  std::uint64_t with_state = 0;
  for (auto& record : records) {
    auto& p = record.row;
    if (parts::participant_checksum(m.id, p) != record.checksum) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " +
                                           std::to_string(p.participant) +
                                           ": its manifest entry fails its checksum");
    }
    if (!out.empty() && out.back().participant == p.participant) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " +
                                           std::to_string(p.participant) + " is stored twice");
    }
    if (p.has_state) ++with_state;
    out.push_back(std::move(p));
  }
  if (out.size() != m.participant_count || with_state != m.state_count) {
    return make_error(errc::corrupt, prefix(m.id) + "the manifest lists " +
                                         std::to_string(m.participant_count) + " participants (" +
                                         std::to_string(m.state_count) + " with a state), " +
                                         std::to_string(out.size()) + " (" +
                                         std::to_string(with_state) + ") are stored");
  }
  return out;
}

struct channel_row {
  std::uint64_t message_count = 0;
  std::uint64_t message_bytes = 0;
};

result<std::map<channel_id, channel_row>> verify_channels(
    storage::database& db, const checkpoint_summary& m,
    const std::vector<runs::channel_record>& records) {
  std::map<channel_id, channel_row> out;
  const auto twice = [&](const channel_id& c) {
    return make_error(errc::corrupt, prefix(m.id) + "participant " + std::to_string(c.to) +
                                         ": channel " + parts::channel_text(c) +
                                         " is stored twice");
  };
  for (const auto& r : records) {
    const auto& c = r.channel;
    if (parts::channel_checksum(m.id, c, r.message_count, r.message_bytes) != r.checksum) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " + std::to_string(c.to) +
                                           ": channel " + parts::channel_text(c) +
                                           " fails its checksum");
    }
    if (!out.emplace(c, channel_row{r.message_count, r.message_bytes}).second) return twice(c);
  }
  // Channels recorded empty (schema version 2 and later: one row per checkpoint; none in version
  // 1, whose checkpoints have a `channels` row for every channel). A deleted row is caught by
  // the count.
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
      if (!out.emplace(c, channel_row{}).second) return twice(c);
    }
  }
  if (out.size() != m.channel_count) {
    return make_error(errc::corrupt, prefix(m.id) + "the manifest lists " +
                                         std::to_string(m.channel_count) + " channels, " +
                                         std::to_string(out.size()) + " are stored");
  }
  return out;
}

status verify_local_states(const checkpoint_summary& m,
                           const std::vector<participant_summary>& members,
                           std::vector<runs::state_record>& records, global_state& out) {
  for (auto& r : records) {
    if (parts::state_checksum(m.id, r.participant, parts::as_span(r.state)) != r.checksum) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " +
                                           std::to_string(r.participant) +
                                           ": local state fails its checksum");
    }
    out.local_states[r.participant] = std::move(r.state);
  }
  for (const auto& p : members) {
    const auto found = out.local_states.find(p.participant);
    if (found == out.local_states.end() || found->second.size() != p.state_bytes) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " +
                                           std::to_string(p.participant) +
                                           ": local state missing or of the wrong size");
    }
  }
  if (out.local_states.size() != members.size() || records.size() != members.size()) {
    return make_error(errc::corrupt,
                      prefix(m.id) + "a local state of a non-participant, or one stored twice");
  }
  return {};
}

status verify_messages(const checkpoint_summary& m,
                       const std::map<channel_id, channel_row>& channels,
                       std::vector<runs::message_record>& records, global_state& out) {
  for (const auto& [c, r] : channels) {
    if (!out.local_states.contains(c.from) || !out.local_states.contains(c.to)) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " + std::to_string(c.to) +
                                           ": channel " + parts::channel_text(c) +
                                           " has an end that is not a participant");
    }
    out.channels[c];  // an empty recorded channel is part of the global state too
  }
  // In channel order, whichever layout they came from (runs are, the old table is read so).
  std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    const channel_id ca{a.message.from, a.message.to};
    const channel_id cb{b.message.from, b.message.to};
    return ca != cb ? ca < cb : a.position < b.position;
  });
  for (auto& record : records) {
    auto& e = record.message;
    const channel_id c{e.from, e.to};
    const auto where = prefix(m.id) + "participant " + std::to_string(c.to) + ": channel " +
                       parts::channel_text(c) + " message " + std::to_string(record.position);
    auto channel = out.channels.find(c);
    if (channel == out.channels.end()) {
      return make_error(errc::corrupt, where + " belongs to no stored channel");
    }
    if (record.position != channel->second.size()) {
      return make_error(errc::corrupt, where + ": a message before it is missing");
    }
    if (!record.clock_ok ||
        parts::message_checksum(m.id, c, record.position, e) != record.checksum) {
      return make_error(errc::corrupt, where + " fails its checksum");
    }
    channel->second.push_back(std::move(e));
  }
  for (const auto& [c, r] : channels) {
    const auto& messages = out.channels[c];
    std::uint64_t payload_bytes = 0;
    for (const auto& e : messages) payload_bytes += e.payload.size();
    if (messages.size() != r.message_count || payload_bytes != r.message_bytes) {
      return make_error(errc::corrupt, prefix(m.id) + "participant " + std::to_string(c.to) +
                                           ": channel " + parts::channel_text(c) + " has " +
                                           std::to_string(messages.size()) + " of its " +
                                           std::to_string(r.message_count) + " messages");
    }
  }
  return {};
}

}  // namespace

result<std::vector<checkpoint_summary>> sqlite_checkpoint_store::list() {
  const read_snapshot snapshot(db_);
  std::vector<checkpoint_summary> out;
  auto s = sql::for_each_row(db_, std::string{manifest_columns} + "ORDER BY id DESC",
                             [&](const storage::statement& select) -> status {
                               auto m = read_manifest_row(select);
                               if (!m) return m.err();
                               out.push_back(std::move(*m));
                               return {};
                             });
  if (!s) return s.err();
  return out;
}

result<checkpoint_id> sqlite_checkpoint_store::highest_id() {
  // The checkpoints stored and the mark left by deleted ones (schema version 4).
  auto select = db_.prepare(
      "SELECT MAX(COALESCE((SELECT MAX(id) FROM checkpoints), 0),"
      " COALESCE((SELECT highest FROM checkpoint_ids WHERE singleton = 1), 0))");
  if (!select) return select.err();
  auto row = select->step();
  if (!row) return row.err();
  // The schema keeps ids in 1..INT64_MAX (rules.cpp), so the cast is exact.
  return *row ? static_cast<checkpoint_id>(select->column_int64(0)) : checkpoint_id{0};
}

result<manifest> sqlite_checkpoint_store::show(checkpoint_id id) {
  const read_snapshot snapshot(db_);
  auto m = read_manifest(db_, id);
  if (!m) return m.err();
  auto read = read_rows(db_, id, false);
  if (!read) return read.err();
  auto members = verify_participants(*m, read->rows.participants);
  if (!members) return members.err();
  auto channels = verify_channels(db_, *m, read->rows.channels);
  if (!channels) return channels.err();
  if (auto s = check_runs(id, *read); !s) return s.err();
  manifest out{std::move(*m), std::move(*members)};
  // Ascending by participant: each channel's receiver by binary search.
  for (const auto& [c, r] : *channels) {
    auto found = std::lower_bound(
        out.participants.begin(), out.participants.end(), c.to,
        [](const participant_summary& p, participant_id to) { return p.participant < to; });
    if (found != out.participants.end() && found->participant == c.to) {
      ++found->channels_in;
      found->messages_in += r.message_count;
    }
  }
  return out;
}

result<global_state> sqlite_checkpoint_store::load(checkpoint_id id) {
  const read_snapshot snapshot(db_);
  auto m = read_manifest(db_, id);
  if (!m) return m.err();
  auto read = read_rows(db_, id, true);
  if (!read) return read.err();
  auto members = verify_participants(*m, read->rows.participants);
  if (!members) return members.err();
  if (auto why = rules::incomplete_reason(*m, *members)) {
    return make_error(errc::invalid_argument, *why);
  }
  auto channels = verify_channels(db_, *m, read->rows.channels);
  if (!channels) return channels.err();
  global_state out;
  out.id = m->id;
  out.initiator = m->initiator;
  if (auto s = verify_local_states(*m, *members, read->rows.states, out); !s) return s.err();
  if (auto s = verify_messages(*m, *channels, read->rows.messages, out); !s) return s.err();
  if (auto s = check_runs(id, *read); !s) return s.err();
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
