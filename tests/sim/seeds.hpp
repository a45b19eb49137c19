#pragma once
// Which seeds a simulation test runs: TROUPE_SEED=n (one seed) or TROUPE_SEEDS=a..b (a range), else
// the test's own default range. Shared by the seeded tests (tests/sim/*, and unit tests that loop
// over seeds).

#include <cstdint>
#include <cstdlib>
#include <string>

namespace troupe::testing {

struct seed_range {
  std::uint64_t first;
  std::uint64_t last;
};

/// `one_var` / `range_var` name the variables (a test with a second seed range uses its own).
inline seed_range seeds_from_env(seed_range fallback, const char* one_var = "TROUPE_SEED",
                                 const char* range_var = "TROUPE_SEEDS") {
  if (const char* one = std::getenv(one_var)) {
    const auto s = std::strtoull(one, nullptr, 10);
    return {s, s};
  }
  if (const char* range = std::getenv(range_var)) {
    const std::string r(range);
    const auto dots = r.find("..");
    if (dots != std::string::npos) {
      return {std::strtoull(r.substr(0, dots).c_str(), nullptr, 10),
              std::strtoull(r.substr(dots + 2).c_str(), nullptr, 10)};
    }
  }
  return fallback;
}

}  // namespace troupe::testing
