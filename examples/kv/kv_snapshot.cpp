#include "examples/kv/kv_snapshot.hpp"

#include <cstring>
#include <utility>

#include "runtime/base/crc32c.hpp"

namespace troupe::kv {

namespace {

constexpr std::string_view magic = "TRPKVSNP";
// Smallest encodings, to bound a count by the bytes that remain.
constexpr std::size_t min_key_bytes = 4 + 4 + 3 * 8;
constexpr std::size_t min_event_bytes = 8 + 1 + 4 + 4 + 2 * 8;
constexpr std::size_t min_session_bytes = 3 * 8 + 4;

class writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  void raw(std::string_view s) { out_.append(s); }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

/// Reads from a span, failing (sticky) instead of reading past its end.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  std::size_t left() const { return in_.size() - at_; }
  std::uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<std::uint8_t>(in_[at_++]);
  }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<std::uint8_t>(in_[at_++])} << (8 * i);
    return v;
  }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<std::uint8_t>(in_[at_++])} << (8 * i);
    return v;
  }
  std::string str() {
    const std::uint32_t n = u32();
    if (!need(n)) return {};
    std::string s(in_.substr(at_, n));
    at_ += n;
    return s;
  }
  std::string_view raw(std::size_t n) {
    if (!need(n)) return {};
    auto s = in_.substr(at_, n);
    at_ += n;
    return s;
  }
  /// A count of records of at least `min_bytes` each; fails if they could not fit in what is left.
  std::uint64_t count(std::size_t min_bytes) {
    const std::uint64_t n = u64();
    if (ok_ && n > left() / min_bytes) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  bool need(std::size_t n) {
    if (ok_ && left() < n) ok_ = false;
    return ok_;
  }
  std::string_view in_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

error corrupt(const std::string& what) { return make_error(errc::corrupt, "kv snapshot: " + what); }

}  // namespace

std::string encode_snapshot(const kv_store& store, const session_table& sessions, std::uint64_t applied_index) {
  writer w;
  w.raw(magic);
  w.u32(snapshot_format_version);
  w.u64(applied_index);
  w.u64(store.revision());
  w.u64(store.compacted_revision());
  w.u64(store.data().size());
  for (const auto& [key, rec] : store.data()) {
    w.str(key);
    w.str(rec.value);
    w.u64(rec.create_revision);
    w.u64(rec.mod_revision);
    w.u64(rec.version);
  }
  w.u64(store.history().size());
  for (const auto& e : store.history()) {
    w.u64(e.revision);
    w.u8(e.kind == change_kind::put ? 0 : 1);
    w.str(e.key);
    w.str(e.value);
    w.u64(e.create_revision);
    w.u64(e.version);
  }
  w.u64(sessions.size());
  sessions.for_each([&](const session_table::entry& e) {
    w.u64(e.client);
    w.u64(e.sequence);
    w.u64(e.last_index);
    w.str(e.reply);
  });
  w.u64(sessions.evictions());
  w.u64(sessions.evicted_order().size());
  for (std::uint64_t client : sessions.evicted_order()) w.u64(client);
  w.u32(crc32c(w.bytes()));
  return std::move(w.bytes());
}

result<std::uint64_t> decode_snapshot(std::string_view image, kv_store& store, session_table& sessions) {
  if (image.size() < magic.size() + 4 + 4) return corrupt("image of " + std::to_string(image.size()) + " bytes is too short");
  if (image.substr(0, magic.size()) != magic) return corrupt("not a kv snapshot (bad magic)");
  const std::string_view body = image.substr(0, image.size() - 4);
  reader tail(image.substr(image.size() - 4));
  if (crc32c(body) != tail.u32()) return corrupt("checksum mismatch (damaged or truncated image)");
  reader r(body.substr(magic.size()));
  if (const auto version = r.u32(); version != snapshot_format_version) {
    return corrupt("format version " + std::to_string(version) + ", this build reads " +
                   std::to_string(snapshot_format_version));
  }
  const std::uint64_t applied_index = r.u64();
  const revision_t revision = r.u64();
  const revision_t compacted_revision = r.u64();

  std::map<std::string, key_record, std::less<>> data;
  const std::uint64_t n_keys = r.count(min_key_bytes);
  for (std::uint64_t i = 0; i < n_keys && r.ok(); ++i) {
    std::string key = r.str();
    key_record rec;
    rec.value = r.str();
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
    e.key = r.str();
    e.value = r.str();
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
    e.reply = r.str();
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
  if (r.left() != 0) return corrupt(std::to_string(r.left()) + " unexpected bytes after the body");

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
