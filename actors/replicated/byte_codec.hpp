#pragma once
/// A plain little-endian byte encoding for snapshot images (the service host's, the session
/// table's, a service's own if it likes): unsigned 64-bit integers and length-prefixed byte
/// strings. The reader checks every length against what is left, so a damaged image is an error
/// value, never a read past the end or a huge allocation.
///
/// Thread-safety: none (plain values).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/base/result.hpp"

namespace troupe::replicated {

inline void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
}

inline void put_bytes(std::string& out, std::string_view bytes) {
  put_u64(out, bytes.size());
  out.append(bytes);
}

class byte_reader {
 public:
  explicit byte_reader(std::string_view bytes) : rest_(bytes) {}

  result<std::uint64_t> u64(const char* what) {
    if (rest_.size() < 8) return short_read(what);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(rest_[static_cast<std::size_t>(i)])) << (8 * i);
    }
    rest_.remove_prefix(8);
    return v;
  }

  result<std::string_view> bytes(const char* what) {
    auto n = u64(what);
    if (!n) return n.err();
    if (*n > rest_.size()) return short_read(what);
    auto out = rest_.substr(0, static_cast<std::size_t>(*n));
    rest_.remove_prefix(static_cast<std::size_t>(*n));
    return out;
  }

  /// A count of items each taking at least `min_item_bytes`: refused if they cannot fit.
  result<std::uint64_t> count(const char* what, std::size_t min_item_bytes) {
    auto n = u64(what);
    if (!n) return n.err();
    if (min_item_bytes != 0 && *n > rest_.size() / min_item_bytes) return short_read(what);
    return n;
  }

  bool done() const noexcept { return rest_.empty(); }

 private:
  static error short_read(const char* what) {
    return make_error(errc::corrupt, std::string("snapshot image ends inside ") + what);
  }
  std::string_view rest_;
};

}  // namespace troupe::replicated
