// The raft actor (CAF shell): mailbox messages in, driver calls; driver_io out, to the transport,
// the storage actor and the callers' response promises. Every decision lives in driver.cpp.
#include "consensus/actor/raft_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <deque>
#include <map>

#include "consensus/actor/raft_metrics.hpp"
#include "consensus/actor/snapshot_recovery.hpp"
#include "consensus/storage/sqlite_log_storage.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/transport/transport.hpp"
#include "runtime/wire/raft_codec.hpp"

namespace troupe::raft {

namespace {

using tick_atom = caf::atom_constant<caf::atom("rf_tick")>;
using sync_atom = caf::atom_constant<caf::atom("rf_sync")>;
using deadline_atom = caf::atom_constant<caf::atom("rf_dline")>;

/// The storage actor: runs sqlite_log_storage::sync() on its own thread (detached), so fsync never
/// blocks a scheduler thread. Replies (ok, error text, seconds the sync took).
caf::behavior storage_actor(caf::event_based_actor*, std::shared_ptr<sqlite_log_storage> store) {
  return {
      [store](sync_atom) -> std::tuple<bool, std::string, double> {
        const auto start = std::chrono::steady_clock::now();
        auto st = store->sync();
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
        return {static_cast<bool>(st), st ? std::string() : st.err().message, took.count()};
      },
  };
}

struct raft_state;

/// driver_io on top of the actor: sends through the transport, syncs through the storage actor,
/// answers through response promises.
class actor_io final : public driver_io {
 public:
  explicit actor_io(caf::stateful_actor<raft_state>* self) : self_(self) {}
  void send(std::vector<raft_message>&& messages) override;
  void start_sync() override;
  void answer(ticket t, outcome o) override;

 private:
  caf::stateful_actor<raft_state>* self_;
};

struct raft_state {
  raft_actor_config cfg;
  std::string endpoint;
  std::shared_ptr<sqlite_log_storage> store;
  std::unique_ptr<state_machine> sm;
  std::unique_ptr<actor_io> io;
  std::unique_ptr<driver> drv;
  std::unique_ptr<raft_metrics> metrics;
  caf::actor storage;
  std::uint64_t next_message_id = 1;
  ticket next_ticket = 1;
  std::map<ticket, caf::typed_response_promise<raft_reply>> answers;
  std::chrono::steady_clock::time_point sync_started;
  std::deque<leader_change> leader_changes;
  node_id last_leader = no_node;
  term_t last_term = 0;
  std::uint64_t malformed = 0;
  bool fatal_reported = false;
  // hand-over
  std::uint64_t hand_over_id = 0;
  std::optional<caf::typed_response_promise<bool>> hand_over_promise;
  static inline const char* name = "troupe.raft";

  raft_state() = default;
  raft_state(const raft_state&) = delete;
  raft_state& operator=(const raft_state&) = delete;
  /// Nothing may stay unanswered when the actor goes away. This runs in the destructor because
  /// CAF 0.17 destroys a stateful actor's state in on_exit, before attached functors run: a functor
  /// that touched the state then freed it twice (a crash at SIGTERM, seen in kv_process_test).
  ~raft_state() {
    for (auto& [t, p] : answers) p.deliver(raft_reply{outcome_code::stopped, {}, no_node});
    if (hand_over_promise) hand_over_promise->deliver(false);
  }
};

void after_input(caf::stateful_actor<raft_state>* self);

void actor_io::send(std::vector<raft_message>&& messages) {
  auto& st = self_->state;
  for (auto& m : messages) {
    auto* app = std::get_if<append_entries>(&m.body);
    // Heartbeats and votes must never wait behind a large batch (DESIGN.md 3).
    const auto via = app != nullptr && !app->entries.empty() ? transport::lane::raft_bulk
                                                              : transport::lane::raft_control;
    self_->send(st.cfg.transport,
                transport::outbound{m.to, st.endpoint, st.endpoint, via, st.next_message_id++,
                                    wire::encode(m)});
  }
}

void actor_io::start_sync() {
  auto& st = self_->state;
  st.sync_started = std::chrono::steady_clock::now();
  self_->request(st.storage, caf::infinite, sync_atom::value)
      .then([self = self_](bool ok, const std::string& what, double seconds) {
        auto& s = self->state;
        const std::chrono::duration<double> total = std::chrono::steady_clock::now() - s.sync_started;
        if (s.metrics) {
          s.metrics->observe_fsync_seconds(seconds);
          s.metrics->observe_append_seconds(total.count());
        }
        s.drv->sync_done(ok ? status{} : status{make_error(errc::io, what)}, steady_now_ns());
        after_input(self);
      });
}

void actor_io::answer(ticket t, outcome o) {
  auto& st = self_->state;
  auto it = st.answers.find(t);
  if (it == st.answers.end()) return;
  it->second.deliver(raft_reply{o.code, std::move(o.reply), o.leader});
  st.answers.erase(it);
}

void log_line(raft_state& st, log_level level, const std::string& text) {
  if (st.cfg.log) st.cfg.log(level, "raft", text);
}

/// After every message: leader changes, hand-over progress, a failed store.
void after_input(caf::stateful_actor<raft_state>* self) {
  auto& st = self->state;
  const node_status& ns = st.drv->status();
  if (ns.leader != st.last_leader || (ns.leader != no_node && ns.term != st.last_term)) {
    if (ns.leader != st.last_leader) {
      st.leader_changes.push_back({unix_now_ms(), ns.term, ns.leader});
      if (st.leader_changes.size() > 20) st.leader_changes.pop_front();
      log_line(st, log_level::info,
               "group " + std::to_string(st.cfg.core.group) + " term " + std::to_string(ns.term) +
                   ": leader " + (ns.leader == no_node ? std::string("none") : std::to_string(ns.leader)) +
                   (ns.role == role::leader ? " (this node)" : ""));
    }
    st.last_leader = ns.leader;
    st.last_term = ns.term;
  }
  if (st.hand_over_promise) {
    auto p = st.drv->hand_over_progress();
    if (p == driver::hand_over_state::done || p == driver::hand_over_state::aborted) {
      st.hand_over_promise->deliver(p == driver::hand_over_state::done);
      st.hand_over_promise.reset();
    }
  }
  if (st.drv->failed() && !st.fatal_reported) {
    st.fatal_reported = true;
    log_line(st, log_level::error, st.cfg.log_path + ": log store failed, group stops: " +
                                       st.drv->failure()->message);
    if (st.cfg.on_fatal) st.cfg.on_fatal(*st.drv->failure());
  }
}

group_status make_status(const raft_state& st) {
  group_status gs;
  gs.node = st.drv->status();
  for (const auto& p : st.drv->peers()) {
    peer_progress pp;
    pp.id = p.id;
    pp.match = p.match;
    pp.next = p.next;
    pp.lag_entries = gs.node.last_index > p.match ? gs.node.last_index - p.match : 0;
    pp.state = p.replicate ? "replicate" : "probe";
    pp.recently_active = p.recently_active;
    gs.peers.push_back(std::move(pp));
  }
  gs.recent_leader_changes.assign(st.leader_changes.begin(), st.leader_changes.end());
  gs.pending_proposals = st.drv->pending_proposals();
  gs.pending_reads = st.drv->pending_reads();
  gs.storage_ok = !st.drv->failed();
  return gs;
}

caf::behavior raft_actor(caf::stateful_actor<raft_state>* self, raft_actor_config cfg,
                         std::shared_ptr<sqlite_log_storage> store,
                         std::shared_ptr<std::unique_ptr<node>> core,
                         std::shared_ptr<std::unique_ptr<state_machine>> sm) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.endpoint = raft_endpoint(st.cfg.core.group);
  st.store = std::move(store);
  st.sm = std::move(*sm);
  st.io = std::make_unique<actor_io>(self);
  if (st.cfg.registry != nullptr) {
    std::vector<node_id> peers;
    for (node_id v : st.cfg.core.voters) {
      if (v != st.cfg.core.id) peers.push_back(v);
    }
    st.metrics = std::make_unique<raft_metrics>(*st.cfg.registry, st.cfg.core.group, peers);
  }
  // Replays the committed log after the snapshot (config.applied) into the state machine.
  st.drv = std::make_unique<driver>(std::move(*core), *st.store, *st.sm, *st.io, st.cfg.limits);
  if (st.metrics) {
    st.drv->on_read_index_seconds = [m = st.metrics.get()](double s) { m->observe_read_index_seconds(s); };
    st.drv->on_peer_round_trip_seconds = [m = st.metrics.get()](node_id p, double s) {
      m->observe_peer_round_trip_seconds(p, s);
    };
  }
  st.storage = self->system().spawn<caf::detached>(storage_actor, st.store);
  self->link_to(st.storage);
  self->send(st.cfg.transport, transport::register_atom::value, st.endpoint, caf::actor{self});
  self->send(self, tick_atom::value);
  self->set_down_handler([](caf::down_msg&) {});
  log_line(st, log_level::info,
           "group " + std::to_string(st.cfg.core.group) + ": log " + st.cfg.log_path + " holds " +
               std::to_string(st.store->last_index()) + " entries, commit " +
               std::to_string(st.drv->status().commit));
  return {
      [=](tick_atom) {
        auto& s = self->state;
        s.drv->tick(steady_now_ns());
        after_input(self);
        if (s.metrics) s.metrics->update(*s.drv);
        self->delayed_send(self, s.cfg.tick_interval, tick_atom::value);
      },
      [=](transport::delivery& d) {
        auto& s = self->state;
        auto m = wire::decode_raft_message(d.payload);
        if (!m || m->from != d.source_node) {
          // Bad input from the network is a metric and a log line, never a crash.
          if (s.metrics) s.metrics->count_malformed();
          if (s.malformed++ % 1000 == 0) {
            log_line(s, log_level::warn,
                     "ignoring a malformed raft message from node " + std::to_string(d.source_node) +
                         (m ? std::string(": sender mismatch") : ": " + m.err().message));
          }
          return;
        }
        s.drv->step(std::move(*m), steady_now_ns());
        after_input(self);
      },
      [=](transport::busy&) {},             // a full Raft lane: Raft retries
      [=](transport::delivery_failed&) {},  // likewise
      [=](transport::ok_atom) {},           // endpoint registered
      [=](propose_atom, std::string& command) -> caf::result<raft_reply> {
        auto& s = self->state;
        auto rp = self->make_response_promise<raft_reply>();
        const ticket t = s.next_ticket++;
        s.answers.emplace(t, rp);
        s.drv->propose(t, std::move(command), steady_now_ns());
        after_input(self);
        return rp;
      },
      [=](read_atom, std::string& request, read_mode mode) -> caf::result<raft_reply> {
        auto& s = self->state;
        auto rp = self->make_response_promise<raft_reply>();
        const ticket t = s.next_ticket++;
        s.answers.emplace(t, rp);
        s.drv->read(t, std::move(request), mode, steady_now_ns());
        after_input(self);
        return rp;
      },
      [=](read_atom, std::string& request, read_mode mode,
          std::uint64_t min_index) -> caf::result<raft_reply> {
        auto& s = self->state;
        auto rp = self->make_response_promise<raft_reply>();
        const ticket t = s.next_ticket++;
        s.answers.emplace(t, rp);
        s.drv->read(t, std::move(request), mode, steady_now_ns(), min_index);
        after_input(self);
        return rp;
      },
      [=](status_atom) -> group_status { return make_status(self->state); },
      [=](hand_over_atom, std::uint64_t deadline_ms) -> caf::result<bool> {
        auto& s = self->state;
        if (s.hand_over_promise) s.hand_over_promise->deliver(false);  // superseded
        s.hand_over_promise = self->make_response_promise<bool>();
        auto rp = *s.hand_over_promise;
        const std::uint64_t id = ++s.hand_over_id;
        s.drv->hand_over(steady_now_ns());
        after_input(self);
        if (s.hand_over_promise) {
          self->delayed_send(self, std::chrono::milliseconds(deadline_ms), deadline_atom::value, id);
        }
        return rp;
      },
      [=](deadline_atom, std::uint64_t id) {
        auto& s = self->state;
        if (id != s.hand_over_id || !s.hand_over_promise) return;
        s.hand_over_promise->deliver(false);
        s.hand_over_promise.reset();
      },
  };
}

}  // namespace

std::string raft_endpoint(group_id group) { return "raft/" + std::to_string(group); }

result<caf::actor> spawn_raft_actor(caf::actor_system& system, raft_actor_config cfg,
                                    std::unique_ptr<state_machine> sm) {
  if (sm == nullptr) return make_error(errc::invalid_argument, "raft actor: no state machine");
  if (cfg.core.applied != 0) {
    return make_error(errc::invalid_argument, "raft actor: config.applied is set from the snapshot, leave it 0");
  }
  sqlite_log_storage_options opts;
  auto store = sqlite_log_storage::open(cfg.log_path, opts);
  if (!store) return store.err();
  std::shared_ptr<sqlite_log_storage> shared_store(std::move(*store));
  // Raft §7: start from the latest snapshot; the core replays only the log after it.
  auto recovered = recover_from_snapshot(
      cfg.snapshot_path.empty() ? snapshot_path_for(cfg.log_path) : cfg.snapshot_path, *shared_store, *sm);
  if (!recovered) return recovered.err();
  cfg.core.applied = recovered->applied;
  auto core = node::create(cfg.core, *shared_store);
  if (!core) return core.err();
  return system.spawn(raft_actor, std::move(cfg), shared_store,
                      std::make_shared<std::unique_ptr<node>>(std::move(*core)),
                      std::make_shared<std::unique_ptr<state_machine>>(std::move(sm)));
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<raft_reply>("troupe.raft.reply");
  cfg.add_message_type<group_status>("troupe.raft.group_status");
}

}  // namespace troupe::raft
