#pragma once
/// Client protocol codec: runtime/wire/client_types.hpp <-> runtime/wire/client.capnp.
/// encode() never fails. decode_*() never throws: errc::malformed for a message whose structure
/// does not fit the schema, errc::unsupported for a union member or enumerant this build does not
/// know (a newer peer), errc::invalid_argument for values the protocol forbids.

#include "runtime/base/result.hpp"
#include "runtime/wire/client_types.hpp"
#include "runtime/wire/message.hpp"

namespace troupe::wire {

message encode(const client_request& request);
message encode(const client_reply& reply);

result<client_request> decode_client_request(const message& msg);

/// Whether an encoded ClientRequest's body is an application request (AppRequest), without
/// decoding the rest: the service host routes by it. False for anything that does not decode.
bool is_app_request(const message& msg) noexcept;

/// A reply carrying an error code this build does not know decodes with client_error::unknown
/// (the message text still says what happened); an unknown body member is errc::unsupported.
result<client_reply> decode_client_reply(const message& msg);

}  // namespace troupe::wire
