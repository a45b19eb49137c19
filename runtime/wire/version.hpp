#pragma once
/// Protocol versions and their negotiation (no Cap'n Proto include: plain values).
/// The numbers mirror the constants of runtime/wire/common.capnp (checked at compile time in
/// version.cpp). See runtime/wire/README.md for when a version changes.

#include <cstdint>
#include <optional>

#include "runtime/base/result.hpp"

namespace troupe::wire {

inline constexpr std::uint16_t protocol_version_min = 1;
inline constexpr std::uint16_t protocol_version_max = 1;

/// The versions one side speaks, inclusive on both ends.
struct version_range {
  std::uint16_t min = protocol_version_min;
  std::uint16_t max = protocol_version_max;
  friend bool operator==(const version_range&, const version_range&) = default;
};

/// This build's range.
inline constexpr version_range supported_versions{};

/// The version two sides use: the highest one inside both ranges. Errors: errc::invalid_argument
/// for an empty range (min > max or min == 0) on either side, errc::unsupported when the ranges do
/// not overlap (the message names both ranges, for the refusal log line).
result<std::uint16_t> negotiate_version(version_range ours, version_range theirs);

}  // namespace troupe::wire
