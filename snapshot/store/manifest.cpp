#include "snapshot/store/manifest.hpp"

namespace troupe::checkpoint::store {

std::optional<checkpoint_status> parse_status(std::string_view name) noexcept {
  // The enum is dense from ok to the last value; to_string is the one spelling of each name.
  for (int s = static_cast<int>(checkpoint_status::ok);
       s <= static_cast<int>(checkpoint_status::too_many_in_flight); ++s) {
    const auto status = static_cast<checkpoint_status>(s);
    if (name == to_string(status)) return status;
  }
  return std::nullopt;
}

}  // namespace troupe::checkpoint::store
