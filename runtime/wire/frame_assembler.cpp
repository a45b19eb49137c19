#include <cstring>

#include "runtime/wire/framing.hpp"
#include "runtime/wire/message.hpp"

namespace troupe::wire {
namespace {

/// Consumed bytes are dropped from the front once they are at least this many and at least half
/// the buffer: each byte is then moved O(1) times on average, never quadratically.
constexpr std::size_t compaction_threshold_bytes = 64 * 1024;

}  // namespace

frame_assembler::frame_assembler(reader_limits limits) : limits_(limits) {}

void frame_assembler::append(std::span<const std::byte> bytes) {
  if (failed_ || bytes.empty()) return;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ >= compaction_threshold_bytes && consumed_ * 2 >= buffer_.size()) {
    const std::size_t remaining = buffer_.size() - consumed_;
    std::memmove(buffer_.data(), buffer_.data() + consumed_, remaining);
    buffer_.resize(remaining);
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

result<std::optional<std::span<const std::byte>>> frame_assembler::next_frame_bytes() {
  using none = std::optional<std::span<const std::byte>>;
  if (failed_) {
    return make_error(errc::closed, "frame stream already failed; the connection must close");
  }
  const std::span<const std::byte> available(buffer_.data() + consumed_,
                                             buffer_.size() - consumed_);
  auto layout = read_frame_layout(available, limits_);
  if (!layout) {
    failed_ = true;
    return layout.err();
  }
  if (!layout->has_value()) return none{};
  const std::size_t total_bytes = (*layout)->total_bytes;
  if (available.size() < total_bytes) {
    // Reserve once for the whole frame instead of growing step by step while it trickles in.
    buffer_.reserve(consumed_ + total_bytes);
    return none{};
  }
  // consumed_ only ever grows by whole frames (multiples of 8) and the buffer's storage comes from
  // operator new, so the frame is 8-byte aligned, as Cap'n Proto's readers require.
  consumed_ += total_bytes;
  return none{available.first(total_bytes)};
}

result<std::optional<message>> frame_assembler::next() {
  auto bytes = next_frame_bytes();
  if (!bytes) return bytes.err();
  if (!bytes->has_value()) return std::optional<message>{};
  auto parsed = message::parse(**bytes, limits_);
  if (!parsed) {
    failed_ = true;
    return parsed.err();
  }
  return std::optional<message>{std::move(*parsed)};
}

std::size_t frame_assembler::buffered_bytes() const noexcept { return buffer_.size() - consumed_; }

}  // namespace troupe::wire
