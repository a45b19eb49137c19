#include "examples/lock/lock_clock_core.hpp"

#include <span>
#include <variant>

#include "runtime/wire/client_codec.hpp"

namespace troupe::lock {

lock_clock_core::lock_clock_core(std::uint64_t group, std::uint64_t seed) : group_(group), rng_(seed) {
  new_session();
}

void lock_clock_core::new_session() {
  do {
    client_id_ = rng_();
  } while (client_id_ == 0);
  sequence_ = 0;
}

lock_clock_core::step lock_clock_core::interval(std::uint64_t live_leases) {
  if (in_flight_) return step::busy;
  if (live_leases == 0) {
    // Nothing a tick could end or stamp. The leader's measurement breaks here: the next tick
    // restarts (counts no time), as after any interval in which this clock did not tick.
    clock_.failed();
    ++stats_.idle_intervals;
    return step::idle;
  }
  in_flight_ = true;
  proposed_ = false;
  return step::ask_leader;
}

std::optional<std::string> lock_clock_core::leader_known(bool leader, std::uint64_t now_ms) {
  if (!leader) {
    in_flight_ = false;
    clock_.failed();  // when this node leads again, its first tick restarts
    return std::nullopt;
  }
  const auto request = clock_.next(now_ms);
  wire::client_request cr;
  cr.client_id = client_id_;
  cr.sequence = ++sequence_;
  cr.group_id = group_;
  cr.body = wire::app_request{std::string(service_name), wire::app_call::command, encode_request(request),
                              wire::read_consistency::linearizable, 0};
  const auto msg = wire::encode(cr);
  const auto bytes = msg.bytes();
  in_flight_ = true;
  proposed_ = true;
  ++stats_.proposed;
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

result<tick_summary> lock_clock_core::answered(std::string_view client_reply) {
  auto refused = [this](error e) -> result<tick_summary> {
    failed();
    return e;
  };
  auto msg = wire::message::parse(std::as_bytes(std::span(client_reply.data(), client_reply.size())));
  if (!msg) return refused(msg.err());
  auto reply = wire::decode_client_reply(*msg);
  if (!reply) return refused(reply.err());
  if (reply->error != wire::client_error::ok) {
    return refused(make_error(errc::refused, std::string(wire::to_string(reply->error)) + ": " + reply->error_message));
  }
  const auto* app = std::get_if<wire::app_reply>(&reply->body);
  if (app == nullptr) return refused(make_error(errc::malformed, "a tick answered without an application reply"));
  auto answer = decode_answer(app->payload);
  if (!answer) return refused(answer.err());
  if (answer->op != lock_op::tick) return refused(make_error(errc::malformed, "a tick answered as another request"));
  in_flight_ = false;
  clock_.committed();
  ++stats_.committed;
  return answer->tick;
}

void lock_clock_core::failed() {
  if (in_flight_ && proposed_) ++stats_.failed;
  in_flight_ = false;
  proposed_ = false;
  clock_.failed();
  // The outcome may be unknown: a fresh session, so that no late answer of the old one counts.
  new_session();
}

}  // namespace troupe::lock
