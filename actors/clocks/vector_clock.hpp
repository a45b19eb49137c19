#pragma once
/// Vector clocks (Fidge 1988, Mattern 1989): a counter per participant; event a happened before
/// event b exactly when a's clock is <= b's pointwise and differs somewhere. Not thread-safe.

#include <compare>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace troupe::clocks {

/// How two vector clocks relate.
enum class causal_order {
  equal,       ///< the same event (or the same knowledge)
  before,      ///< this happened before the other
  after,       ///< the other happened before this
  concurrent,  ///< neither happened before the other
};

const char* to_string(causal_order o) noexcept;

/// A vector clock over participant ids (uint64). Components never mentioned are 0 and never stored,
/// so two clocks compare equal exactly when every component is equal.
class vector_clock {
 public:
  using id_type = std::uint64_t;
  using entry = std::pair<id_type, std::uint64_t>;

  vector_clock() = default;

  /// Builds a clock from (id, counter) pairs in any order; zero counters are dropped; a repeated id
  /// keeps its largest counter.
  static vector_clock from_entries(const std::vector<entry>& entries);

  /// The non-zero components, sorted by id: the form carried on an envelope.
  std::vector<entry> entries() const;

  /// Component `id`, 0 when absent.
  std::uint64_t get(id_type id) const noexcept;

  /// A local event or a send by `self`: increments its own component.
  void tick(id_type self);

  /// Takes the pointwise maximum with `other` (the receive rule before the local tick).
  void merge(const vector_clock& other);

  /// A receive by `self` of a message stamped `stamp`: merge, then tick.
  void receive(id_type self, const vector_clock& stamp) {
    merge(stamp);
    tick(self);
  }

  causal_order compare(const vector_clock& other) const noexcept;
  bool happens_before(const vector_clock& other) const noexcept {
    return compare(other) == causal_order::before;
  }
  bool concurrent_with(const vector_clock& other) const noexcept {
    return compare(other) == causal_order::concurrent;
  }

  friend bool operator==(const vector_clock&, const vector_clock&) = default;

 private:
  std::map<id_type, std::uint64_t> counters_;
};

}  // namespace troupe::clocks
