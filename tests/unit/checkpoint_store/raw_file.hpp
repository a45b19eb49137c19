#pragma once
/// For the store tests that look at or damage the file behind the store's back: opening the
/// store and a second connection, and rewriting a checkpoint into an older schema's layout.

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "snapshot/store/parts.hpp"
#include "snapshot/store/runs.hpp"
#include "snapshot/store/schema.hpp"
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

/// Rewrites checkpoint `id` as schema version 2 stored it: a row per participant, local state,
/// channel holding messages and message, with the checksums the runs carry (they are version
/// 2's, runs.hpp), and no `part_runs` row.
inline void rewrite_as_version_2(storage::database& raw, checkpoint_id id) {
  store::runs::stored_rows rows;
  {
    auto select = raw.prepare("SELECT run, kind, body FROM part_runs WHERE checkpoint_id = ?");
    BOOST_REQUIRE(select);
    BOOST_REQUIRE(select->bind_int64(1, static_cast<std::int64_t>(id)));
    while (*select->step()) {
      BOOST_REQUIRE(store::runs::unpack(id, static_cast<std::uint64_t>(select->column_int64(0)),
                                        select->column_int64(1), select->column_blob(2), true,
                                        rows));
    }
  }
  const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
  const auto bytes_of = [](const bytes& b) { return std::as_bytes(std::span<const char>(b)); };
  for (const auto& p : rows.participants) {
    auto s = raw.prepare("INSERT INTO participants VALUES (?,?,?,?,?,?,?)");
    BOOST_REQUIRE(s);
    BOOST_REQUIRE(s->bind_int64(1, i64(id)) && s->bind_int64(2, i64(p.row.participant)) &&
                  s->bind_text(3, p.row.where.node) && s->bind_text(4, p.row.where.location) &&
                  s->bind_int64(5, p.row.has_state ? 1 : 0) &&
                  s->bind_int64(6, i64(p.row.state_bytes)) && s->bind_int64(7, i64(p.checksum)));
    BOOST_REQUIRE(s->run());
  }
  for (const auto& st : rows.states) {
    auto s = raw.prepare("INSERT INTO local_states VALUES (?,?,?,?)");
    BOOST_REQUIRE(s);
    BOOST_REQUIRE(s->bind_int64(1, i64(id)) && s->bind_int64(2, i64(st.participant)) &&
                  s->bind_blob(3, bytes_of(st.state)) && s->bind_int64(4, i64(st.checksum)));
    BOOST_REQUIRE(s->run());
  }
  for (const auto& c : rows.channels) {
    auto s = raw.prepare("INSERT INTO channels VALUES (?,?,?,?,?,?)");
    BOOST_REQUIRE(s);
    BOOST_REQUIRE(s->bind_int64(1, i64(id)) && s->bind_int64(2, i64(c.channel.from)) &&
                  s->bind_int64(3, i64(c.channel.to)) && s->bind_int64(4, i64(c.message_count)) &&
                  s->bind_int64(5, i64(c.message_bytes)) && s->bind_int64(6, i64(c.checksum)));
    BOOST_REQUIRE(s->run());
  }
  for (const auto& m : rows.messages) {
    const auto clock = store::parts::encode_clock(m.message.vector_clock);
    auto s = raw.prepare("INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?)");
    BOOST_REQUIRE(s);
    BOOST_REQUIRE(s->bind_int64(1, i64(id)) && s->bind_int64(2, i64(m.message.from)) &&
                  s->bind_int64(3, i64(m.message.to)) && s->bind_int64(4, i64(m.position)) &&
                  s->bind_int64(5, i64(m.message.sequence)) &&
                  s->bind_int64(6, i64(m.message.epoch)) &&
                  s->bind_int64(7, i64(m.message.lamport)) && s->bind_blob(8, clock) &&
                  s->bind_blob(9, bytes_of(m.message.payload)) &&
                  s->bind_int64(10, i64(m.checksum)));
    BOOST_REQUIRE(s->run());
  }
  auto drop = raw.prepare("DELETE FROM part_runs WHERE checkpoint_id = ?");
  BOOST_REQUIRE(drop);
  BOOST_REQUIRE(drop->bind_int64(1, i64(id)));
  BOOST_REQUIRE(drop->run());
}

}  // namespace troupe::checkpoint::store_test
