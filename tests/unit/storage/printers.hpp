#pragma once
/// Boost.Test printers for troupe's error vocabulary, so failed checks show the error message.

#include <ostream>
#include <string>

#include "runtime/base/result.hpp"

namespace troupe {

inline std::ostream& boost_test_print_type(std::ostream& out, const errc& code) {
  return out << to_string(code);
}

inline std::ostream& boost_test_print_type(std::ostream& out, const status& s) {
  if (s) return out << "ok";
  return out << to_string(s.err().code) << ": " << s.err().message;
}

template <class T>
std::ostream& boost_test_print_type(std::ostream& out, const result<T>& r) {
  if (r) return out << "ok";
  return out << to_string(r.err().code) << ": " << r.err().message;
}

/// The error message of a failed result/status, "ok" otherwise: safe in BOOST_*_MESSAGE, whose
/// message is evaluated even when the check passes.
template <class T>
std::string why(const result<T>& r) {
  return r ? std::string{"ok"} : r.err().message;
}
inline std::string why(const status& s) {
  return s ? std::string{"ok"} : s.err().message;
}

}  // namespace troupe
