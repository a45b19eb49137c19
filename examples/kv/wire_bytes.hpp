#pragma once
/// Between the bytes raft carries and the plain client protocol types, for this folder's
/// implementation files. Never throws: bad bytes come back as an error value.

#include <string>
#include <string_view>

#include "runtime/base/result.hpp"
#include "runtime/wire/client_types.hpp"

namespace troupe::kv::detail {

/// The encoded ClientReply.
std::string to_bytes(const wire::client_reply& reply);

/// Decodes an encoded ClientRequest of at most `max_bytes` (errc::too_large beyond).
result<wire::client_request> decode_request(std::string_view bytes, std::size_t max_bytes);

/// A reply to `request` carrying `error` and `message`, no body.
wire::client_reply answer(const wire::client_request& request, wire::client_error error, std::string message);

/// A reply to bytes that did not decode (clientId and sequence unknown: 0).
wire::client_reply undecodable(const error& err);

/// "put", "get", ... for messages.
const char* kind_name(const wire::client_request& request);

}  // namespace troupe::kv::detail
