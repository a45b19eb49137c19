#pragma once
/// A minimal little-endian byte writer and bounds-checked reader for state-machine snapshot images
/// (state_machine::snapshot / restore). Header-only, pure, never throws: a reader that runs past the
/// end or meets a bad value remembers it, and the caller checks `ok()` once at the end (and
/// `at_end()` to refuse trailing bytes). Lengths read back are checked against the bytes left, so a
/// corrupt count never makes a decoder allocate more than the image holds.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace troupe::raft {

class snapshot_writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void bytes(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class snapshot_reader {
 public:
  explicit snapshot_reader(std::string_view in) : in_(in) {}

  std::uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<std::uint8_t>(in_[pos_ + i])} << (8 * i);
    pos_ += 8;
    return v;
  }
  std::string bytes() {
    const std::uint64_t n = u64();
    if (!need(n)) return {};
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  /// A count of items each at least `min_item_bytes` long: refused (and 0) when the rest of the
  /// image cannot hold that many.
  std::uint64_t count(std::uint64_t min_item_bytes) {
    const std::uint64_t n = u64();
    if (min_item_bytes > 0 && n > (in_.size() - pos_) / min_item_bytes) {
      fail();
      return 0;
    }
    return n;
  }
  /// Marks the image bad (a value out of range, a duplicate, ...).
  void fail() { ok_ = false; }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  bool need(std::uint64_t n) {
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace troupe::raft
