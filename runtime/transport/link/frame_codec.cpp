#include "runtime/transport/link/frame_codec.hpp"

// GCC 12 reports -Wmaybe-uninitialized false positives when a std::variant holding std::strings is
// moved (GCC bugs 105562, 107138); this file builds such variants for every decoded header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <string>

#include <capnp/message.h>
#include <kj/exception.h>

#include "runtime/wire/link.capnp.h"

namespace troupe::link {
namespace {

namespace s = wire::schema;

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

error malformed(std::string what) {
  return make_error(errc::malformed, "link frame: " + what);
}

// --- enums ---------------------------------------------------------------------------------------

s::LinkLane to_schema(lane l) {
  switch (l) {
    case lane::raft_control:
      return s::LinkLane::RAFT_CONTROL;
    case lane::raft_bulk:
      return s::LinkLane::RAFT_BULK;
    case lane::application:
      return s::LinkLane::APPLICATION;
    case lane::client:
      return s::LinkLane::CLIENT;
  }
  return s::LinkLane::APPLICATION;
}

result<lane> from_schema(s::LinkLane l) {
  switch (l) {
    case s::LinkLane::RAFT_CONTROL:
      return lane::raft_control;
    case s::LinkLane::RAFT_BULK:
      return lane::raft_bulk;
    case s::LinkLane::APPLICATION:
      return lane::application;
    case s::LinkLane::CLIENT:
      return lane::client;
  }
  // A lane this build does not know has no queue or policy here: refuse rather than guess.
  return malformed("unknown lane " + std::to_string(static_cast<unsigned>(l)));
}

s::LinkRole to_schema(peer_role r) {
  return r == peer_role::client ? s::LinkRole::CLIENT : s::LinkRole::PEER;
}

result<peer_role> from_schema(s::LinkRole r) {
  switch (r) {
    case s::LinkRole::PEER:
      return peer_role::peer;
    case s::LinkRole::CLIENT:
      return peer_role::client;
  }
  return malformed("unknown role " + std::to_string(static_cast<unsigned>(r)));
}

// close_reason and LinkReason share their numbering (append-only on both sides); peer_restarted is
// local only and travels as unknown.
s::LinkReason to_schema(close_reason r) {
  if (r == close_reason::peer_restarted) return s::LinkReason::UNKNOWN;
  return static_cast<s::LinkReason>(static_cast<std::uint16_t>(r));
}

close_reason from_schema(s::LinkReason r) {
  const auto v = static_cast<std::uint16_t>(r);
  if (v == static_cast<std::uint16_t>(close_reason::too_many_clients)) return close_reason::too_many_clients;
  // peer_restarted never travels; anything above is from a newer build.
  if (v > static_cast<std::uint16_t>(close_reason::superseded)) return close_reason::unknown;
  return static_cast<close_reason>(v);
}

// --- blobs ---------------------------------------------------------------------------------------

template <std::size_t N>
capnp::Data::Reader as_data(const std::array<std::uint8_t, N>& a) {
  return capnp::Data::Reader(a.data(), a.size());
}

template <std::size_t N>
result<std::array<std::uint8_t, N>> fixed_bytes(capnp::Data::Reader d, const char* field,
                                                bool allow_empty) {
  std::array<std::uint8_t, N> out{};
  if (allow_empty && d.size() == 0) return out;
  if (d.size() != N)
    return malformed(std::string(field) + " has " + std::to_string(d.size()) + " bytes, expected " +
                     std::to_string(N));
  std::copy(d.begin(), d.end(), out.begin());
  return out;
}

capnp::Text::Reader as_text(const std::string& t, std::size_t max) {
  return capnp::Text::Reader(t.data(), std::min(t.size(), max));
}

result<std::string> bounded_text(capnp::Text::Reader t, const char* field, std::size_t max) {
  if (t.size() > max)
    return malformed(std::string(field) + " is " + std::to_string(t.size()) +
                     " bytes, over the limit of " + std::to_string(max));
  return std::string(t.cStr(), t.size());
}

// --- encode --------------------------------------------------------------------------------------

void write_resume(s::LinkResume::Builder b, const resume_info& r) {
  b.setPeerIncarnation(r.peer_incarnation);
  b.setLastDeliveredSeq(r.last_delivered_seq);
}

void write_body(s::LinkFrame::Body::Builder body, const frame_header& header) {
  std::visit(overloaded{
                 [&](const hello_frame& h) {
                   auto b = body.initHello();
                   auto v = b.initVersions();
                   v.setMin(h.versions.min);
                   v.setMax(h.versions.max);
                   b.setClusterId(as_text(h.cluster_id, max_cluster_id_bytes));
                   b.setRole(to_schema(h.role));
                   b.setSenderId(h.sender_id);
                   b.setExpectedAcceptor(h.expected_acceptor);
                   b.setNonce(as_data(h.sender_nonce));
                   b.setIncarnation(h.incarnation);
                 },
                 [&](const challenge_frame& c) {
                   auto b = body.initChallenge();
                   b.setVersion(c.version);
                   b.setAcceptorId(c.acceptor_id);
                   b.setNonce(as_data(c.acceptor_nonce));
                   b.setIncarnation(c.incarnation);
                   b.setAuthenticated(c.authenticated);
                 },
                 [&](const auth_frame& a) {
                   auto b = body.initAuth();
                   b.setProof(as_data(a.dialer_proof));
                   write_resume(b.initResume(), a.resume);
                 },
                 [&](const welcome_frame& w) {
                   auto b = body.initWelcome();
                   b.setProof(as_data(w.acceptor_proof));
                   write_resume(b.initResume(), w.resume);
                 },
                 [&](const refuse_frame& r) {
                   auto b = body.initRefuse();
                   b.setReason(to_schema(r.reason));
                   b.setText(as_text(r.text, max_reason_text_bytes));
                 },
                 [&](const data_frame& d) {
                   auto b = body.initData();
                   b.setLane(to_schema(d.via));
                   b.setSeq(d.seq);
                   b.setAck(d.ack);
                   b.setHasPayload(d.has_payload);
                   b.setDestination(as_text(d.destination, max_endpoint_bytes));
                   b.setSource(as_text(d.source, max_endpoint_bytes));
                 },
                 [&](const ack_frame& a) { body.initAck().setAck(a.ack); },
                 [&](const ping_frame& p) { body.initPing().setSentAtNs(p.sent_at_ns); },
                 [&](const pong_frame& p) { body.initPong().setEchoNs(p.echo_ns); },
                 [&](const goodbye_frame& g) {
                   auto b = body.initGoodbye();
                   b.setReason(to_schema(g.reason));
                   b.setText(as_text(g.text, max_reason_text_bytes));
                 },
             },
             header);
}

// --- decode --------------------------------------------------------------------------------------

resume_info read_resume(s::LinkResume::Reader r) {
  return {r.getPeerIncarnation(), r.getLastDeliveredSeq()};
}

result<frame_header> read_hello(s::LinkHello::Reader b) {
  hello_frame h;
  h.versions.min = b.getVersions().getMin();
  h.versions.max = b.getVersions().getMax();
  auto cluster = bounded_text(b.getClusterId(), "hello.clusterId", max_cluster_id_bytes);
  if (!cluster) return cluster.err();
  h.cluster_id = std::move(*cluster);
  auto role = from_schema(b.getRole());
  if (!role) return role.err();
  h.role = *role;
  h.sender_id = b.getSenderId();
  if (h.sender_id == 0) return malformed("hello.senderId is 0");
  h.expected_acceptor = b.getExpectedAcceptor();
  auto n = fixed_bytes<nonce_bytes>(b.getNonce(), "hello.nonce", false);
  if (!n) return n.err();
  h.sender_nonce = *n;
  h.incarnation = b.getIncarnation();
  if (h.incarnation == 0) return malformed("hello.incarnation is 0");
  return frame_header{std::move(h)};
}

result<frame_header> read_challenge(s::LinkChallenge::Reader b) {
  challenge_frame c;
  c.version = b.getVersion();
  c.acceptor_id = b.getAcceptorId();
  if (c.acceptor_id == 0) return malformed("challenge.acceptorId is 0");
  auto n = fixed_bytes<nonce_bytes>(b.getNonce(), "challenge.nonce", false);
  if (!n) return n.err();
  c.acceptor_nonce = *n;
  c.incarnation = b.getIncarnation();
  if (c.incarnation == 0) return malformed("challenge.incarnation is 0");
  c.authenticated = b.getAuthenticated();
  return frame_header{c};
}

template <class Frame, class Reader>
result<frame_header> read_proof_frame(Reader b, const char* field, proof Frame::*member) {
  Frame f;
  auto p = fixed_bytes<proof_bytes>(b.getProof(), field, true);
  if (!p) return p.err();
  f.*member = *p;
  f.resume = read_resume(b.getResume());
  return frame_header{f};
}

result<frame_header> read_data(s::LinkData::Reader b) {
  data_frame d;
  auto l = from_schema(b.getLane());
  if (!l) return l.err();
  d.via = *l;
  d.seq = b.getSeq();
  d.ack = b.getAck();
  d.has_payload = b.getHasPayload();
  auto dst = bounded_text(b.getDestination(), "data.destination", max_endpoint_bytes);
  if (!dst) return dst.err();
  auto src = bounded_text(b.getSource(), "data.source", max_endpoint_bytes);
  if (!src) return src.err();
  d.destination = std::move(*dst);
  d.source = std::move(*src);
  return frame_header{std::move(d)};
}

template <class Frame, class Reader>
result<frame_header> read_reason_frame(Reader b, const char* field) {
  Frame f;
  f.reason = from_schema(b.getReason());
  // The text is only for logs: an over-long one is cut rather than refused.
  auto t = b.getText();
  f.text.assign(t.cStr(), std::min<std::size_t>(t.size(), max_reason_text_bytes));
  (void)field;
  return frame_header{std::move(f)};
}

result<frame_header> read_frame(s::LinkFrame::Reader root) {
  auto body = root.getBody();
  switch (body.which()) {
    case s::LinkFrame::Body::HELLO:
      return read_hello(body.getHello());
    case s::LinkFrame::Body::CHALLENGE:
      return read_challenge(body.getChallenge());
    case s::LinkFrame::Body::AUTH:
      return read_proof_frame<auth_frame>(body.getAuth(), "auth.proof", &auth_frame::dialer_proof);
    case s::LinkFrame::Body::WELCOME:
      return read_proof_frame<welcome_frame>(body.getWelcome(), "welcome.proof",
                                             &welcome_frame::acceptor_proof);
    case s::LinkFrame::Body::REFUSE:
      return read_reason_frame<refuse_frame>(body.getRefuse(), "refuse");
    case s::LinkFrame::Body::DATA:
      return read_data(body.getData());
    case s::LinkFrame::Body::ACK:
      return frame_header{ack_frame{body.getAck().getAck()}};
    case s::LinkFrame::Body::PING:
      return frame_header{ping_frame{body.getPing().getSentAtNs()}};
    case s::LinkFrame::Body::PONG:
      return frame_header{pong_frame{body.getPong().getEchoNs()}};
    case s::LinkFrame::Body::GOODBYE:
      return read_reason_frame<goodbye_frame>(body.getGoodbye(), "goodbye");
  }
  return make_error(errc::unsupported, "link frame: unknown frame kind " +
                                           std::to_string(static_cast<unsigned>(body.which())) +
                                           " (sent by a newer protocol version?)");
}

/// Builds `header` and hands the builder to `use`. A zeroed first segment per thread is reused by
/// every header built on this thread: no allocation and no zeroing beyond the words used
/// (MallocMessageBuilder re-zeroes what it used when it is destroyed, as its contract for a
/// caller-supplied first segment requires). Every header fits (strings are bounded), so
/// encode_frame_header and append_frame_header produce the same single-segment bytes.
template <class Use>
void with_header_builder(const frame_header& header, Use&& use) {
  struct scratch_segment {
    capnp::word first[256];  // zero: thread_local storage is zero-initialised
    bool in_use;
  };
  thread_local scratch_segment scratch;
  if (scratch.in_use) {
    // Re-entered on this thread (cannot happen today: write_body calls nothing that encodes).
    capnp::MallocMessageBuilder builder(256);
    write_body(builder.initRoot<s::LinkFrame>().initBody(), header);
    use(builder);
    return;
  }
  struct release {
    scratch_segment& s;
    ~release() { s.in_use = false; }
  } guard{scratch};  // declared before the builder: released after the builder re-zeroed it
  scratch.in_use = true;
  capnp::MallocMessageBuilder builder(kj::ArrayPtr<capnp::word>(scratch.first, 256));
  write_body(builder.initRoot<s::LinkFrame>().initBody(), header);
  use(builder);
}

/// Stores `v` little-endian (Cap'n Proto's byte order) at `p`.
void store_le64(char* p, std::uint64_t v) noexcept {
  // One store, not eight: the byte loop was most of append_data_header's ~480 instructions per
  // frame (callgrind, sending broker thread).
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof v);
}

/// Appends a data header in stream framing: byte for byte what with_header_builder produces for it
/// (frame_codec_test compares the two over random frames), written directly. Data frames are the
/// only per-message headers, and a builder per frame was ~20% of the sending broker thread's
/// instructions (callgrind, `troupe bench transport`). The layout, in words of the one segment:
///   0 root pointer -> LinkFrame (1 data word, 1 pointer) | 1 union tag | 2 pointer -> LinkData
///   (3 data words, 2 pointers) | 3 lane (bits 0-15), hasPayload (bit 16) | 4 seq | 5 ack |
///   6 pointer -> destination | 7 pointer -> source | destination bytes + NUL, padded to words |
///   source bytes + NUL, padded.
/// Pointer encoding: https://capnproto.org/encoding.html (struct: offset << 2, data words << 32,
/// pointers << 48; list of bytes: offset << 2 | 1, element size 2 (byte) << 32, count << 35).
void append_data_header(std::vector<char>& out, const data_frame& d) {
  static_assert(static_cast<std::uint16_t>(s::LinkFrame::Body::DATA) == 5);
  static_assert(static_cast<std::uint16_t>(s::LinkLane::RAFT_CONTROL) == index_of(lane::raft_control) &&
                static_cast<std::uint16_t>(s::LinkLane::RAFT_BULK) == index_of(lane::raft_bulk) &&
                static_cast<std::uint16_t>(s::LinkLane::APPLICATION) == index_of(lane::application) &&
                static_cast<std::uint16_t>(s::LinkLane::CLIENT) == index_of(lane::client) &&
                lane_count == 4);
  const std::size_t dn = std::min(d.destination.size(), max_endpoint_bytes);
  const std::size_t sn = std::min(d.source.size(), max_endpoint_bytes);
  const std::uint64_t dw = (dn + 1 + 7) / 8;  // text words, NUL included
  const std::uint64_t sw = (sn + 1 + 7) / 8;
  const std::uint64_t words = 8 + dw + sw;
  const std::size_t old = out.size();
  out.resize(old + 8 * (1 + words));  // zero-filled: padding and NULs
  char* seg = out.data() + old + 8;
  store_le64(seg - 8, words << 32);  // segment table: count - 1 = 0, then the segment's size
  store_le64(seg + 8 * 0, (std::uint64_t{1} << 32) | (std::uint64_t{1} << 48));
  store_le64(seg + 8 * 1, static_cast<std::uint16_t>(s::LinkFrame::Body::DATA));
  store_le64(seg + 8 * 2, (std::uint64_t{3} << 32) | (std::uint64_t{2} << 48));
  store_le64(seg + 8 * 3, static_cast<std::uint64_t>(static_cast<std::uint16_t>(to_schema(d.via))) |
                              (std::uint64_t{d.has_payload ? 1u : 0u} << 16));
  store_le64(seg + 8 * 4, d.seq);
  store_le64(seg + 8 * 5, d.ack);
  const auto text_pointer = [](std::uint64_t offset_words, std::size_t bytes) {
    return (offset_words << 2) | 1 | (std::uint64_t{2} << 32) | (std::uint64_t{bytes + 1} << 35);
  };
  store_le64(seg + 8 * 6, text_pointer(1, dn));   // from the end of word 6 to word 8
  store_le64(seg + 8 * 7, text_pointer(dw, sn));  // from the end of word 7 to word 8 + dw
  std::memcpy(seg + 8 * 8, d.destination.data(), dn);
  std::memcpy(seg + 8 * (8 + dw), d.source.data(), sn);
}

/// Loads the little-endian word at `p` (any alignment: frames are read in place).
std::uint64_t load_le64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

/// Decodes one Text pointer of the canonical data header: exactly `offset_words` ahead, a byte
/// list whose last byte is the NUL, at most max_endpoint_bytes before it, ending inside `seg_words`.
/// Returns the text's length, or nullopt when the pointer is anything else.
std::optional<std::size_t> canonical_text(std::uint64_t pointer, std::uint64_t offset_words,
                                          std::uint64_t at_word, const std::byte* seg,
                                          std::uint64_t seg_words) noexcept {
  const std::uint64_t count = pointer >> 35;  // elements (bytes), NUL included
  if (pointer != ((offset_words << 2) | 1 | (std::uint64_t{2} << 32) | (count << 35))) return std::nullopt;
  if (count == 0 || count - 1 > max_endpoint_bytes) return std::nullopt;
  const std::uint64_t start = at_word + 1 + offset_words;
  if (start + (count + 7) / 8 > seg_words) return std::nullopt;
  if (seg[8 * start + count - 1] != std::byte{0}) return std::nullopt;
  return static_cast<std::size_t>(count - 1);
}

}  // namespace

std::optional<data_frame> decode_canonical_data_header(std::span<const std::byte> frame,
                                                       const wire::reader_limits& limits) {
  data_frame d;
  if (!decode_canonical_data_header(frame, limits, d)) return std::nullopt;
  return d;
}

bool decode_canonical_data_header(std::span<const std::byte> frame, const wire::reader_limits& limits,
                                  data_frame& d) {
  // The layout append_data_header writes (see there), checked word by word: every word of the
  // frame is either compared with the value the layout dictates or decoded into the result with
  // the checks read_data applies; nothing else is accepted, and nothing is left unread but the
  // padding after each text's NUL (which Cap'n Proto's reader ignores too).
  if (frame.size() < 8 * 9 || frame.size() % 8 != 0 || frame.size() > limits.max_frame_bytes ||
      limits.max_segments < 1 || limits.nesting_limit < 4)
    return false;
  const std::uint64_t table = load_le64(frame.data());
  const std::uint64_t words = table >> 32;
  if ((table & 0xffffffffu) != 0 || 8 * (1 + words) != frame.size() ||
      words > limits.traversal_limit_words)
    return false;
  const std::byte* seg = frame.data() + 8;
  const auto word = [&](std::uint64_t i) { return load_le64(seg + 8 * i); };
  if (word(0) != ((std::uint64_t{1} << 32) | (std::uint64_t{1} << 48)) ||
      word(1) != static_cast<std::uint16_t>(s::LinkFrame::Body::DATA) ||
      word(2) != ((std::uint64_t{3} << 32) | (std::uint64_t{2} << 48)))
    return false;
  const std::uint64_t flags = word(3);
  if ((flags >> 17) != 0 || (flags & 0xffff) >= lane_count) return false;
  const auto dn = canonical_text(word(6), 1, 6, seg, words);
  if (!dn) return false;
  const std::uint64_t dw = (*dn + 1 + 7) / 8;
  const auto sn = canonical_text(word(7), dw, 7, seg, words);
  if (!sn || words != 8 + dw + (*sn + 1 + 7) / 8) return false;
  d.via = static_cast<lane>(flags & 0xffff);  // LinkLane and lane share their numbering
  d.has_payload = ((flags >> 16) & 1) != 0;
  d.seq = word(4);
  d.ack = word(5);
  d.destination.assign(reinterpret_cast<const char*>(seg + 8 * 8), *dn);
  d.source.assign(reinterpret_cast<const char*>(seg + 8 * (8 + dw)), *sn);
  return true;
}

wire::message encode_frame_header(const frame_header& header) {
  wire::message out;
  with_header_builder(
      header, [&](capnp::MessageBuilder& builder) { out = wire::message::from_builder(builder); });
  return out;
}

void append_frame_header(std::vector<char>& out, const frame_header& header) {
  if (const auto* d = std::get_if<data_frame>(&header)) {
    append_data_header(out, *d);
    return;
  }
  with_header_builder(header,
                      [&](capnp::MessageBuilder& builder) { wire::message::append_framed(builder, out); });
}

result<frame_header> decode_frame_header(std::span<const std::byte> frame,
                                         const wire::reader_limits& limits,
                                         wire::frame_validator& validator) {
  // Data headers, one per message, take the hand-checked path; the reader's setup and traversal
  // were ~a third of the receiving broker thread's instructions per message (callgrind).
  if (auto d = decode_canonical_data_header(frame, limits)) return frame_header{std::move(*d)};
  return decode_frame_header_by_reader(frame, limits, validator);
}

result<frame_header> decode_frame_header_by_reader(std::span<const std::byte> frame,
                                                   const wire::reader_limits& limits,
                                                   wire::frame_validator& validator) {
  if (auto valid = validator.validate(frame, limits); !valid) return valid.err();
  try {
    return read_frame(validator.root<s::LinkFrame>());
  } catch (const kj::Exception& e) {
    // validate() checked the structure; a pointer of the wrong kind still throws on access.
    return malformed(std::string("cannot decode: ") + e.getDescription().cStr());
  }
}

result<frame_header> decode_frame_header(const wire::message& header) {
  if (header.empty()) return malformed("empty message");
  try {
    return read_frame(header.root<s::LinkFrame>());
  } catch (const kj::Exception& e) {
    // message::parse validated the structure; a pointer of the wrong kind still throws on access.
    return malformed(std::string("cannot decode: ") + e.getDescription().cStr());
  }
}

}  // namespace troupe::link
