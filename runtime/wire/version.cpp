#include "runtime/wire/version.hpp"

#include <algorithm>
#include <string>

#include "runtime/wire/common.capnp.h"

namespace troupe::wire {

static_assert(protocol_version_min == schema::PROTOCOL_VERSION_MIN,
              "version.hpp and common.capnp disagree on protocolVersionMin");
static_assert(protocol_version_max == schema::PROTOCOL_VERSION_MAX,
              "version.hpp and common.capnp disagree on protocolVersionMax");

namespace {

std::string describe(version_range range) {
  return "[" + std::to_string(range.min) + ", " + std::to_string(range.max) + "]";
}

}  // namespace

result<std::uint16_t> negotiate_version(version_range ours, version_range theirs) {
  for (const version_range range : {ours, theirs}) {
    if (range.min == 0 || range.min > range.max) {
      return make_error(errc::invalid_argument, "invalid protocol version range " + describe(range));
    }
  }
  const std::uint16_t low = std::max(ours.min, theirs.min);
  const std::uint16_t high = std::min(ours.max, theirs.max);
  if (low > high) {
    return make_error(errc::unsupported, "no common protocol version: ours " + describe(ours) +
                                             ", theirs " + describe(theirs));
  }
  return high;
}

}  // namespace troupe::wire
