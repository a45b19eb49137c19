#include "actors/clocks/vector_clock.hpp"

#include <algorithm>
#include <cassert>

namespace troupe::clocks {

const char* to_string(causal_order o) noexcept {
  switch (o) {
    case causal_order::equal:
      return "equal";
    case causal_order::before:
      return "before";
    case causal_order::after:
      return "after";
    case causal_order::concurrent:
      return "concurrent";
  }
  return "unknown";
}

vector_clock vector_clock::from_entries(const std::vector<entry>& entries) {
  vector_clock result;
  for (const auto& [id, counter] : entries) {
    if (counter == 0) continue;
    auto& slot = result.counters_[id];
    slot = std::max(slot, counter);
  }
  return result;
}

std::vector<vector_clock::entry> vector_clock::entries() const {
  return {counters_.begin(), counters_.end()};
}

std::uint64_t vector_clock::get(id_type id) const noexcept {
  auto it = counters_.find(id);
  return it == counters_.end() ? 0 : it->second;
}

void vector_clock::tick(id_type self) {
  auto& slot = counters_[self];
  assert(slot < UINT64_MAX && "vector clock component overflow");
  ++slot;
}

void vector_clock::merge(const vector_clock& other) {
  for (const auto& [id, counter] : other.counters_) {
    assert(counter != 0 && "zero components are never stored");
    auto& slot = counters_[id];
    slot = std::max(slot, counter);
  }
}

causal_order vector_clock::compare(const vector_clock& other) const noexcept {
  // One merge-walk over both sorted maps: does either side have a larger component somewhere?
  bool this_larger = false;
  bool other_larger = false;
  auto a = counters_.begin();
  auto b = other.counters_.begin();
  while (a != counters_.end() || b != other.counters_.end()) {
    if (b == other.counters_.end() || (a != counters_.end() && a->first < b->first)) {
      this_larger = true;  // other's component is 0
      ++a;
    } else if (a == counters_.end() || b->first < a->first) {
      other_larger = true;
      ++b;
    } else {
      this_larger |= a->second > b->second;
      other_larger |= b->second > a->second;
      ++a;
      ++b;
    }
  }
  if (this_larger && other_larger) return causal_order::concurrent;
  if (this_larger) return causal_order::after;
  if (other_larger) return causal_order::before;
  return causal_order::equal;
}

}  // namespace troupe::clocks
