#include "examples/lock/lock_clock_actor.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "consensus/actor/raft_actor.hpp"
#include "examples/lock/lock_clock_core.hpp"
#include "runtime/base/clock.hpp"

namespace troupe::lock {

namespace {

using lock_tick_atom = caf::atom_constant<caf::atom("lk_tick")>;

struct lock_clock_state {
  lock_clock_config config;
  std::unique_ptr<lock_clock_core> core;
  // Metrics (null without a registry).
  prometheus::Gauge* held = nullptr;
  prometheus::Gauge* leases = nullptr;
  prometheus::Counter* grants = nullptr;
  prometheus::Counter* expirations = nullptr;
  prometheus::Counter* releases = nullptr;
  prometheus::Counter* ticks_proposed = nullptr;
  prometheus::Counter* idle_intervals = nullptr;
  lock_counts published;
  lock_clock_stats published_clock;
};

using clock_actor = caf::stateful_actor<lock_clock_state>;

/// Adds to `c` what `now_v` grew by since `before` (the sources only grow).
void add(prometheus::Counter* c, std::uint64_t now_v, std::uint64_t& before) {
  if (now_v > before) c->Increment(static_cast<double>(now_v - before));
  before = now_v;
}

void publish(lock_clock_state& s) {
  if (s.held == nullptr) return;
  const auto& clock = s.core->stats();
  add(s.ticks_proposed, clock.proposed, s.published_clock.proposed);
  add(s.idle_intervals, clock.idle_intervals, s.published_clock.idle_intervals);
  if (!s.config.counts) return;
  const auto now = s.config.counts->read();
  s.held->Set(static_cast<double>(now.held));
  s.leases->Set(static_cast<double>(now.leases));
  // The observer's counts only grow (the table keeps its stats across a restore).
  add(s.grants, now.grants, s.published.grants);
  add(s.expirations, now.expirations, s.published.expirations);
  add(s.releases, now.releases, s.published.releases);
}

/// Proposes the tick the core encoded (this node leads, as far as it knows).
void propose_tick(clock_actor* self, std::string request) {
  auto& s = self->state;
  self->request(s.config.raft, s.config.timeout, raft::propose_atom::value, std::move(request))
      .then(
          [self](const raft::raft_reply& r) {
            auto& st = self->state;
            if (r.code != raft::outcome_code::ok) {
              // Leadership lost, or the outcome is unknown: the next tick restarts.
              st.core->failed();
              return;
            }
            auto t = st.core->answered(std::string_view(r.data.data(), r.data.size()));
            if (!t) {
              if (st.config.log) st.config.log(log_level::warn, "lock", "a tick was refused: " + t.err().message);
              return;
            }
            if (t->ended > 0 && st.config.log) {
              st.config.log(log_level::info, "lock",
                            std::to_string(t->ended) + " lease(s) expired, " + std::to_string(t->grants) +
                                " lock(s) handed to the next waiter, at lock time " + std::to_string(t->now_ms) +
                                " ms");
            }
          },
          [self](const caf::error&) { self->state.core->failed(); });
}

void tick(clock_actor* self) {
  auto& s = self->state;
  self->delayed_send(self, s.config.interval, lock_tick_atom::value);
  publish(s);
  // Without an observer the clock cannot know what is live: it ticks whenever it leads.
  const std::uint64_t live = s.config.counts ? s.config.counts->read().leases : 1;
  if (s.core->interval(live) != lock_clock_core::step::ask_leader) return;
  // Ask first: a follower's proposal would be refused anyway, and would count in
  // troupe_raft_proposals_failed_total{reason="not_leader"} five times a second.
  self->request(s.config.raft, s.config.timeout, raft::status_atom::value)
      .then(
          [self](const raft::group_status& g) {
            auto& st = self->state;
            auto request = st.core->leader_known(g.node.role == raft::role::leader,
                                                 static_cast<std::uint64_t>(steady_now_ms()));
            if (request) propose_tick(self, std::move(*request));
          },
          [self](const caf::error&) { self->state.core->failed(); });
}

caf::behavior lock_clock(clock_actor* self, lock_clock_config config) {
  auto& s = self->state;
  s.config = std::move(config);
  s.core = std::make_unique<lock_clock_core>(s.config.group, std::random_device{}());
  if (s.config.registry != nullptr) {
    auto& r = *s.config.registry;
    auto counter = [&r](const char* name, const char* help) {
      return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
    };
    auto gauge = [&r](const char* name, const char* help) {
      return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
    };
    s.held = gauge("troupe_lock_held", "Locks of the lock service with a holder");
    s.leases = gauge("troupe_lock_leases", "Live leases of the lock service (holding or waiting), applied on this node");
    s.grants = counter("troupe_lock_grants_total",
                       "Locks granted by the lock service (at once or to the next waiter), applied on this node");
    s.expirations = counter("troupe_lock_expirations_total",
                            "Leases of the lock service ended by their TTL, applied on this node");
    s.releases = counter("troupe_lock_releases_total",
                         "Leases of the lock service released by their holder or waiter, applied on this node");
    s.ticks_proposed = counter("troupe_lock_clock_ticks_proposed_total",
                               "Ticks this node's lock clock proposed as leader");
    s.idle_intervals = counter("troupe_lock_clock_idle_intervals_total",
                               "Intervals of this node's lock clock with no live lease, in which it proposed nothing");
  }
  self->send(self, lock_tick_atom::value);
  return {[self](lock_tick_atom) { tick(self); }};
}

}  // namespace

caf::actor spawn_lock_clock(caf::actor_system& system, lock_clock_config config) {
  return system.spawn(lock_clock, std::move(config));
}

}  // namespace troupe::lock
