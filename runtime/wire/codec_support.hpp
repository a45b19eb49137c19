#pragma once
/// Helpers shared by the codecs (*_codec.cpp): never-throwing decode wrappers and conversions
/// between Cap'n Proto blobs and std::string. For this folder's implementation files only.

// GCC 12 reports -Wmaybe-uninitialized false positives when a std::variant holding std::strings is
// moved into another variant (GCC bugs 105562, 107138); the codecs do exactly that for every
// decoded message. Silenced only in the codec translation units that include this header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <string>
#include <type_traits>
#include <utility>

#include <capnp/blob.h>
#include <capnp/message.h>
#include <kj/exception.h>

#include "runtime/base/result.hpp"
#include "runtime/wire/message.hpp"

namespace troupe::wire::detail {

inline std::string to_string(capnp::Data::Reader data) {
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}

inline std::string to_string(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

inline capnp::Data::Reader as_data(const std::string& bytes) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size());
}

inline capnp::Text::Reader as_text(const std::string& text) {
  return capnp::Text::Reader(text.data(), text.size());
}

inline error unknown_tag(const char* where, unsigned tag) {
  return make_error(errc::unsupported,
                    std::string("unknown union member ") + std::to_string(tag) + " in " + where +
                        " (sent by a newer protocol version?)");
}

inline error unknown_enum(const char* where, unsigned value) {
  return make_error(errc::unsupported,
                    std::string("unknown enumerant ") + std::to_string(value) + " in " + where);
}

/// Runs `decode(root)` on the message's root as `Root`, turning every kj::Exception (a pointer of
/// the wrong kind, text without its NUL, ...) into errc::malformed. `decode` returns result<T>.
template <class Root, class Decode>
auto guarded_decode(const message& msg, const char* what, Decode&& decode)
    -> decltype(decode(std::declval<typename Root::Reader>())) {
  if (msg.empty()) return make_error(errc::malformed, std::string("empty message for ") + what);
  try {
    return decode(msg.root<Root>());
  } catch (const kj::Exception& e) {
    return make_error(errc::malformed,
                      std::string("cannot decode ") + what + ": " + e.getDescription().cStr());
  }
}

/// A zeroed first segment per thread, reused by every encode on that thread: building a small
/// message then costs no allocation and no zeroing beyond the words it used (MallocMessageBuilder
/// re-zeroes what it used when it is destroyed, as its contract requires).
struct scratch_segment {
  static constexpr unsigned words = 512;
  capnp::word first[words];  // zero: thread_local storage is zero-initialised
  bool in_use;
};

inline scratch_segment& thread_scratch() noexcept {
  thread_local scratch_segment scratch;
  return scratch;
}

/// Builds a message with `fill(root_builder)` and copies it into one flat buffer.
template <class Root, class Fill>
message build(Fill&& fill) {
  scratch_segment& scratch = thread_scratch();
  if (!scratch.in_use) {
    struct release {
      scratch_segment& s;
      ~release() { s.in_use = false; }
    } guard{scratch};  // declared before the builder: released after the builder re-zeroed it
    scratch.in_use = true;
    capnp::MallocMessageBuilder builder(kj::ArrayPtr<capnp::word>(scratch.first, scratch.words));
    fill(builder.initRoot<Root>());
    return message::from_builder(builder);
  }
  // Re-entered on this thread (a fill that encodes): fall back to a heap first segment.
  capnp::MallocMessageBuilder builder(128);
  fill(builder.initRoot<Root>());
  return message::from_builder(builder);
}

}  // namespace troupe::wire::detail
