#include "tests/sim/raft/linearizability.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_set>

namespace troupe::raft::testing {

namespace {

using state = std::optional<std::string>;  // nullopt: key absent

/// The register model: may `op` take effect in `s`, and what state follows.
bool step(const state& s, const kv_op& op, state& next) {
  next = s;
  switch (op.op) {
    case kv_op::kind::put:
      next = op.value;
      return true;
    case kv_op::kind::get:
      if (!op.known) return true;
      return op.ok ? (s.has_value() && *s == op.output) : !s.has_value();
    case kv_op::kind::cas: {
      const bool match = s.has_value() && *s == op.expected;
      if (match) next = op.value;
      if (!op.known) return true;
      return op.ok == match;
    }
  }
  return false;
}

struct event {
  bool is_call;
  std::size_t op;
  std::size_t match;  // index of the paired event
  std::size_t prev;
  std::size_t next;
};

constexpr std::size_t none = std::numeric_limits<std::size_t>::max();

class search {
 public:
  explicit search(std::vector<const kv_op*> ops) : ops_(std::move(ops)) {
    const std::size_t n = ops_.size();
    struct stamp {
      std::uint64_t time;
      int order;  // calls before returns at the same time: treat them as concurrent
      std::size_t op;
      bool call;
    };
    std::vector<stamp> stamps;
    for (std::size_t i = 0; i < n; ++i) {
      stamps.push_back({ops_[i]->invoke, 0, i, true});
      stamps.push_back({ops_[i]->response, 1, i, false});
    }
    std::sort(stamps.begin(), stamps.end(), [](const stamp& a, const stamp& b) {
      return a.time != b.time ? a.time < b.time : a.order < b.order;
    });
    events_.resize(2 * n + 1);
    head_ = 2 * n;
    std::vector<std::size_t> call_of(n), ret_of(n);
    for (std::size_t k = 0; k < stamps.size(); ++k) {
      (stamps[k].call ? call_of : ret_of)[stamps[k].op] = k;
      events_[k] = {stamps[k].call, stamps[k].op, none, k == 0 ? head_ : k - 1,
                    k + 1 < stamps.size() ? k + 1 : none};
    }
    for (std::size_t i = 0; i < n; ++i) {
      events_[call_of[i]].match = ret_of[i];
      events_[ret_of[i]].match = call_of[i];
    }
    events_[head_] = {false, none, none, none, stamps.empty() ? none : 0};
    linearized_.assign((n + 63) / 64, 0);
  }

  /// true: linearizable; false: not; nullopt: budget exhausted.
  std::optional<bool> run(std::uint64_t max_steps, std::uint64_t& steps) {
    state current;
    std::vector<std::pair<std::size_t, state>> calls;
    std::size_t e = events_[head_].next;
    while (events_[head_].next != none) {
      if (++steps > max_steps) return std::nullopt;
      if (e == none) return false;  // defensive: cannot happen in a well-formed list
      if (events_[e].is_call) {
        state next;
        const std::size_t op = events_[e].op;
        if (step(current, *ops_[op], next)) {
          set_bit(op, true);
          if (cache_.insert(cache_key(next)).second) {
            calls.emplace_back(e, current);
            current = std::move(next);
            lift(e);
            e = events_[head_].next;
            continue;
          }
          set_bit(op, false);
        }
        e = events_[e].next;
      } else {
        if (calls.empty()) return false;
        auto [call, prior] = calls.back();
        calls.pop_back();
        current = std::move(prior);
        set_bit(events_[call].op, false);
        unlift(call);
        e = events_[call].next;
      }
    }
    return true;
  }

 private:
  void set_bit(std::size_t i, bool v) {
    if (v) {
      linearized_[i / 64] |= std::uint64_t{1} << (i % 64);
    } else {
      linearized_[i / 64] &= ~(std::uint64_t{1} << (i % 64));
    }
  }
  std::string cache_key(const state& s) const {
    std::string k(reinterpret_cast<const char*>(linearized_.data()), linearized_.size() * 8);
    k += s.has_value() ? "\1" + *s : std::string("\0", 1);
    return k;
  }
  void remove(std::size_t x) {
    events_[events_[x].prev].next = events_[x].next;
    if (events_[x].next != none) events_[events_[x].next].prev = events_[x].prev;
  }
  void reinsert(std::size_t x) {
    events_[events_[x].prev].next = x;
    if (events_[x].next != none) events_[events_[x].next].prev = x;
  }
  void lift(std::size_t call) {
    remove(call);
    remove(events_[call].match);
  }
  void unlift(std::size_t call) {
    reinsert(events_[call].match);
    reinsert(call);
  }

  std::vector<const kv_op*> ops_;
  std::vector<event> events_;
  std::size_t head_;
  std::vector<std::uint64_t> linearized_;
  std::unordered_set<std::string> cache_;
};

}  // namespace

linearizability_result check_linearizable(const std::vector<kv_op>& history,
                                          std::uint64_t max_steps_per_key) {
  std::map<std::string, std::vector<const kv_op*>> by_key;
  for (const auto& op : history) {
    // A read whose outcome is unknown constrains nothing.
    if (op.op == kv_op::kind::get && !op.known) continue;
    by_key[op.key].push_back(&op);
  }
  linearizability_result result;
  for (auto& [key, ops] : by_key) {
    search s(ops);
    std::uint64_t steps = 0;
    auto verdict = s.run(max_steps_per_key, steps);
    result.search_steps += steps;
    if (!verdict) {
      result.inconclusive = true;
    } else if (!*verdict) {
      result.linearizable = false;
      result.detail = "key '" + key + "' has no linearization (" + std::to_string(ops.size()) + " ops)";
      return result;
    }
  }
  return result;
}

}  // namespace troupe::raft::testing
