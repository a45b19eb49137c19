#include "runtime/wire/message.hpp"

#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <type_traits>

#include <capnp/any.h>
#include <kj/exception.h>

#include "runtime/wire/flat_validation.hpp"
#include "runtime/wire/framing.hpp"

namespace troupe::wire {
namespace {

capnp::ReaderOptions retained_options(int nesting_limit) {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = std::numeric_limits<std::uint64_t>::max();
  options.nestingLimit = nesting_limit;
  return options;
}

void store_le32(capnp::word* base, std::size_t byte_offset, std::uint32_t value) noexcept {
  unsigned char bytes[4] = {static_cast<unsigned char>(value), static_cast<unsigned char>(value >> 8),
                            static_cast<unsigned char>(value >> 16),
                            static_cast<unsigned char>(value >> 24)};
  std::memcpy(reinterpret_cast<unsigned char*>(base) + byte_offset, bytes, 4);
}

void store_le32_bytes(char* base, std::size_t byte_offset, std::uint32_t value) noexcept {
  unsigned char bytes[4] = {static_cast<unsigned char>(value), static_cast<unsigned char>(value >> 8),
                            static_cast<unsigned char>(value >> 16),
                            static_cast<unsigned char>(value >> 24)};
  std::memcpy(base + byte_offset, bytes, 4);
}

/// The segment table of `bytes` must describe exactly `bytes`, within the limits; answers its
/// segment count (read_frame_layout takes one-segment tables, every frame this build writes, on
/// its fast path).
result<std::uint32_t> check_layout(std::span<const std::byte> bytes, const reader_limits& limits) {
  if (bytes.size() > limits.max_frame_bytes) {
    return make_error(errc::too_large, "frame of " + std::to_string(bytes.size()) +
                                           " bytes exceeds max_frame_bytes " +
                                           std::to_string(limits.max_frame_bytes));
  }
  auto layout = read_frame_layout(bytes, limits);
  if (!layout) return layout.err();
  if (!layout->has_value()) {
    return make_error(errc::malformed, "frame truncated inside its segment table");
  }
  const frame_layout& frame = **layout;
  if (frame.total_bytes != bytes.size()) {
    return make_error(errc::malformed,
                      "segment table announces " + std::to_string(frame.total_bytes) +
                          " bytes but the frame holds " + std::to_string(bytes.size()));
  }
  return frame.segment_count;
}

/// The full traversal, into `reader` (made here, with the limits). `words` is 8-byte aligned and
/// holds a frame whose layout check_layout accepted.
status traverse(const capnp::word* words, std::size_t word_count, const reader_limits& limits,
                std::optional<capnp::FlatArrayMessageReader>& reader,
                capnp::AnyPointer::Reader* root = nullptr) {
  try {
    // The full traversal: targetSize() follows every pointer in the message, checking bounds,
    // far-pointer landing pads, list and struct sizes and nesting, and charges every word it
    // visits to the traversal limit, so a frame whose pointers share targets cannot amplify.
    // Cap'n Proto's getters would otherwise check each pointer only when it is first read,
    // which could be deep inside an actor (DESIGN.md section 3).
    capnp::ReaderOptions options;
    options.traversalLimitInWords = limits.traversal_limit_words;
    options.nestingLimit = limits.nesting_limit;
    reader.emplace(kj::ArrayPtr<const capnp::word>(words, word_count), options);
    const auto any = reader->getRoot<capnp::AnyPointer>();
    (void)any.targetSize();
    if (root != nullptr) *root = any;
    return status::success();
  } catch (const kj::Exception& e) {
    reader.reset();
    return make_error(errc::malformed,
                      std::string("invalid Cap'n Proto message: ") + e.getDescription().cStr());
  } catch (const std::bad_alloc&) {
    reader.reset();
    return make_error(errc::too_large, "out of memory while parsing a frame");
  }
}

/// Whether `words` (a whole frame, `byte_size` bytes) has a one-segment table.
bool one_segment(const capnp::word* words, std::size_t byte_size) noexcept {
  if (byte_size < 16) return false;
  std::uint32_t count_minus_one = 0;
  std::memcpy(&count_minus_one, words, sizeof count_minus_one);
  return count_minus_one == 0;  // zero reads the same in either byte order
}

/// Whether no far pointer is reachable from the root of a one-segment message whose every pointer
/// is known to be in bounds (validated by parse(), or written by a builder), `segment` being its
/// first word. Cap'n Proto's unchecked traversal, which checks no bounds (nothing is out of them
/// here), does not follow far pointers: it throws at the first one it reaches (an unchecked
/// reader's getter would throw there too, where a checked reader would follow it).
bool reachable_without_far_pointers(const capnp::word* segment) noexcept {
  try {
    (void)capnp::readMessageUnchecked<capnp::AnyPointer>(segment).targetSize();
    return true;
  } catch (const kj::Exception&) {
    return false;
  }
}

}  // namespace

message::impl::impl(std::unique_ptr<capnp::word[]> w, std::size_t n, int nesting)
    : words(std::move(w)), byte_size(n), nesting_limit(nesting) {}

void message::impl::make_reader() {
  std::lock_guard<std::mutex> guard(init_mutex);
  if (ready.load(std::memory_order_relaxed)) return;
  flat = one_segment(words.get(), byte_size) && reachable_without_far_pointers(words.get() + 1);
  if (!flat) {
    reader = std::make_unique<capnp::FlatArrayMessageReader>(
        kj::ArrayPtr<const capnp::word>(words.get(), byte_size / sizeof(capnp::word)),
        retained_options(nesting_limit));
    // MessageReader creates its arena lazily on the first getRoot(), which is a data race if two
    // threads call root<T>() first at once; doing it here, under the mutex, leaves only reads.
    (void)reader->getRoot<capnp::AnyPointer>();
  }
  ready.store(true, std::memory_order_release);
}

struct message::impl_access {
  /// Allocates a message of `word_count` words whose control block, impl and words share ONE heap
  /// block: each received payload used to cost two allocations (the words, then make_shared's),
  /// and the actors free them on other threads, so glibc's per-thread cache never refills and
  /// every one took malloc's slow path (~170 instructions each on the receiving broker thread,
  /// callgrind, runtime/transport/README.md). The words are left for the caller to fill; `*words`
  /// says where they are. Throws std::bad_alloc.
  static message make_uninitialized(std::size_t word_count, int nesting_limit, capnp::word** words) {
    std::size_t word_bytes = word_count * sizeof(capnp::word);
    capnp::word* tail = nullptr;
    trailing_words<impl> alloc{&word_bytes, &tail};
    auto p = std::allocate_shared<impl>(alloc, std::unique_ptr<capnp::word[]>{}, word_bytes,
                                        nesting_limit);
    // impl::words owns nothing it may delete[]: trailing_words::destroy releases it first.
    p->words.reset(tail);
    *words = tail;
    return message(std::move(p));
  }

 private:
  /// The allocator of make_uninitialized: allocate() reserves `*word_bytes` more bytes after the
  /// object (std::allocate_shared's control block, the impl inside it), 8-byte aligned, and says
  /// where in `*tail`; destroy() releases impl::words (it points into this block) before ~impl.
  /// The pointers are only used by allocate(), during make_uninitialized: later copies (kept in
  /// the control block for destroy and deallocate) never dereference them.
  template <class T>
  struct trailing_words {
    using value_type = T;
    const std::size_t* word_bytes;
    capnp::word** tail;
    trailing_words(const std::size_t* b, capnp::word** t) noexcept : word_bytes(b), tail(t) {}
    template <class U>
    trailing_words(const trailing_words<U>& o) noexcept : word_bytes(o.word_bytes), tail(o.tail) {}
    T* allocate(std::size_t n) {
      static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__ &&
                    alignof(capnp::word) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
      const std::size_t head = (n * sizeof(T) + sizeof(capnp::word) - 1) / sizeof(capnp::word) *
                               sizeof(capnp::word);
      char* block = static_cast<char*>(::operator new(head + *word_bytes));
      *tail = reinterpret_cast<capnp::word*>(block + head);
      return reinterpret_cast<T*>(block);
    }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(static_cast<void*>(p)); }
    template <class U>
    void destroy(U* p) noexcept {
      if constexpr (std::is_same_v<U, impl>) (void)p->words.release();
      p->~U();
    }
    template <class U>
    bool operator==(const trailing_words<U>&) const noexcept {
      return true;  // any instance frees what any other allocated (plain operator new)
    }
  };
};

message message::from_builder(capnp::MessageBuilder& builder) {
  const auto segments = builder.getSegmentsForOutput();
  const std::size_t count = segments.size();
  const std::size_t header_words = (4 + 4 * count + 7) / 8;
  std::size_t total_words = header_words;
  for (const auto& segment : segments) total_words += segment.size();

  capnp::word* words = nullptr;
  // A builder's output is valid by construction; the default nesting limit only guards readers.
  auto out = impl_access::make_uninitialized(total_words, reader_limits{}.nesting_limit, &words);
  // Zero the header's last word first so the padding after an even segment count is defined.
  std::memset(&words[header_words - 1], 0, sizeof(capnp::word));
  store_le32(words, 0, static_cast<std::uint32_t>(count - 1));
  std::size_t offset_words = header_words;
  for (std::size_t i = 0; i < count; ++i) {
    store_le32(words, 4 + 4 * i, static_cast<std::uint32_t>(segments[i].size()));
    std::memcpy(&words[offset_words], segments[i].begin(),
                segments[i].size() * sizeof(capnp::word));
    offset_words += segments[i].size();
  }
  return out;
}

void message::append_framed(capnp::MessageBuilder& builder, std::vector<char>& out) {
  const auto segments = builder.getSegmentsForOutput();
  const std::size_t count = segments.size();
  const std::size_t header_words = (4 + 4 * count + 7) / 8;
  std::size_t total_words = header_words;
  for (const auto& segment : segments) total_words += segment.size();

  const std::size_t old = out.size();
  out.resize(old + total_words * sizeof(capnp::word));
  char* base = out.data() + old;
  // The header's last word is zeroed first so the padding after an even segment count is defined.
  std::memset(base + (header_words - 1) * sizeof(capnp::word), 0, sizeof(capnp::word));
  store_le32_bytes(base, 0, static_cast<std::uint32_t>(count - 1));
  std::size_t offset_bytes = header_words * sizeof(capnp::word);
  for (std::size_t i = 0; i < count; ++i) {
    store_le32_bytes(base, 4 + 4 * i, static_cast<std::uint32_t>(segments[i].size()));
    std::memcpy(base + offset_bytes, segments[i].begin(), segments[i].size() * sizeof(capnp::word));
    offset_bytes += segments[i].size() * sizeof(capnp::word);
  }
}

result<message> message::parse(std::span<const std::byte> bytes, const reader_limits& limits) {
  const auto segments = check_layout(bytes, limits);
  if (!segments) return segments.err();
  const std::size_t word_count = bytes.size() / sizeof(capnp::word);
  message out;
  capnp::word* words = nullptr;
  try {
    // Copied into words we own: the input may be unaligned and must not outlive the call.
    out = impl_access::make_uninitialized(word_count, limits.nesting_limit, &words);
  } catch (const std::bad_alloc&) {
    return make_error(errc::too_large, "out of memory while parsing a frame");
  }
  std::memcpy(words, bytes.data(), bytes.size());
  // One segment (every frame this build writes): proven valid without a reader when possible, and
  // then read without one too (flat). Whatever proven_flat leaves open, Cap'n Proto's traversal
  // decides, with its reason.
  if (*segments == 1 &&
      proven_flat(std::span<const std::byte>(reinterpret_cast<const std::byte*>(words + 1),
                                             bytes.size() - sizeof(capnp::word)),
                  limits.nesting_limit, limits.traversal_limit_words)) {
    out.impl_->flat = true;
    out.impl_->ready.store(true, std::memory_order_release);
    return out;
  }
  {
    // The validating reader is dropped at the end of this scope; the message prepares its own
    // reading when it is first read (see impl).
    std::optional<capnp::FlatArrayMessageReader> checker;
    if (auto traversed = traverse(words, word_count, limits, checker); !traversed)
      return traversed.err();
  }
  return out;
}

status frame_validator::validate(std::span<const std::byte> bytes, const reader_limits& limits) {
  reader_.reset();
  if (auto checked = check_layout(bytes, limits); !checked) return checked.err();
  const std::size_t word_count = bytes.size() / sizeof(capnp::word);
  const capnp::word* words = reinterpret_cast<const capnp::word*>(bytes.data());
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) != 0) {
    // Cap'n Proto reads words in place: unaligned input is copied once into our own buffer.
    try {
      if (aligned_copy_words_ < word_count) {
        aligned_copy_ = std::make_unique_for_overwrite<capnp::word[]>(word_count);
        aligned_copy_words_ = word_count;
      }
    } catch (const std::bad_alloc&) {
      return make_error(errc::too_large, "out of memory while parsing a frame");
    }
    std::memcpy(aligned_copy_.get(), bytes.data(), bytes.size());
    words = aligned_copy_.get();
  }
  return traverse(words, word_count, limits, reader_, &root_);
}

std::span<const std::byte> message::bytes() const noexcept {
  if (impl_ == nullptr) return {};
  return {reinterpret_cast<const std::byte*>(impl_->words.get()), impl_->byte_size};
}

}  // namespace troupe::wire
