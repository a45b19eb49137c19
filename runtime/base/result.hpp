#pragma once
/// Errors as values for code that must not depend on CAF (the pure cores, the wire codec, storage).
/// Actor shells convert `troupe::error` into `caf::error` at their edge (runtime/base/caf_error.hpp).

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace troupe {

/// What went wrong, coarsely, so callers can branch; `message` says it to a person.
enum class errc {
  invalid_argument,  ///< bad input from a user, a file or a flag
  malformed,         ///< bytes from the network or a file that do not decode
  too_large,         ///< over a configured limit
  unsupported,       ///< e.g. no common protocol version
  refused,           ///< authentication or cluster id mismatch
  not_found,
  io,                ///< the operating system or SQLite said no
  corrupt,           ///< stored data fails its checksum or integrity check
  busy,              ///< admission control: try again later
  timeout,
  closed,            ///< the other side or the component is gone
  internal,          ///< a bug: an invariant broke
};

const char* to_string(errc code) noexcept;

struct error {
  errc code;
  std::string message;
};

/// Either a T or an error. Deliberately small: C++20 has no std::expected.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  result(error err) : v_(std::move(err)) {}            // NOLINT: implicit by design
  explicit operator bool() const noexcept { return v_.index() == 0; }
  bool ok() const noexcept { return v_.index() == 0; }
  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const error& err() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

/// Success or an error, for operations with nothing to return.
class [[nodiscard]] status {
 public:
  status() = default;
  status(error err) : err_(std::move(err)), failed_(true) {}  // NOLINT: implicit by design
  static status success() { return {}; }
  explicit operator bool() const noexcept { return !failed_; }
  bool ok() const noexcept { return !failed_; }
  const error& err() const { assert(failed_); return err_; }

 private:
  error err_{errc::internal, {}};
  bool failed_ = false;
};

inline error make_error(errc code, std::string message) { return error{code, std::move(message)}; }

}  // namespace troupe
