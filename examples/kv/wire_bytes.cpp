#include "examples/kv/wire_bytes.hpp"

#include <iterator>
#include <span>

#include "runtime/wire/client_codec.hpp"

namespace troupe::kv::detail {

std::string to_bytes(const wire::client_reply& reply) {
  const wire::message msg = wire::encode(reply);  // owns the bytes: keep it while copying
  const auto bytes = msg.bytes();
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

result<wire::client_request> decode_request(std::string_view bytes, std::size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return make_error(errc::too_large, "request of " + std::to_string(bytes.size()) +
                                           " bytes is over the limit of " + std::to_string(max_bytes));
  }
  wire::reader_limits limits;
  limits.max_frame_bytes = max_bytes;
  auto msg = wire::message::parse(std::as_bytes(std::span(bytes.data(), bytes.size())), limits);
  if (!msg) return msg.err();
  return wire::decode_client_request(*msg);
}

wire::client_reply answer(const wire::client_request& request, wire::client_error error, std::string message) {
  wire::client_reply reply;
  reply.client_id = request.client_id;
  reply.sequence = request.sequence;
  reply.error = error;
  reply.error_message = std::move(message);
  return reply;
}

wire::client_reply undecodable(const error& err) {
  wire::client_reply reply;
  reply.error = wire::client_error::invalid_request;
  reply.error_message = "cannot decode the request: " + err.message;
  return reply;
}

const char* kind_name(const wire::client_request& request) {
  static constexpr const char* names[] = {"put", "get", "cas", "del", "ping", "status", "range", "txn", "changes"};
  // Kinds added later (by other components) are named "other" rather than failing the build here.
  return request.body.index() < std::size(names) ? names[request.body.index()] : "other";
}

}  // namespace troupe::kv::detail
