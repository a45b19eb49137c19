#include "runtime/wire/flat_validation.hpp"

#include <bit>
#include <cstring>

namespace troupe::wire {
namespace {

/// One traversal. Mirrors capnp 0.9's WireHelpers::totalSize (layout.c++) and SegmentReader's
/// checkOffset / checkObject (arena.h): a pointer's target is the word after the pointer plus its
/// signed offset, clamped to the segment's end when it lies outside the segment; an object of n
/// words must fit before the end and is charged n words (here: at least one) against the limit.
class traversal {
 public:
  traversal(std::span<const std::byte> segment, std::uint64_t budget) noexcept
      : base_(segment.data()), words_(segment.size() / 8), budget_(budget) {}

  bool root(int nesting_limit) noexcept {
    // getRoot(): the root pointer itself must be there; it is charged twice (bounds-checked by
    // MessageReader::getRootInternal, then again by PointerReader::getRoot).
    if (words_ == 0 || !charge(2)) return false;
    return pointer(0, nesting_limit);
  }

 private:
  std::uint64_t word(std::size_t i) const noexcept {
    std::uint64_t w = 0;
    std::memcpy(&w, base_ + i * 8, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    return w;
  }

  bool charge(std::uint64_t words) noexcept {
    if (words == 0) words = 1;  // stricter than capnp 0.9, which charges nothing for empty objects
    if (words > budget_) return false;
    budget_ -= words;
    return true;
  }

  /// The object of `size` words that the pointer at word `at` with `offset` points to: fits in
  /// the segment and within the budget; its first word in `target`.
  bool object(std::size_t at, std::int64_t offset, std::uint64_t size, std::size_t& target) noexcept {
    std::int64_t t = static_cast<std::int64_t>(at) + 1 + offset;
    if (t < 0 || static_cast<std::uint64_t>(t) > words_) t = static_cast<std::int64_t>(words_);
    target = static_cast<std::size_t>(t);
    if (size > words_ - target) return false;
    return charge(size);
  }

  bool pointer(std::size_t at, int nesting) noexcept {
    const std::uint64_t p = word(at);
    if (p == 0) return true;  // null
    if (nesting <= 0) return false;
    --nesting;
    const auto lower = static_cast<std::uint32_t>(p);
    const auto upper = static_cast<std::uint32_t>(p >> 32);
    const std::int64_t offset = static_cast<std::int32_t>(lower) >> 2;
    std::size_t t = 0;
    switch (lower & 3) {
      case 0: {  // struct: data words, then pointers
        const std::uint64_t data = upper & 0xffff;
        const std::uint64_t pointers = upper >> 16;
        if (!object(at, offset, data + pointers, t)) return false;
        for (std::uint64_t i = 0; i < pointers; ++i)
          if (!pointer(t + data + i, nesting)) return false;
        return true;
      }
      case 1: {  // list
        const std::uint64_t count = upper >> 3;
        switch (upper & 7) {
          case 0:  // void: no storage, nothing checked (as capnp)
            return true;
          case 1:  // bit, byte, two-, four- and eight-byte elements
          case 2:
          case 3:
          case 4:
          case 5: {
            constexpr std::uint64_t bits[] = {0, 1, 8, 16, 32, 64};
            return object(at, offset, (count * bits[upper & 7] + 63) / 64, t);
          }
          case 6:  // pointers
            if (!object(at, offset, count, t)) return false;
            for (std::uint64_t i = 0; i < count; ++i)
              if (!pointer(t + i, nesting)) return false;
            return true;
          default: {  // inline composite: `count` words after a tag word shaped like a struct pointer
            if (!object(at, offset, count + 1, t)) return false;
            const std::uint64_t tag = word(t);
            if ((tag & 3) != 0) return false;
            const std::uint64_t elements = (static_cast<std::uint32_t>(tag) >> 2) & 0x1fffffff;
            const std::uint64_t data = (tag >> 32) & 0xffff;
            const std::uint64_t pointers = tag >> 48;
            if ((data + pointers) * elements > count) return false;
            if (pointers == 0) return true;
            std::size_t pos = t + 1;
            for (std::uint64_t e = 0; e < elements; ++e) {
              pos += data;
              for (std::uint64_t j = 0; j < pointers; ++j, ++pos)
                if (!pointer(pos, nesting)) return false;
            }
            return true;
          }
        }
      }
      default:  // far or other (capability): not decided here
        return false;
    }
  }

  const std::byte* base_;
  std::size_t words_;
  std::uint64_t budget_;
};

}  // namespace

bool proven_flat(std::span<const std::byte> segment, int nesting_limit,
                 std::uint64_t traversal_limit_words) noexcept {
  return traversal(segment, traversal_limit_words).root(nesting_limit);
}

}  // namespace troupe::wire
