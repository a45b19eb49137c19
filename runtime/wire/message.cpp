#include "runtime/wire/message.hpp"

#include <cstring>
#include <limits>
#include <new>
#include <string>

#include <capnp/any.h>
#include <kj/exception.h>

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

}  // namespace

message::impl::impl(std::unique_ptr<capnp::word[]> w, std::size_t n, int nesting_limit)
    : words(std::move(w)),
      byte_size(n),
      reader(kj::ArrayPtr<const capnp::word>(words.get(), n / sizeof(capnp::word)),
             retained_options(nesting_limit)) {
  // MessageReader creates its arena lazily on the first getRoot(), which is a data race if two
  // threads call root<T>() first at once; doing it here leaves only reads for later.
  (void)reader.getRoot<capnp::AnyPointer>();
}

struct message::impl_access {
  static message make(std::unique_ptr<capnp::word[]> words, std::size_t byte_size,
                      int nesting_limit) {
    return message(std::make_shared<impl>(std::move(words), byte_size, nesting_limit));
  }
};

message message::from_builder(capnp::MessageBuilder& builder) {
  const auto segments = builder.getSegmentsForOutput();
  const std::size_t count = segments.size();
  const std::size_t header_words = (4 + 4 * count + 7) / 8;
  std::size_t total_words = header_words;
  for (const auto& segment : segments) total_words += segment.size();

  auto words = std::make_unique_for_overwrite<capnp::word[]>(total_words);
  // Zero the header's last word first so the padding after an even segment count is defined.
  std::memset(&words[header_words - 1], 0, sizeof(capnp::word));
  store_le32(words.get(), 0, static_cast<std::uint32_t>(count - 1));
  std::size_t offset_words = header_words;
  for (std::size_t i = 0; i < count; ++i) {
    store_le32(words.get(), 4 + 4 * i, static_cast<std::uint32_t>(segments[i].size()));
    std::memcpy(&words[offset_words], segments[i].begin(),
                segments[i].size() * sizeof(capnp::word));
    offset_words += segments[i].size();
  }
  // A builder's output is valid by construction; the default nesting limit only guards readers.
  return impl_access::make(std::move(words), total_words * sizeof(capnp::word),
                           reader_limits{}.nesting_limit);
}

result<message> message::parse(std::span<const std::byte> bytes, const reader_limits& limits) {
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

  const std::size_t word_count = bytes.size() / sizeof(capnp::word);
  // Copied into words we own: the input may be unaligned and must not outlive the call.
  auto words = std::make_unique_for_overwrite<capnp::word[]>(word_count);
  std::memcpy(words.get(), bytes.data(), bytes.size());

  try {
    // The full traversal: targetSize() follows every pointer in the message, checking bounds,
    // far-pointer landing pads, list and struct sizes and nesting, and charges every word it
    // visits to the traversal limit, so a frame whose pointers share targets cannot amplify.
    // Cap'n Proto's getters would otherwise check each pointer only when it is first read,
    // which could be deep inside an actor (DESIGN.md section 3).
    capnp::ReaderOptions options;
    options.traversalLimitInWords = limits.traversal_limit_words;
    options.nestingLimit = limits.nesting_limit;
    capnp::FlatArrayMessageReader checker(
        kj::ArrayPtr<const capnp::word>(words.get(), word_count), options);
    (void)checker.getRoot<capnp::AnyPointer>().targetSize();
    return impl_access::make(std::move(words), bytes.size(), limits.nesting_limit);
  } catch (const kj::Exception& e) {
    return make_error(errc::malformed,
                      std::string("invalid Cap'n Proto message: ") + e.getDescription().cStr());
  } catch (const std::bad_alloc&) {
    return make_error(errc::too_large, "out of memory while parsing a frame");
  }
}

std::span<const std::byte> message::bytes() const noexcept {
  if (impl_ == nullptr) return {};
  return {reinterpret_cast<const std::byte*>(impl_->words.get()), impl_->byte_size};
}

}  // namespace troupe::wire
