#include "examples/lock/lock_clock_actor.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <cstddef>
#include <random>
#include <string>
#include <variant>

#include "consensus/actor/raft_actor.hpp"
#include "examples/lock/lock_codec.hpp"
#include "examples/lock/tick_clock.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/wire/client_codec.hpp"

namespace troupe::lock {

namespace {

using lock_tick_atom = caf::atom_constant<caf::atom("lk_tick")>;

struct lock_clock_state {
  lock_clock_config config;
  tick_clock clock;
  std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t client_id = 0;
  std::uint64_t sequence = 0;
  bool in_flight = false;
  // Metrics (null without a registry).
  prometheus::Gauge* held = nullptr;
  prometheus::Counter* grants = nullptr;
  prometheus::Counter* expirations = nullptr;
  prometheus::Counter* releases = nullptr;
  lock_counts published;
};

using clock_actor = caf::stateful_actor<lock_clock_state>;

void new_session(lock_clock_state& s) {
  do {
    s.client_id = s.rng();
  } while (s.client_id == 0);
  s.sequence = 0;
}

void publish(lock_clock_state& s) {
  if (s.held == nullptr || !s.config.counts) return;
  const auto now = s.config.counts->read();
  s.held->Set(static_cast<double>(now.held));
  // The observer's counts only grow (the table keeps its stats across a restore).
  auto add = [](prometheus::Counter* c, std::uint64_t now_v, std::uint64_t& before) {
    if (now_v > before) c->Increment(static_cast<double>(now_v - before));
    before = now_v;
  };
  add(s.grants, now.grants, s.published.grants);
  add(s.expirations, now.expirations, s.published.expirations);
  add(s.releases, now.releases, s.published.releases);
}

/// The service's answer inside a raft reply, or an error saying why there is none.
result<lock_answer> answer_of(const raft::raft_reply& r) {
  if (r.code != raft::outcome_code::ok) return make_error(errc::closed, "not committed");
  auto msg = wire::message::parse(std::as_bytes(std::span(r.data.data(), r.data.size())));
  if (!msg) return msg.err();
  auto reply = wire::decode_client_reply(*msg);
  if (!reply) return reply.err();
  if (reply->error != wire::client_error::ok) {
    return make_error(errc::refused, std::string(wire::to_string(reply->error)) + ": " + reply->error_message);
  }
  const auto* app = std::get_if<wire::app_reply>(&reply->body);
  if (app == nullptr) return make_error(errc::malformed, "a tick answered without an application reply");
  return decode_answer(app->payload);
}

/// Proposes one tick (this node leads, as far as it knows).
void propose_tick(clock_actor* self) {
  auto& s = self->state;
  const auto request = s.clock.next(static_cast<std::uint64_t>(steady_now_ms()));
  wire::client_request cr;
  cr.client_id = s.client_id;
  cr.sequence = ++s.sequence;
  cr.group_id = s.config.group;
  cr.body = wire::app_request{std::string(service_name), wire::app_call::command, encode_request(request),
                              wire::read_consistency::linearizable, 0};
  const auto msg = wire::encode(cr);  // keeps the bytes alive while they are copied below
  const auto bytes = msg.bytes();
  self->request(s.config.raft, s.config.timeout, raft::propose_atom::value,
                std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()))
      .then(
          [self](const raft::raft_reply& r) {
            auto& st = self->state;
            st.in_flight = false;
            auto a = answer_of(r);
            if (!a) {
              // Leadership lost, or the outcome is unknown: the next tick restarts, from a new
              // session (its sequence 1 opens it).
              if (r.code == raft::outcome_code::ok && st.config.log) {
                st.config.log(log_level::warn, "lock", "a tick was refused: " + a.err().message);
              }
              st.clock.failed();
              new_session(st);
              return;
            }
            st.clock.committed();
            if (a->tick.ended > 0 && st.config.log) {
              st.config.log(log_level::info, "lock",
                            std::to_string(a->tick.ended) + " lease(s) expired, " + std::to_string(a->tick.grants) +
                                " lock(s) handed to the next waiter, at lock time " + std::to_string(a->tick.now_ms) +
                                " ms");
            }
          },
          [self](const caf::error&) {
            auto& st = self->state;
            st.in_flight = false;
            st.clock.failed();
            new_session(st);
          });
}

void tick(clock_actor* self) {
  auto& s = self->state;
  self->delayed_send(self, s.config.interval, lock_tick_atom::value);
  publish(s);
  if (s.in_flight) return;
  s.in_flight = true;
  // Ask first: a follower's proposal would be refused anyway, and would count in
  // troupe_raft_proposals_failed_total{reason="not_leader"} five times a second.
  self->request(s.config.raft, s.config.timeout, raft::status_atom::value)
      .then(
          [self](const raft::group_status& g) {
            auto& st = self->state;
            if (g.node.role != raft::role::leader) {
              st.in_flight = false;
              st.clock.failed();  // when this node leads again, its first tick restarts
              return;
            }
            propose_tick(self);
          },
          [self](const caf::error&) {
            auto& st = self->state;
            st.in_flight = false;
            st.clock.failed();
          });
}

caf::behavior lock_clock(clock_actor* self, lock_clock_config config) {
  auto& s = self->state;
  s.config = std::move(config);
  new_session(s);
  if (s.config.registry != nullptr && s.config.counts) {
    auto& r = *s.config.registry;
    s.held = &prometheus::BuildGauge().Name("troupe_lock_held").Help("Locks of the lock service with a holder").Register(r).Add({});
    s.grants = &prometheus::BuildCounter()
                    .Name("troupe_lock_grants_total")
                    .Help("Locks granted by the lock service (at once or to the next waiter), applied on this node")
                    .Register(r)
                    .Add({});
    s.expirations = &prometheus::BuildCounter()
                         .Name("troupe_lock_expirations_total")
                         .Help("Leases of the lock service ended by their TTL, applied on this node")
                         .Register(r)
                         .Add({});
    s.releases = &prometheus::BuildCounter()
                      .Name("troupe_lock_releases_total")
                      .Help("Leases of the lock service released by their holder or waiter, applied on this node")
                      .Register(r)
                      .Add({});
  }
  self->send(self, lock_tick_atom::value);
  return {[self](lock_tick_atom) { tick(self); }};
}

}  // namespace

caf::actor spawn_lock_clock(caf::actor_system& system, lock_clock_config config) {
  return system.spawn(lock_clock, std::move(config));
}

}  // namespace troupe::lock
