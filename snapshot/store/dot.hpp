#pragma once
/// The global state as a Graphviz picture, for `troupe checkpoint export ID --dot`: participants
/// as nodes (id, size of the local state, and the state itself when it is short printable text),
/// recorded channels as edges `from -> to` labelled with their message count and the first few
/// in-flight messages. Pure: no I/O.

#include <cstddef>
#include <string>

#include "snapshot/core/global_state.hpp"

namespace troupe::checkpoint::store {

struct dot_options {
  /// Messages shown per channel; the label says how many more there are.
  std::size_t messages_shown = 3;
  /// Bytes of printable text shown for a state or payload; longer ones show their size only.
  std::size_t text_bytes_max = 32;
};

/// A `digraph` in the DOT language. Every label is a quoted string with `"` and `\` escaped, so
/// any bytes render as valid DOT. Node names are `p<id>`; nodes and edges come in id order, so
/// equal states render to equal text.
std::string to_dot(const global_state& state, const dot_options& opts = {});

}  // namespace troupe::checkpoint::store
