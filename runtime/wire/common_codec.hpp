#pragma once
/// Field-level converters for the shared structs of runtime/wire/common.capnp, for codecs of
/// schemas that embed them (client.capnp, link.capnp).
///
/// The readers are meant to run inside a codec's guarded decode: reading a pointer field (the
/// address text) can throw kj::Exception for a structurally valid message whose pointer has the
/// wrong kind, and the codec turns that into errc::malformed. `read(VersionRange)` reads only
/// integers and never throws; it does not validate the range (negotiate_version does).

#include "runtime/wire/common.capnp.h"
#include "runtime/wire/common_types.hpp"
#include "runtime/wire/version.hpp"

namespace troupe::wire {

void write(schema::VersionRange::Builder out, const version_range& in);
version_range read(schema::VersionRange::Reader in) noexcept;

void write(schema::NodeAddress::Builder out, const node_address& in);
node_address read(schema::NodeAddress::Reader in);

}  // namespace troupe::wire
