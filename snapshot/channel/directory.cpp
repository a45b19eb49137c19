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
  return {};
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

std::optional<node_id> directory::node_of(participant_id p) const {
  auto it = where_.find(p);
  if (it == where_.end()) return std::nullopt;
  return it->second;
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
