#include "runtime/base/result.hpp"

namespace troupe {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::malformed: return "malformed";
    case errc::too_large: return "too_large";
    case errc::unsupported: return "unsupported";
    case errc::refused: return "refused";
    case errc::not_found: return "not_found";
    case errc::io: return "io";
    case errc::corrupt: return "corrupt";
    case errc::busy: return "busy";
    case errc::timeout: return "timeout";
    case errc::closed: return "closed";
    case errc::internal: return "internal";
  }
  return "unknown";
}

}  // namespace troupe
