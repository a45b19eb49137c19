#include "actors/replicated/replicated_client.hpp"

#include <algorithm>
#include <utility>
#include <variant>

namespace troupe::replicated {

replicated_client::replicated_client(std::string service, client::kv_client_options options,
                                     client::link_factory factory, client::client_clock clock)
    : service_(std::move(service)), client_(std::move(options), std::move(factory), std::move(clock)) {}

void replicated_client::observe_index(std::uint64_t index) noexcept {
  session_index_ = std::max(session_index_, index);
}

call_result replicated_client::command(std::string payload) {
  wire::app_request request{service_, wire::app_call::command, std::move(payload),
                            wire::read_consistency::linearizable, 0};
  return finish(client_.app(std::move(request)), 0);
}

call_result replicated_client::query(std::string payload, wire::read_consistency consistency) {
  const std::uint64_t min_index = consistency == wire::read_consistency::session ? session_index_ : 0;
  wire::app_request request{service_, wire::app_call::query, std::move(payload), consistency, min_index};
  return finish(client_.app(std::move(request)), min_index);
}

call_result replicated_client::finish(client::kv_result r, std::uint64_t min_index) {
  call_result out;
  out.outcome = r.outcome;
  out.code = r.code;
  out.message = std::move(r.message);
  out.attempts = r.attempts;
  if (r.outcome != client::kv_outcome::done) return out;
  auto* reply = std::get_if<wire::app_reply>(&r.body);
  if (reply == nullptr || reply->index < min_index) {
    // A node that answers a session read below the session's index broke its promise: refuse to
    // pass the answer on rather than let the session go back in time.
    out.outcome = client::kv_outcome::unknown;
    out.message = reply == nullptr ? "the node's answer does not fit the request"
                                   : "the node answered from index " + std::to_string(reply->index) +
                                         ", below the session's " + std::to_string(min_index);
    return out;
  }
  out.payload = std::move(reply->payload);
  out.index = reply->index;
  observe_index(reply->index);
  return out;
}

}  // namespace troupe::replicated
