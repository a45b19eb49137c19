#pragma once
/// The unit that travels through mailboxes and over sockets: one immutable, validated Cap'n Proto
/// message in a single flat, 8-byte aligned buffer in Cap'n Proto's standard stream framing
/// (segment table followed by the segments). Copies share the buffer by reference, so a local send
/// moves a pointer and a remote send writes these very bytes (DESIGN.md section 3).
///
/// Contract: every `message` that exists has been validated completely, by a full traversal within
/// `reader_limits`, when it was parsed; a `message` made from a builder is valid by construction.
/// Readers obtained from it never throw for structural reasons (bounds, depth, traversal). What a
/// schema-blind traversal cannot check (a pointer of the wrong kind for its field, text without its
/// NUL) still throws kj::Exception from a getter: decode with the schema's codec (*_codec.hpp),
/// which catches it. Thread-safe: read-only after creation; copies share the buffer.
///
/// No CAF in this header: the pure cores and the storage layer may use it.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/serialize.h>

#include "runtime/base/result.hpp"

namespace troupe::wire {

/// Limits applied to every message read from outside the process (network, file).
struct reader_limits {
  /// A frame larger than this is rejected before its body is buffered. Bulk lanes send snapshot
  /// chunks far smaller than this.
  std::size_t max_frame_bytes = 16u << 20;
  /// Cap'n Proto's segment count limit; a frame whose segment table claims more is rejected as
  /// errc::too_large (a count of zero, which only a wrapped count field can say, is malformed).
  std::uint32_t max_segments = 512;
  /// Total words a traversal may visit (defends against amplification by shared pointers).
  std::uint64_t traversal_limit_words = (16u << 20) / 8 * 2;
  /// Maximum pointer nesting depth.
  int nesting_limit = 64;
};

class message {
 public:
  /// Copies a built message into one flat buffer (stream framing). Never fails (short of memory).
  static message from_builder(capnp::MessageBuilder& builder);

  /// Parses `bytes`, which must hold exactly one stream-framed message, and validates it completely.
  /// Errors: errc::too_large (over max_frame_bytes or max_segments), errc::malformed (anything else:
  /// truncated, bad segment table, pointers out of bounds, too deep, over the traversal limit).
  static result<message> parse(std::span<const std::byte> bytes, const reader_limits& limits = {});

  /// The stream-framed bytes, exactly as they go on the wire.
  std::span<const std::byte> bytes() const noexcept;
  std::size_t size_bytes() const noexcept { return bytes().size(); }

  /// A reader for the root as `Root` (a generated Cap'n Proto struct type). Precondition: !empty().
  /// Structural validity was checked at parse time; a caller decoding a union must still handle
  /// unknown tags (`which()` returns unknown values unchanged) and should decode through the codec
  /// functions of its schema, which convert anything unexpected into an error value.
  template <class Root>
  typename Root::Reader root() const;

  bool empty() const noexcept { return impl_ == nullptr; }
  message() = default;

  /// Appends `builder`'s message to `out` in stream framing: exactly the bytes that
  /// `from_builder(builder).bytes()` would hold, without making a message. Never fails.
  static void append_framed(capnp::MessageBuilder& builder, std::vector<char>& out);

 private:
  struct impl;
  explicit message(std::shared_ptr<impl> p) : impl_(std::move(p)) {}
  std::shared_ptr<impl> impl_;

 public:
  // Exposed for the implementation file only.
  struct impl_access;
  friend struct impl_access;
};

/// Reassembles stream-framed messages from a byte stream (a TCP connection): feed bytes as they come,
/// take complete, validated messages out. Once it reports an error the stream is unusable (the
/// connection must be closed): there is no way to resynchronise inside a corrupted stream.
class frame_assembler {
 public:
  explicit frame_assembler(reader_limits limits = {});

  /// Appends bytes received from the network. Ignored once the assembler has failed.
  void append(std::span<const std::byte> bytes);

  /// The next complete frame, std::nullopt when more bytes are needed, or an error (too_large as soon as
  /// the segment table announces an oversized frame, before its body arrives; malformed otherwise).
  result<std::optional<message>> next();

  /// Zero-copy variant of next(): the next complete frame's bytes, inside the assembler's buffer,
  /// 8-byte aligned. Only the segment table has been checked (limits on size and segment count,
  /// as for next()); the body is NOT validated: hand it to message::parse or frame_validator
  /// before reading it. The span stays valid until the next call to append() or any next*().
  /// Errors and the failed state are those of next()'s segment-table checks.
  result<std::optional<std::span<const std::byte>>> next_frame_bytes();

  /// The limits this assembler applies (and that its frames must be validated with).
  const reader_limits& limits() const noexcept { return limits_; }

  /// Bytes buffered but not yet returned as a frame.
  std::size_t buffered_bytes() const noexcept;

  /// True once next() has reported an error; every later next() reports errc::closed.
  bool failed() const noexcept { return failed_; }

 private:
  reader_limits limits_;
  std::vector<std::byte> buffer_;
  std::size_t consumed_ = 0;
  bool failed_ = false;
};

/// Validates one stream-framed message in place, without copying it, with exactly the checks of
/// message::parse (segment table, size limits, a full traversal under the traversal and nesting
/// limits), and then reads it through the very reader that validated it: one reader, no heap
/// allocation for a single-segment frame. For frames decoded at once into plain structs and then
/// dropped (link headers). Not copyable or movable (Cap'n Proto's reader is not); reusable: each
/// validate() replaces the previous frame. Not thread-safe.
///
/// The traversal consumed part of the reader's traversal limit; reads after it are charged too, so
/// a frame can be read about once more in full (enough to decode it; an amplifying frame that
/// passed the traversal but exceeds the rest throws kj::Exception, which the decoder catches).
class frame_validator {
 public:
  frame_validator() = default;
  frame_validator(const frame_validator&) = delete;
  frame_validator& operator=(const frame_validator&) = delete;

  /// Validates `bytes`, which must hold exactly one frame and outlive the use of root(). Bytes
  /// that are not 8-byte aligned are copied into an internal buffer first. Errors: those of
  /// message::parse. Never throws.
  status validate(std::span<const std::byte> bytes, const reader_limits& limits);

  /// The validated frame's root. Precondition: the last validate() succeeded. Getters can still
  /// throw kj::Exception for schema-level problems (see message): decode inside a try.
  template <class Root>
  typename Root::Reader root() {
    // The root pointer the traversal started from: no second MessageReader::getRoot().
    return root_.template getAs<Root>();
  }

 private:
  std::optional<capnp::FlatArrayMessageReader> reader_;
  capnp::AnyPointer::Reader root_;
  std::unique_ptr<capnp::word[]> aligned_copy_;
  std::size_t aligned_copy_words_ = 0;
};

}  // namespace troupe::wire

namespace troupe::wire {

/// Internal representation, visible so that `root<T>()` can be inline. Not for use outside
/// message.cpp. `words` never moves (impl lives behind a shared_ptr).
///
/// Readers are prepared on the first root<T>() (many messages are only forwarded as bytes, and the
/// receiving broker thread need not pay for what the actor reads): `ready` (acquire/release)
/// publishes the preparation, `init_mutex` makes it happen once, so concurrent root<T>() calls
/// only read after it. The preparation decides `flat`:
///  - flat: the message is one segment and no far pointer is reachable from its root (everything
///    Cap'n Proto's builders write when it fits one segment). Its validation (or its builder)
///    already guaranteed every pointer in bounds, so root<T>() reads it with
///    `capnp::readMessageUnchecked` straight from the words: no MessageReader, no arena, no second
///    getRoot (building them was ~670 instructions per received message on the actor's thread,
///    callgrind, runtime/transport/README.md session 6). Getters still check pointer kinds and
///    text terminators and throw kj::Exception as with any reader.
///  - otherwise `reader` is a FlatArrayMessageReader over the words with no traversal limit: the
///    limit was enforced once by the validating traversal in parse(), and a limit consumed by
///    every read would make a long-lived message unreadable.
struct message::impl {
  std::unique_ptr<capnp::word[]> words;  ///< the stream-framed message, 8-byte aligned
  std::size_t byte_size = 0;
  int nesting_limit = 64;
  bool flat = false;  ///< written before `ready` is released; read after it is acquired
  std::atomic<bool> ready{false};
  std::mutex init_mutex;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader;  ///< only when !flat
  impl(std::unique_ptr<capnp::word[]> w, std::size_t n, int nesting);
  /// Prepares the readers (above) once. Thread-safe.
  void prepare() {
    if (!ready.load(std::memory_order_acquire)) make_reader();
  }
  void make_reader();
};

// Defined here, not in the class, because it needs the complete impl.
template <class Root>
typename Root::Reader message::root() const {
  impl& i = *impl_;
  i.prepare();
  // Segment 0 starts after the one-segment table's 8 bytes.
  if (i.flat) return capnp::readMessageUnchecked<Root>(i.words.get() + 1);
  return i.reader->template getRoot<Root>();
}

}  // namespace troupe::wire
