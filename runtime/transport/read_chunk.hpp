#pragma once
/// The size of the next socket read, following the traffic (pure: no CAF, no sockets).
///
/// Why: CAF 0.17's stream resizes its read buffer back to the configured `at_most(n)` after every
/// read, zero-filling the n - (bytes read) bytes the read did not use. With a fixed 64 KiB and the
/// few hundred bytes a read brings under light or latency-bound traffic, that memset was 20% of the
/// receiving broker thread's instructions (callgrind, `troupe bench transport`). So the chunk
/// starts small, doubles after a read that filled it (more was waiting: fewer, larger reads) up to
/// the configured maximum, and halves after a read that used at most a quarter of it, never
/// below the minimum. Growing zero-fills only the added part, once; shrinking costs nothing.
///
/// Not thread-safe (one per connection, on the broker's thread).

#include <algorithm>
#include <cstddef>

namespace troupe::transport {

class read_chunk {
 public:
  /// Preconditions: 0 < min_bytes; max_bytes >= min_bytes (a larger min is clamped to max).
  read_chunk(std::size_t min_bytes, std::size_t max_bytes) noexcept
      : min_(std::min(min_bytes, max_bytes)), max_(max_bytes), size_(min_) {}

  /// The chunk to ask for: configure_read(at_most(size())).
  std::size_t size() const noexcept { return size_; }

  /// A read returned `n` bytes (n <= size()). Returns true when size() changed, i.e. the socket's
  /// read policy must be configured again.
  bool after_read(std::size_t n) noexcept {
    std::size_t next = size_;
    if (n >= size_)
      next = std::min(max_, size_ * 2);
    else if (n <= size_ / 4)
      next = std::max(min_, size_ / 2);
    if (next == size_)
      return false;
    size_ = next;
    return true;
  }

 private:
  std::size_t min_;
  std::size_t max_;
  std::size_t size_;
};

}  // namespace troupe::transport
