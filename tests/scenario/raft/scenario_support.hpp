#pragma once
/// Helpers shared by the Raft scenario tests: configurations, MIT 6.824-style `one()` and counts.

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <ostream>
#include <string>

#include "tests/scenario/raft/raft_cluster.hpp"

namespace troupe::raft {
inline std::ostream& operator<<(std::ostream& os, role r) { return os << to_string(r); }
}  // namespace troupe::raft

namespace troupe::raft::testing {

inline config scenario_config() {
  config c;
  c.group = 1;
  c.election_timeout_ticks = 10;
  c.heartbeat_interval_ticks = 2;
  c.tick_duration_ns = 10'000'000;
  return c;
}

/// Seed for a randomized scenario: TROUPE_SEED if set, else `fallback`; printed so it can be rerun.
inline std::uint64_t scenario_seed(const char* test, std::uint64_t fallback) {
  const char* s = std::getenv("TROUPE_SEED");
  const std::uint64_t seed = s != nullptr ? std::strtoull(s, nullptr, 10) : fallback;
  std::cout << test << " seed=" << seed << " (rerun: TROUPE_SEED=" << seed << ")\n";
  return seed;
}

/// Live nodes that applied `data` at `index`.
inline std::size_t count_applied(cluster& c, index_t index, const std::string& data) {
  std::size_t n = 0;
  for (node_id id = 1; id <= c.size(); ++id) {
    if (!c.is_up(id)) continue;
    for (const auto& e : c.applied(id)) {
      if (e.index == index && e.data == data) {
        ++n;
        break;
      }
    }
  }
  return n;
}

/// MIT 6.824's one(): submit `data` to whoever leads (retrying) until `expected` nodes applied it.
inline std::optional<index_t> one(cluster& c, const std::string& data, std::size_t expected,
                                  std::size_t max_ticks = 400) {
  for (std::size_t t = 0; t < max_ticks;) {
    if (auto l = c.leader()) {
      if (auto r = c.propose(*l, data)) {
        for (std::size_t k = 0; k < 60 && t < max_ticks; ++k, ++t) {
          c.deliver_all();
          if (count_applied(c, *r, data) >= expected) return *r;
          c.tick();
        }
        continue;
      }
    }
    c.tick();
    c.deliver_all();
    ++t;
  }
  return std::nullopt;
}

/// Ticks and delivers `ticks` times.
inline void run(cluster& c, std::size_t ticks) {
  for (std::size_t i = 0; i < ticks; ++i) {
    c.tick();
    c.deliver_all();
  }
}

/// Leaders among the live nodes, by term.
inline std::size_t live_leaders(cluster& c) {
  std::size_t n = 0;
  for (node_id id = 1; id <= c.size(); ++id) {
    if (c.is_up(id) && c.at(id).status().role == role::leader) ++n;
  }
  return n;
}

inline void require_no_violations(cluster& c) {
  c.check_log_matching();
  for (const auto& v : c.violations()) BOOST_ERROR("invariant: " << v);
  BOOST_TEST(c.violations().empty());
}

}  // namespace troupe::raft::testing
