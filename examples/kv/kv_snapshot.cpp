#include "examples/kv/kv_snapshot.hpp"

#include <cstring>
#include <utility>

#include "consensus/core/snapshot_bytes.hpp"
#include "runtime/base/crc32c.hpp"

namespace troupe::kv {

namespace {

/// "TRPKVSNP" read as a little-endian u64: the first 8 bytes of every image.
constexpr std::uint64_t magic = 0x504E53564B505254ULL;
constexpr std::size_t trailer_bytes = 8;  // the CRC-32C, as a u64
// Smallest encodings, to bound a count by the bytes that remain.
constexpr std::size_t min_key_bytes = 2 * 8 + 3 * 8;
constexpr std::size_t min_event_bytes = 8 + 1 + 2 * 8 + 2 * 8;
constexpr std::size_t min_session_bytes = 3 * 8 + 8;

using writer = raft::snapshot_writer;
using reader = raft::snapshot_reader;

error corrupt(const std::string& what) { return make_error(errc::corrupt, "kv snapshot: " + what); }

/// One key's record { key, value, create_revision, mod_revision, version }: assembled in a stack
/// buffer and appended with one copy when it fits (the bench's 8-byte keys and 256-byte values),
/// else field by field. In the node's image the kv part starts wherever the host's sessions and
/// services end, at any alignment: three appends per record (then ~2.5 small copies to unaligned
/// places) cost ~30% more there than at an aligned start; one copy per record costs about the same
/// at every alignment (kv_snapshot_bench, alternated runs).
void put_key(writer& w, const std::string& key, const key_record& rec) {
  constexpr std::size_t fixed_bytes = 2 * 8 + 3 * 8;
  constexpr std::size_t buffer_bytes = 1024;
  if (key.size() + rec.value.size() <= buffer_bytes - fixed_bytes) {
    char buffer[buffer_bytes];
    char* at = buffer;
    writer::put_u64(at, key.size());
    std::memcpy(at + 8, key.data(), key.size());
    at += 8 + key.size();
    writer::put_u64(at, rec.value.size());
    std::memcpy(at + 8, rec.value.data(), rec.value.size());
    at += 8 + rec.value.size();
    writer::put_u64(at, rec.create_revision);
    writer::put_u64(at + 8, rec.mod_revision);
    writer::put_u64(at + 16, rec.version);
    w.raw(std::string_view(buffer, static_cast<std::size_t>(at + 24 - buffer)));
    return;
  }
  w.bytes(key);
  w.bytes(rec.value);
  w.u64(rec.create_revision);
  w.u64(rec.mod_revision);
  w.u64(rec.version);
}

}  // namespace

std::size_t snapshot_size(const kv_store& store, const session_table& sessions) {
  // Each part's fixed fields, then the bytes its strings hold (the store and the table count them).
  constexpr std::size_t header_bytes = 5 * 8;  // magic, version, applied index, revision, compacted
  constexpr std::size_t key_fixed_bytes = 2 * 8 + 3 * 8;
  constexpr std::size_t event_fixed_bytes = 8 + 1 + 2 * 8 + 2 * 8;
  constexpr std::size_t session_fixed_bytes = 3 * 8 + 8;
  return header_bytes + 8 + store.size() * key_fixed_bytes + store.data_bytes() + 8 +
         store.history_events() * event_fixed_bytes + store.history_bytes() + 8 +
         sessions.size() * session_fixed_bytes + sessions.reply_bytes() + 8 + 8 +
         sessions.evicted_order().size() * 8 + trailer_bytes;
}

std::string encode_snapshot(const kv_store& store, const session_table& sessions, std::uint64_t applied_index) {
  std::string image;
  image.reserve(snapshot_size(store, sessions));
  append_snapshot(image, store, sessions, applied_index);
  return image;
}

void append_snapshot(std::string& out, const kv_store& store, const session_table& sessions,
                     std::uint64_t applied_index) {
  const std::size_t start = out.size();
  writer w(out);
  w.u64(magic);
  w.u64(snapshot_format_version);
  w.u64(applied_index);
  w.u64(store.revision());
  w.u64(store.compacted_revision());
  w.u64(store.data().size());
  for (const auto& [key, rec] : store.data()) put_key(w, key, rec);
  w.u64(store.history().size());
  for (const auto& e : store.history()) {
    w.u64(e.revision);
    w.u8(e.kind == change_kind::put ? 0 : 1);
    w.bytes(e.key);
    w.bytes(e.value);
    w.u64(e.create_revision);
    w.u64(e.version);
  }
  w.u64(sessions.size());
  sessions.for_each([&](const session_table::entry_view& e) {
    w.u64(e.client);
    w.u64(e.sequence);
    w.u64(e.last_index);
    w.bytes(e.reply);
  });
  w.u64(sessions.evictions());
  w.u64(sessions.evicted_order().size());
  for (std::uint64_t client : sessions.evicted_order()) w.u64(client);
  // The checksum of this image's bytes, read where they were just written (no copy of the image).
  w.u64(crc32c(std::string_view(out).substr(start)));
}

result<std::uint64_t> decode_snapshot(std::string_view image, kv_store& store, session_table& sessions) {
  if (image.size() < 8 + 8 + trailer_bytes) {
    return corrupt("image of " + std::to_string(image.size()) + " bytes is too short");
  }
  const std::string_view body = image.substr(0, image.size() - trailer_bytes);
  reader r(body);
  if (r.u64() != magic) return corrupt("not a kv snapshot (bad magic)");
  reader tail(image.substr(image.size() - trailer_bytes));
  if (crc32c(body) != tail.u64()) return corrupt("checksum mismatch (damaged or truncated image)");
  if (const auto version = r.u64(); version != snapshot_format_version) {
    return corrupt("format version " + std::to_string(version) + ", this build reads " +
                   std::to_string(snapshot_format_version));
  }
  const std::uint64_t applied_index = r.u64();
  const revision_t revision = r.u64();
  const revision_t compacted_revision = r.u64();

  std::map<std::string, key_record, std::less<>> data;
  const std::uint64_t n_keys = r.count(min_key_bytes);
  for (std::uint64_t i = 0; i < n_keys && r.ok(); ++i) {
    std::string key = r.bytes();
    key_record rec;
    rec.value = r.bytes();
    rec.create_revision = r.u64();
    rec.mod_revision = r.u64();
    rec.version = r.u64();
    if (!r.ok()) break;
    // Keys were written in order: anything else is not our encoder's output.
    if (!data.empty() && !(data.rbegin()->first < key)) return corrupt("keys out of order");
    data.emplace_hint(data.end(), std::move(key), std::move(rec));
  }
  std::deque<change_event> history;
  const std::uint64_t n_events = r.count(min_event_bytes);
  for (std::uint64_t i = 0; i < n_events && r.ok(); ++i) {
    change_event e;
    e.revision = r.u64();
    const std::uint8_t kind = r.u8();
    if (kind > 1) return corrupt("history event of unknown kind " + std::to_string(kind));
    e.kind = kind == 0 ? change_kind::put : change_kind::del;
    e.key = r.bytes();
    e.value = r.bytes();
    e.create_revision = r.u64();
    e.version = r.u64();
    history.push_back(std::move(e));
  }
  std::vector<session_table::entry> entries;
  const std::uint64_t n_sessions = r.count(min_session_bytes);
  entries.reserve(n_sessions);
  std::uint64_t previous_index = 0;
  for (std::uint64_t i = 0; i < n_sessions && r.ok(); ++i) {
    session_table::entry e;
    e.client = r.u64();
    e.sequence = r.u64();
    e.last_index = r.u64();
    e.reply = r.bytes();
    if (r.ok() && (e.last_index <= previous_index || e.last_index > applied_index)) {
      return corrupt("session order or last index inconsistent");
    }
    previous_index = e.last_index;
    entries.push_back(std::move(e));
  }
  const std::uint64_t evictions = r.u64();
  std::deque<std::uint64_t> evicted;
  const std::uint64_t n_evicted = r.count(8);
  for (std::uint64_t i = 0; i < n_evicted && r.ok(); ++i) evicted.push_back(r.u64());
  if (!r.ok()) return corrupt("truncated inside its body");
  if (!r.at_end()) return corrupt("unexpected bytes after the body");

  // Assemble into fresh objects first so that a failure leaves the caller's untouched.
  kv_store new_store(store.limits());
  if (auto problem = new_store.assign(std::move(data), std::move(history), revision, compacted_revision);
      !problem.empty()) {
    return corrupt(problem);
  }
  session_table new_sessions(sessions.limits());
  if (auto problem = new_sessions.assign(std::move(entries), std::move(evicted), evictions); !problem.empty()) {
    return corrupt(problem);
  }
  store = std::move(new_store);
  sessions = std::move(new_sessions);
  return applied_index;
}

}  // namespace troupe::kv
