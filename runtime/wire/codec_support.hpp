#pragma once
/// Helpers shared by the codecs (*_codec.cpp): never-throwing decode wrappers and conversions
/// between Cap'n Proto blobs and std::string. For this folder's implementation files only.

// GCC 12 reports -Wmaybe-uninitialized false positives when a std::variant holding std::strings is
// moved into another variant (GCC bugs 105562, 107138); the codecs do exactly that for every
// decoded message. Silenced only in the codec translation units that include this header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstddef>
#include <cstdint>
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

/// The words of the message being decoded on this thread (set by guarded_decode).
inline thread_local std::size_t decode_message_words = SIZE_MAX;

/// Thrown by require_list_fits, caught by guarded_decode: never leaves the codec.
struct list_too_long {
  const char* where;
  std::size_t size;
};

/// Refuses a list that claims more elements than its message has words. Cap'n Proto lets a list of
/// zero-sized structs claim any element count without taking space in the frame (an "amplified"
/// list), and the full traversal at parse time does not charge for it, so a 17-word frame could
/// make a decoder allocate gigabytes (found by the byte-flip fuzz test). Every element of every
/// list in our schemas takes at least one word when well formed (structs with fields, UInt64s,
/// pointers), so this bound refuses only forged frames. Call before reserving or iterating.
template <class List>
void require_list_fits(const List& list, const char* where) {
  if (list.size() > decode_message_words) throw list_too_long{where, list.size()};
}

/// Runs `decode(root)` on the message's root as `Root`, turning every kj::Exception (a pointer of
/// the wrong kind, text without its NUL, ...) and every over-long list into errc::malformed.
/// `decode` returns result<T>.
template <class Root, class Decode>
auto guarded_decode(const message& msg, const char* what, Decode&& decode)
    -> decltype(decode(std::declval<typename Root::Reader>())) {
  if (msg.empty()) return make_error(errc::malformed, std::string("empty message for ") + what);
  struct budget_scope {
    std::size_t saved = decode_message_words;
    explicit budget_scope(std::size_t words) { decode_message_words = words; }
    ~budget_scope() { decode_message_words = saved; }
    budget_scope(const budget_scope&) = delete;
    budget_scope& operator=(const budget_scope&) = delete;
  } budget(msg.bytes().size() / sizeof(capnp::word));
  try {
    return decode(msg.root<Root>());
  } catch (const kj::Exception& e) {
    return make_error(errc::malformed,
                      std::string("cannot decode ") + what + ": " + e.getDescription().cStr());
  } catch (const list_too_long& e) {
    return make_error(errc::malformed, std::string("cannot decode ") + what + ": " + e.where +
                                           " claims " + std::to_string(e.size) +
                                           " elements, more than the frame can hold");
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
