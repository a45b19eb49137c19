#pragma once
/// Plain C++ forms of runtime/wire/common.capnp used by more than one protocol. No Cap'n Proto
/// include; runtime/wire/common_codec.hpp converts. (version_range lives in version.hpp.)

#include <cstdint>
#include <string>

namespace troupe::wire {

/// Where a node can be reached.
struct node_address {
  std::uint64_t node_id = 0;  ///< 0: none / unknown
  std::string address;        ///< "host:port"
  friend bool operator==(const node_address&, const node_address&) = default;
};

}  // namespace troupe::wire
