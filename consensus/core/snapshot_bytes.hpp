#pragma once
/// A minimal little-endian byte writer and bounds-checked reader for state-machine snapshot images
/// (state_machine::snapshot / restore). Header-only, pure, never throws: a reader that runs past the
/// end or meets a bad value remembers it, and the caller checks `ok()` once at the end (and
/// `at_end()` to refuse trailing bytes). Lengths read back are checked against the bytes left, so a
/// corrupt count never makes a decoder allocate more than the image holds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace troupe::raft {

/// Appends fields to a byte string: its own (take() hands it over) or a caller's (the second
/// constructor), so an image can be written into a larger one that embeds it without a copy
/// (service_host embeds the key-value image). Each field is one append of its finished bytes (no
/// byte-at-a-time growth); reserve() the image's size first and writing it allocates once (a
/// 30 MB kv image grown by doubling was copied about twice over, kv README "Snapshots").
class snapshot_writer {
 public:
  snapshot_writer() = default;
  /// Appends to `out`, which must outlive the writer; take() is then not used.
  explicit snapshot_writer(std::string& out) : out_(&out) {}
  snapshot_writer(const snapshot_writer&) = delete;
  snapshot_writer& operator=(const snapshot_writer&) = delete;

  void reserve(std::size_t total_bytes) { out_->reserve(total_bytes); }
  void u8(std::uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void u64(std::uint64_t v) {
    char le[8];
    put_u64(le, v);
    out_->append(le, sizeof le);
  }
  /// A length-prefixed string (u64 length, then the bytes).
  void bytes(std::string_view s) {
    u64(s.size());
    out_->append(s);
  }
  /// Bytes without a length (a part whose length was written before, or is implied).
  void raw(std::string_view s) { out_->append(s); }
  /// Bytes written so far to the underlying string (a position for patch_u64).
  std::size_t size() const { return out_->size(); }
  /// Overwrites the 8 bytes at `offset` (written before, e.g. a length placeholder) with `v`.
  void patch_u64(std::size_t offset, std::uint64_t v) { put_u64(out_->data() + offset, v); }
  std::string take() { return std::move(own_); }

  /// Bytes a bytes(s) field of `n` bytes takes.
  static constexpr std::size_t bytes_size(std::size_t n) { return 8 + n; }
  /// Writes `v` little-endian to `to[0..8)`.
  static void put_u64(char* to, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) to[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }

 private:
  std::string own_;
  std::string* out_ = &own_;
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
  std::string bytes() { return std::string(bytes_view()); }
  /// The same field as bytes(), as a view into the image (valid while the image is): an embedded
  /// image is checked and decoded in place, not copied first.
  std::string_view bytes_view() {
    const std::uint64_t n = u64();
    if (!need(n)) return {};
    const std::string_view s = in_.substr(pos_, n);
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
