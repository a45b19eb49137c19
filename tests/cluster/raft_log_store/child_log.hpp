#pragma once
// The log the SIGKILL child writes: entry i has a term and payload that depend on i alone, so the
// test can check any index it was told was synced without talking to the child.

#include <cstdint>
#include <string>

#include "consensus/core/message.hpp"

namespace troupe::raft::test {

/// Terms rise every 50 entries, as after elections.
inline term_t child_term(index_t index) { return 1 + index / 50; }

/// 0 to 400 bytes derived from the index (splitmix64 of it), different for every index.
inline std::string child_data(index_t index) {
  std::uint64_t state = index * 0x9E3779B97F4A7C15ULL;
  auto next = [&state] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  std::string data(next() % 401, '\0');
  for (auto& c : data) c = static_cast<char>(next() & 0xFF);
  return data;
}

inline log_entry child_entry(index_t index) {
  return log_entry{child_term(index), index, entry_type::normal, child_data(index)};
}

}  // namespace troupe::raft::test
