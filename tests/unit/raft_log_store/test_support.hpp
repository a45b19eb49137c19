#pragma once
// Helpers shared by the raft log store tests: seeds (printed, overridable with TROUPE_SEED), a
// seeded generator, entry builders and printers for Boost.Test.

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "consensus/core/message.hpp"
#include "consensus/core/types.hpp"
#include "runtime/base/result.hpp"

namespace troupe::raft {
inline std::ostream& operator<<(std::ostream& os, const log_entry& e) {
  return os << "{index " << e.index << ", term " << e.term << ", type "
            << static_cast<int>(e.type) << ", " << e.data.size() << " bytes}";
}
inline std::ostream& operator<<(std::ostream& os, const hard_state& hs) {
  return os << "{term " << hs.term << ", vote " << hs.voted_for << ", commit " << hs.commit << "}";
}
}  // namespace troupe::raft

namespace troupe {
inline std::ostream& operator<<(std::ostream& os, errc code) { return os << to_string(code); }
}  // namespace troupe

namespace troupe::raft::test {

inline std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::strtoull(value, nullptr, 10) : fallback;
}

/// The seed of a randomized test: TROUPE_SEED or `fallback`, printed so a failure can be rerun.
inline std::uint64_t seed_for(const char* test_name, std::uint64_t fallback = 20261126) {
  const std::uint64_t seed = env_or("TROUPE_SEED", fallback);
  std::cout << test_name << ": seed " << seed << " (rerun with TROUPE_SEED=" << seed << ")"
            << std::endl;
  return seed;
}

/// splitmix64: small, fast, and the same sequence on every platform.
inline std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

inline std::string random_bytes(std::uint64_t& rng, std::size_t size) {
  std::string s(size, '\0');
  for (auto& c : s) c = static_cast<char>(splitmix(rng) & 0xFF);
  return s;
}

inline log_entry entry(index_t index, term_t term, std::string data = {},
                       entry_type type = entry_type::normal) {
  return log_entry{term, index, type, std::move(data)};
}

/// A snapshot's metadata for apply_snapshot (voters 1, 2, 3 unless given).
inline snapshot_metadata snap(index_t last_index, term_t last_term, std::vector<node_id> voters = {1, 2, 3}) {
  snapshot_metadata m;
  m.last_index = last_index;
  m.last_term = last_term;
  m.membership.voters = std::move(voters);
  return m;
}

/// Entries [first, first + count) of `term`, each with distinct data.
inline std::vector<log_entry> run_of(index_t first, std::size_t count, term_t term) {
  std::vector<log_entry> out;
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(entry(first + i, term, "e" + std::to_string(first + i) + "t" + std::to_string(term)));
  }
  return out;
}

template <class T>
std::string why(const result<T>& r) {
  return r ? std::string("ok") : std::string(to_string(r.err().code)) + ": " + r.err().message;
}
inline std::string why(const status& s) {
  return s ? std::string("ok") : std::string(to_string(s.err().code)) + ": " + s.err().message;
}

}  // namespace troupe::raft::test
