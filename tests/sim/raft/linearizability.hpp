#pragma once
/// A per-key linearizability checker for a key-value register history (Wing & Gong's search with
/// Lowe's memoization, as in Porcupine/Knossos). Operations whose outcome is unknown (the client gave
/// up) have no response time: they may take effect at any point after their invocation, or never.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace troupe::raft::testing {

struct kv_op {
  enum class kind : std::uint8_t { put, get, cas };
  kind op = kind::put;
  std::string key;
  std::string value;     ///< put: the value; cas: the new value
  std::string expected;  ///< cas only
  std::uint64_t client = 0;
  std::uint64_t invoke = 0;
  std::uint64_t response = std::numeric_limits<std::uint64_t>::max();  ///< max: outcome unknown
  bool known = false;  ///< a response arrived
  bool ok = false;     ///< get: the key existed; cas: it swapped; put: always true
  std::string output;  ///< get: the value read
};

struct linearizability_result {
  bool linearizable = true;
  bool inconclusive = false;  ///< the search budget ran out for some key
  std::string detail;         ///< which key failed
  std::uint64_t search_steps = 0;
};

/// Checks every key of `history` independently (a register per key is a local property).
linearizability_result check_linearizable(const std::vector<kv_op>& history,
                                          std::uint64_t max_steps_per_key = 2'000'000);

}  // namespace troupe::raft::testing
