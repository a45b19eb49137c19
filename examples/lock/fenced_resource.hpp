#pragma once
/// A resource protected by a lock the safe way (Kleppmann, "How to do distributed locking", 2016):
/// every write carries the fencing token of the lease its writer held, and the resource refuses a
/// write whose token is lower than the highest it has accepted. A holder that was paused past its
/// lease (GC, SIGSTOP, a slow disk) and wakes up still believing it holds the lock is refused as
/// soon as the next holder has written once; no clock is involved. Equal tokens are accepted: the
/// same holder writing twice.
///
/// The example that examples/lock/README.md shows and the SIGSTOP process test uses. A real
/// resource keeps `highest_token` durable with its data, in the same transaction.
///
/// Thread-safety: none (a plain value).

#include <cstdint>
#include <string>
#include <utility>

namespace troupe::lock {

class fenced_resource {
 public:
  /// Stores `value` if `token` is at least the highest token seen; returns whether it did.
  bool write(std::uint64_t token, std::string value) {
    if (token < highest_token_) {
      ++refused_;
      return false;
    }
    highest_token_ = token;
    value_ = std::move(value);
    return true;
  }

  const std::string& value() const noexcept { return value_; }
  std::uint64_t highest_token() const noexcept { return highest_token_; }
  std::uint64_t refused() const noexcept { return refused_; }

 private:
  std::uint64_t highest_token_ = 0;
  std::uint64_t refused_ = 0;
  std::string value_;
};

}  // namespace troupe::lock
