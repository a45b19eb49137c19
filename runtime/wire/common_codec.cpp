#include "runtime/wire/common_codec.hpp"

#include "runtime/wire/codec_support.hpp"

namespace troupe::wire {

void write(schema::VersionRange::Builder out, const version_range& in) {
  out.setMin(in.min);
  out.setMax(in.max);
}

version_range read(schema::VersionRange::Reader in) noexcept {
  return version_range{in.getMin(), in.getMax()};
}

void write(schema::NodeAddress::Builder out, const node_address& in) {
  out.setNodeId(in.node_id);
  out.setAddress(detail::as_text(in.address));
}

node_address read(schema::NodeAddress::Reader in) {
  return node_address{in.getNodeId(), detail::to_string(in.getAddress())};
}

}  // namespace troupe::wire
