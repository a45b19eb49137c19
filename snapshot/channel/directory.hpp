#pragma once
/// Where each participant lives: participant id -> node id. Participants have logical ids (not CAF
/// handles) so that a checkpoint taken on one set of processes can be restored onto another; the
/// directory is what binds the ids to processes for one run. Pure value; not thread-safe to mutate.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "runtime/base/result.hpp"
#include "snapshot/core/message.hpp"

namespace troupe::checkpoint::channel {

using node_id = std::uint64_t;

class directory {
 public:
  /// Places `p` on `node`. invalid_argument for id 0 or node 0, busy if `p` is already placed.
  status add(participant_id p, node_id node);

  /// Node i of `nodes` (in the order given) hosts ids i * per_node + 1 ... (i + 1) * per_node: the
  /// layout the bank example and the benchmarks use. invalid_argument for an empty node list, a
  /// node id 0, a repeated node or per_node 0.
  static result<directory> blocks(const std::vector<node_id>& nodes, std::size_t per_node);

  /// O(1) for ids below about twice the participant count (every id of `blocks`), O(log n) above.
  std::optional<node_id> node_of(participant_id p) const {
    if (p < dense_.size()) {
      if (dense_[p] != 0) return dense_[p];
      return std::nullopt;
    }
    return sparse_node_of(p);
  }
  bool contains(participant_id p) const { return node_of(p).has_value(); }
  /// Every participant, ascending.
  std::vector<participant_id> participants() const;
  /// The participants hosted on `node`, ascending.
  std::vector<participant_id> on_node(node_id node) const;
  /// The nodes hosting at least one participant, ascending.
  std::vector<node_id> nodes() const;
  std::size_t size() const noexcept { return where_.size(); }

 private:
  std::optional<node_id> sparse_node_of(participant_id p) const;

  std::map<participant_id, node_id> where_;
  /// dense_[p] = node of p (0: none) for every p < dense_.size(): node_of is called several times
  /// per frame, and a map walk per call was a tenth of a host's CPU (README.md). Only small ids
  /// are kept here, so that memory stays proportional to the participant count.
  std::vector<node_id> dense_;
};

}  // namespace troupe::checkpoint::channel
