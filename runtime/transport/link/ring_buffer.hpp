#pragma once
/// A FIFO in one power-of-two array that doubles when full: push, pop and indexing are a mask and
/// an add, with no allocation per element (the retransmit buffer's std::deque allocated and freed
/// a block every four messages, and its indexing was ~3% of the sending broker thread, callgrind).
/// Popped slots are reset to T{} at once, so nothing they held (a payload buffer) outlives its
/// pop. The array keeps its size after pops (the owner bounds the element count); clear()
/// releases it. Pure, not thread-safe.

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

namespace troupe::link {

template <class T>
class ring_buffer {
 public:
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// The i-th oldest element. Precondition: i < size().
  T& operator[](std::size_t i) noexcept {
    assert(i < size_);
    return slots_[(head_ + i) & (slots_.size() - 1)];
  }
  const T& operator[](std::size_t i) const noexcept {
    assert(i < size_);
    return slots_[(head_ + i) & (slots_.size() - 1)];
  }
  T& front() noexcept { return (*this)[0]; }
  const T& front() const noexcept { return (*this)[0]; }

  /// Appends a slot holding T{} and returns it, to be filled in place.
  T& push_back_slot() {
    if (size_ == slots_.size()) grow();
    ++size_;
    return (*this)[size_ - 1];
  }

  /// Removes the oldest element. Precondition: !empty().
  void pop_front() {
    assert(size_ > 0);
    slots_[head_] = T{};
    head_ = (head_ + 1) & (slots_.size() - 1);
    --size_;
  }

  /// Removes every element and releases the array.
  void clear() noexcept {
    slots_ = std::vector<T>{};
    head_ = 0;
    size_ = 0;
  }

 private:
  void grow() {
    std::vector<T> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
    slots_.swap(bigger);
    head_ = 0;
  }

  std::vector<T> slots_;  ///< size 0 or a power of two
  std::size_t head_ = 0;  ///< index of the oldest element
  std::size_t size_ = 0;
};

}  // namespace troupe::link
