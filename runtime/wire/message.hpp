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

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

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

}  // namespace troupe::wire

namespace troupe::wire {

/// Internal representation, visible so that `root<T>()` can be inline. Not for use outside
/// message.cpp. `reader` points into `words`, which never moves (impl lives behind a shared_ptr).
/// `reader` has no traversal limit: the limit was enforced once by the validating traversal in
/// parse(), and a limit consumed by every read would make a long-lived message unreadable. Its
/// arena is initialised in the constructor so that concurrent root<T>() calls only read.
struct message::impl {
  std::unique_ptr<capnp::word[]> words;  ///< the stream-framed message, 8-byte aligned
  std::size_t byte_size = 0;
  capnp::FlatArrayMessageReader reader;
  impl(std::unique_ptr<capnp::word[]> w, std::size_t n, int nesting_limit);
};

// Defined here, not in the class, because it needs the complete impl.
template <class Root>
typename Root::Reader message::root() const {
  return impl_->reader.template getRoot<Root>();
}

}  // namespace troupe::wire
