#include "snapshot/store/runs.hpp"

#include <cassert>
#include <optional>
#include <string>
#include <string_view>

#include "snapshot/store/parts.hpp"

namespace troupe::checkpoint::store::runs {

namespace {

class writer {
 public:
  explicit writer(std::vector<std::byte>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::byte>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::byte>(v >> (8 * i)));
  }
  void blob(std::span<const std::byte> b) {
    assert(b.size() <= UINT32_MAX);
    u32(static_cast<std::uint32_t>(b.size()));
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void text(std::string_view s) { blob(std::as_bytes(std::span<const char>(s.data(), s.size()))); }

 private:
  std::vector<std::byte>& out_;
};

/// Reads a body front to back; every read checks the bounds (a damaged length must give an error,
/// never a read past the blob).
class reader {
 public:
  explicit reader(std::span<const std::byte> body) : body_(body) {}
  bool done() const noexcept { return at_ == body_.size(); }
  std::optional<std::uint64_t> fixed(std::size_t width) {
    if (body_.size() - at_ < width) return std::nullopt;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
      v |= static_cast<std::uint64_t>(body_[at_ + i]) << (8 * i);
    }
    at_ += width;
    return v;
  }
  std::optional<std::uint64_t> u64() { return fixed(8); }
  std::optional<std::uint64_t> u32() { return fixed(4); }
  std::optional<std::uint64_t> u8() { return fixed(1); }
  std::optional<std::span<const std::byte>> blob() {
    auto size = u32();
    if (!size || body_.size() - at_ < *size) return std::nullopt;
    auto out = body_.subspan(at_, *size);
    at_ += *size;
    return out;
  }
  std::size_t offset() const noexcept { return at_; }

 private:
  std::span<const std::byte> body_;
  std::size_t at_ = 0;
};

std::string text_of(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

/// The run being filled: a new one of `kind` when there is none, or the last is of another kind
/// or full.
std::vector<std::byte>& body_for(std::vector<run>& out, run_kind kind) {
  if (out.empty() || out.back().kind != kind || out.back().body.size() >= body_bytes_target) {
    out.push_back(run{kind, {}});
  }
  return out.back().body;
}

void pack_participant(checkpoint_id id, const participant_summary& row, const bytes* state,
                      std::vector<std::byte>& body) {
  writer w(body);
  w.u64(row.participant);
  w.text(row.where.node);
  w.text(row.where.location);
  w.u8(row.has_state ? 1 : 0);
  w.u64(row.state_bytes);
  w.u32(parts::participant_checksum(id, row));  // as version 2's row: channels_in not covered
  if (row.has_state) {
    assert(state != nullptr && state->size() == row.state_bytes);
    w.blob(parts::as_span(*state));
    w.u32(parts::state_checksum(id, row.participant, parts::as_span(*state)));
  }
}

void pack_channel(checkpoint_id id, const channel_id& c, const std::vector<envelope>& messages,
                  std::vector<std::byte>& body) {
  writer w(body);
  std::uint64_t payload_bytes = 0;
  for (const auto& m : messages) payload_bytes += m.payload.size();
  w.u64(c.from);
  w.u64(c.to);
  w.u64(messages.size());
  w.u64(payload_bytes);
  w.u32(parts::channel_checksum(id, c, messages.size(), payload_bytes));
  for (std::uint64_t position = 0; position < messages.size(); ++position) {
    const auto& m = messages[position];
    w.u64(m.sequence);
    w.u64(m.epoch);
    w.u64(m.lamport);
    w.blob(parts::encode_clock(m.vector_clock));
    w.blob(parts::as_span(m.payload));
    w.u32(parts::message_checksum(id, c, position, m));
  }
}

status unpack_participant(reader& r, bool with_parts, stored_rows& into) {
  participant_record p;
  auto participant = r.u64();
  auto node = r.blob();
  auto location = r.blob();
  auto has_state = r.u8();
  auto state_bytes = r.u64();
  auto checksum = r.u32();
  if (!participant || !node || !location || !has_state || !state_bytes || !checksum) {
    return make_error(errc::corrupt, "");
  }
  p.row.participant = *participant;
  p.row.where.node = text_of(*node);
  p.row.where.location = text_of(*location);
  p.row.has_state = *has_state != 0;
  p.row.state_bytes = *state_bytes;
  p.checksum = *checksum;
  if (p.row.has_state) {
    auto state = r.blob();
    auto state_checksum = r.u32();
    if (!state || !state_checksum) return make_error(errc::corrupt, "");
    if (with_parts) {
      into.states.push_back(
          state_record{p.row.participant, parts::to_bytes(*state), *state_checksum});
    }
  }
  into.participants.push_back(std::move(p));
  return {};
}

status unpack_channel(reader& r, bool with_parts, stored_rows& into) {
  auto from = r.u64();
  auto to = r.u64();
  auto count = r.u64();
  auto payload_bytes = r.u64();
  auto checksum = r.u32();
  if (!from || !to || !count || !payload_bytes || !checksum) return make_error(errc::corrupt, "");
  const channel_id c{*from, *to};
  into.channels.push_back(channel_record{c, *count, *payload_bytes, *checksum});
  // `count` is data: never trusted for a reservation; a damaged one runs out of body instead.
  for (std::uint64_t position = 0; position < *count; ++position) {
    auto sequence = r.u64();
    auto epoch = r.u64();
    auto lamport = r.u64();
    auto clock = r.blob();
    auto payload = r.blob();
    auto message_checksum = r.u32();
    if (!sequence || !epoch || !lamport || !clock || !payload || !message_checksum) {
      return make_error(errc::corrupt, "");
    }
    if (!with_parts) continue;  // stepped over: the body still parses to its end
    message_record m;
    m.position = position;
    m.message.from = c.from;
    m.message.to = c.to;
    m.message.sequence = *sequence;
    m.message.epoch = *epoch;
    m.message.lamport = *lamport;
    auto decoded = parts::decode_clock(*clock);
    m.clock_ok = decoded.has_value();
    if (decoded) m.message.vector_clock = std::move(*decoded);
    m.message.payload = parts::to_bytes(*payload);
    m.checksum = *message_checksum;
    into.messages.push_back(std::move(m));
  }
  return {};
}

}  // namespace

packed pack(const global_state& state, const std::vector<participant_summary>& rows,
            bool with_parts) {
  packed result;
  auto& out = result.runs;
  // Rows and local states are both ascending by participant: one merge walk.
  auto local = state.local_states.begin();
  for (const auto& row : rows) {
    const bytes* own = nullptr;
    if (with_parts && row.has_state) {
      while (local != state.local_states.end() && local->first < row.participant) ++local;
      assert(local != state.local_states.end() && local->first == row.participant);
      own = &local->second;
    }
    // Without parts (an aborted checkpoint) participant_rows gave no row a state.
    pack_participant(state.id, row, own, body_for(out, run_kind::participants));
  }
  if (with_parts) {
    for (const auto& [c, messages] : state.channels) {
      if (messages.empty()) {
        result.empty_channels.push_back(c);
      } else {
        pack_channel(state.id, c, messages, body_for(out, run_kind::channels));
      }
    }
  }
  return result;
}

status unpack(checkpoint_id id, std::uint64_t index, std::int64_t kind,
              std::span<const std::byte> body, bool with_parts, stored_rows& into) {
  reader r(body);
  const auto damaged = [&](const std::string& why) {
    return make_error(errc::corrupt, parts::prefix(id) + "part run " + std::to_string(index) +
                                         " is damaged: " + why);
  };
  if (kind != static_cast<std::int64_t>(run_kind::participants) &&
      kind != static_cast<std::int64_t>(run_kind::channels)) {
    return damaged("unknown kind " + std::to_string(kind));
  }
  while (!r.done()) {
    const auto at = r.offset();
    auto s = kind == static_cast<std::int64_t>(run_kind::participants)
                 ? unpack_participant(r, with_parts, into)
                 : unpack_channel(r, with_parts, into);
    if (!s) return damaged("the entry at byte " + std::to_string(at) + " is cut short");
  }
  return {};
}

}  // namespace troupe::checkpoint::store::runs
