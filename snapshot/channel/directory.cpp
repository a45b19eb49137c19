#include "snapshot/channel/directory.hpp"

#include <set>
#include <string>

namespace troupe::checkpoint::channel {

status directory::add(participant_id p, node_id node) {
  if (p == no_participant) return make_error(errc::invalid_argument, "participant id 0");
  if (node == 0) return make_error(errc::invalid_argument, "node id 0");
  if (!where_.emplace(p, node).second) {
    return make_error(errc::busy, "participant " + std::to_string(p) + " is placed twice");
  }
  // Dense up to twice the count (plus some slack): the ids of `blocks` and most hand-made layouts.
  const std::size_t dense_max = 2 * where_.size() + 1024;
  if (p < dense_max) {
    if (p >= dense_.size()) {
      // Ids placed earlier above the old dense range (kept only in the map) join it too.
      const auto old_size = dense_.size();
      dense_.resize(p + 1, 0);
      for (auto it = where_.lower_bound(old_size); it != where_.end() && it->first <= p; ++it) {
        dense_[it->first] = it->second;
      }
    }
    dense_[p] = node;
  }
  return {};
}

std::optional<node_id> directory::sparse_node_of(participant_id p) const {
  auto it = where_.find(p);
  if (it == where_.end()) return std::nullopt;
  return it->second;
}

result<directory> directory::blocks(const std::vector<node_id>& nodes, std::size_t per_node) {
  if (nodes.empty()) return make_error(errc::invalid_argument, "no nodes");
  if (per_node == 0) return make_error(errc::invalid_argument, "zero participants per node");
  std::set<node_id> seen;
  directory d;
  participant_id next = 1;
  for (node_id n : nodes) {
    if (!seen.insert(n).second) {
      return make_error(errc::invalid_argument, "node " + std::to_string(n) + " listed twice");
    }
    for (std::size_t i = 0; i < per_node; ++i) {
      if (auto st = d.add(next++, n); !st) return st.err();
    }
  }
  return d;
}


std::vector<participant_id> directory::participants() const {
  std::vector<participant_id> out;
  out.reserve(where_.size());
  for (auto& [p, n] : where_) out.push_back(p);
  return out;
}

std::vector<participant_id> directory::on_node(node_id node) const {
  std::vector<participant_id> out;
  for (auto& [p, n] : where_) {
    if (n == node) out.push_back(p);
  }
  return out;
}

std::vector<node_id> directory::nodes() const {
  std::set<node_id> s;
  for (auto& [p, n] : where_) s.insert(n);
  return {s.begin(), s.end()};
}

}  // namespace troupe::checkpoint::channel
