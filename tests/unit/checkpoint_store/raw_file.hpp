#pragma once
/// For the store tests that look at or damage the file behind the store's back: opening the
/// store and a second connection, and rewriting a checkpoint into an older schema's layout.

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "snapshot/store/parts.hpp"
#include "snapshot/store/runs.hpp"
#include "snapshot/store/schema.hpp"
#include "snapshot/store/sql.hpp"
#include "snapshot/store/sqlite_checkpoint_store.hpp"
#include "tests/unit/storage/printers.hpp"

namespace troupe::checkpoint::store_test {

inline store::sqlite_checkpoint_store open_store(const std::string& path,
                                                 store::retention keep = {}) {
  store::store_options opts;
  opts.keep = keep;
  opts.database.background_checkpoint = false;
  auto s = store::sqlite_checkpoint_store::open(path, opts);
  BOOST_REQUIRE_MESSAGE(s, why(s));
  return std::move(*s);
}

/// A second connection to the store's file, to damage it behind the store's back.
inline storage::database open_raw(const std::string& path) {
  storage::options opts;
  opts.migrations = store::schema_migrations();
  opts.background_checkpoint = false;
  auto db = storage::database::open(path, opts);
  BOOST_REQUIRE_MESSAGE(db, why(db));
  return std::move(*db);
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The number of checkpoint `id`'s rows in `table`, read behind the store's back.
inline std::int64_t count_rows(storage::database& raw, const std::string& table, checkpoint_id id) {
  std::optional<std::int64_t> count;
  const auto read = store::sql::for_each_row(
      raw, "SELECT count(*) FROM " + table + " WHERE checkpoint_id = ?",
      [&](const storage::statement& s) { count = s.column_int64(0); }, id);
  BOOST_REQUIRE_MESSAGE(read, why(read));
  BOOST_REQUIRE(count);
  return *count;
}

/// Rewrites checkpoint `id` as schema version 2 stored it: a row per participant, local state,
/// channel holding messages and message, with the checksums the runs carry (they are version
/// 2's, runs.hpp), and no `part_runs` row.
inline void rewrite_as_version_2(storage::database& raw, checkpoint_id id) {
  store::runs::stored_rows rows;
  const auto read = store::sql::for_each_row(
      raw, "SELECT run, kind, body FROM part_runs WHERE checkpoint_id = ?",
      [&](const storage::statement& select) {
        return store::runs::unpack(id, store::sql::column_u64(select, 0), select.column_int64(1),
                                   select.column_blob(2), true, rows);
      },
      id);
  BOOST_REQUIRE_MESSAGE(read, why(read));
  const auto write = [&](std::string_view text, const auto&... values) {
    const auto done = store::sql::run(raw, text, values...);
    BOOST_REQUIRE_MESSAGE(done, why(done));
  };
  for (const auto& p : rows.participants) {
    write("INSERT INTO participants VALUES (?,?,?,?,?,?,?)", id, p.row.participant,
           p.row.where.node, p.row.where.location, p.row.has_state, p.row.state_bytes,
           p.checksum);
  }
  for (const auto& st : rows.states) {
    write("INSERT INTO local_states VALUES (?,?,?,?)", id, st.participant,
           store::parts::as_span(st.state), st.checksum);
  }
  for (const auto& c : rows.channels) {
    write("INSERT INTO channels VALUES (?,?,?,?,?,?)", id, c.channel.from, c.channel.to,
           c.message_count, c.message_bytes, c.checksum);
  }
  for (const auto& m : rows.messages) {
    write("INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?)", id, m.message.from, m.message.to,
           m.position, m.message.sequence, m.message.epoch, m.message.lamport,
           store::parts::encode_clock(m.message.vector_clock),
           store::parts::as_span(m.message.payload), m.checksum);
  }
  write("DELETE FROM part_runs WHERE checkpoint_id = ?", id);
}

}  // namespace troupe::checkpoint::store_test
