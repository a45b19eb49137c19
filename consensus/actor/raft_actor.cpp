// The raft actor (CAF shell): mailbox messages in, driver calls; driver_io out, to the transport,
// the storage actor and the callers' response promises. Every decision lives in driver.cpp.
#include "consensus/actor/raft_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "consensus/actor/raft_metrics.hpp"
#include "consensus/actor/snapshot_io.hpp"
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
using detach_atom = caf::atom_constant<caf::atom("rf_detach")>;
using prune_atom = caf::atom_constant<caf::atom("rf_prune")>;
using save_atom = caf::atom_constant<caf::atom("rf_save")>;

/// The group's snapshot file as the actor and its two I/O threads share it (Raft §7). The writer
/// object is used by the storage thread (received chunks, before each log sync) and by the saver
/// thread (compaction snapshots), one at a time under `mu`; the fields below it are handed over
/// with the message that starts the job (a happens-before edge) and untouched by the actor until
/// the reply. The actor reads through an object of its own (`reader`, its own connection).
struct snapshot_files {
  std::mutex mu;
  std::unique_ptr<sqlite_snapshot_store> writer;
  std::vector<snapshot_chunk> staged;  ///< chunks the next sync makes durable first
  snapshot_metadata save_meta;         ///< the compaction snapshot being saved
  std::string save_image;
};

/// The storage actor: runs sqlite_log_storage::sync() on its own thread (detached), so fsync never
/// blocks a scheduler thread; received snapshot chunks staged for the batch are made durable first
/// (their acknowledgements wait for this sync). Replies (ok, error text, seconds the sync took).
caf::behavior storage_actor(caf::event_based_actor*, std::shared_ptr<sqlite_log_storage> store,
                            std::shared_ptr<snapshot_files> files) {
  return {
      [store, files](sync_atom) -> std::tuple<bool, std::string, double> {
        const auto start = std::chrono::steady_clock::now();
        if (!files->staged.empty()) {
          std::lock_guard<std::mutex> guard(files->mu);
          auto persisted = persist_chunks(*files->writer, files->staged);
          files->staged.clear();
          if (!persisted) return {false, persisted.err().message, 0.0};
        }
        auto st = store->sync();
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
        return {static_cast<bool>(st), st ? std::string() : st.err().message, took.count()};
      },
  };
}

/// The snapshot saver: stores compaction snapshots on its own thread (detached), so a large image
/// never delays the log's syncs nor a scheduler thread. Replies (ok, saved, error text).
caf::behavior saver_actor(caf::event_based_actor*, std::shared_ptr<snapshot_files> files) {
  return {
      [files](save_atom) -> std::tuple<bool, bool, std::string> {
        std::string image = std::move(files->save_image);
        files->save_image.clear();
        std::lock_guard<std::mutex> guard(files->mu);
        auto saved = save_if_newer(*files->writer, files->save_meta, image);
        if (!saved) return {false, false, saved.err().message};
        return {true, *saved, std::string()};
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
  void stage_snapshot_chunks(std::vector<snapshot_chunk>&& chunks) override;
  result<std::string> snapshot_image(const snapshot_metadata& meta) override;
  void start_snapshot_save(const snapshot_metadata& meta, std::string image) override;

 private:
  caf::stateful_actor<raft_state>* self_;
};

struct raft_state {
  raft_actor_config cfg;
  std::string endpoint;
  std::shared_ptr<sqlite_log_storage> store;
  std::shared_ptr<snapshot_files> snapshots;
  /// The actor's own reader of the snapshot file, and the core's snapshot_source over it: both
  /// must outlive the core (declared before `drv`, destroyed after it).
  std::unique_ptr<sqlite_snapshot_store> snapshot_reader;
  std::unique_ptr<sqlite_snapshot_source> snapshot_source;
  std::unique_ptr<state_machine> sm;
  std::unique_ptr<actor_io> io;
  std::unique_ptr<driver> drv;
  std::unique_ptr<raft_metrics> metrics;
  caf::actor storage;
  caf::actor saver;
  std::uint64_t next_message_id = 1;
  ticket next_ticket = 1;
  std::map<ticket, caf::typed_response_promise<raft_reply>> answers;
  std::chrono::steady_clock::time_point sync_started;
  std::deque<leader_change> leader_changes;
  node_id last_leader = no_node;
  term_t last_term = 0;
  std::uint64_t malformed = 0;
  bool fatal_reported = false;
  // membership (see raft_actor.hpp)
  std::optional<std::pair<index_t, bool>> seen_membership;  ///< index, and whether it was committed
  std::map<node_id, std::string> told_peers;               ///< what the transport was last told
  /// Peers that left the configuration, still talked to for a grace period (see track_membership).
  std::map<node_id, std::string> lingering;
  bool removed = false;
  /// This node was in some configuration it knew (the bootstrap one, or one in effect since). A
  /// node that joins can first restore a snapshot taken before it was added (Raft §7: the leader's
  /// latest one): that configuration lacks it, yet it was never removed.
  bool ever_member = false;
  bool leaving_logged = false;  ///< a voter leaving through C_old,new lost its leader (see track_membership)
  std::set<ticket> conf_change_tickets;
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
void log_line(raft_state& st, log_level level, const std::string& text);

void actor_io::send(std::vector<raft_message>&& messages) {
  auto& st = self_->state;
  for (auto& m : messages) {
    auto* app = std::get_if<append_entries>(&m.body);
    // Heartbeats and votes must never wait behind a large batch or a snapshot chunk (DESIGN.md 3).
    const auto via = is_bulk(m) || (app != nullptr && !app->entries.empty()) ? transport::lane::raft_bulk
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

void actor_io::stage_snapshot_chunks(std::vector<snapshot_chunk>&& chunks) {
  auto& staged = self_->state.snapshots->staged;
  staged.insert(staged.end(), std::make_move_iterator(chunks.begin()), std::make_move_iterator(chunks.end()));
}

result<std::string> actor_io::snapshot_image(const snapshot_metadata& meta) {
  return read_image(*self_->state.snapshot_reader, meta);
}

void actor_io::start_snapshot_save(const snapshot_metadata& meta, std::string image) {
  auto& st = self_->state;
  st.snapshots->save_meta = meta;
  st.snapshots->save_image = std::move(image);
  self_->request(st.saver, caf::infinite, save_atom::value)
      .then([self = self_, meta](bool ok, bool saved, const std::string& what) {
        auto& s = self->state;
        if (!ok) {
          log_line(s, log_level::warn, s.cfg.log_path + ": storing the snapshot of index " +
                                           std::to_string(meta.last_index) + " failed, the log stays uncompacted: " + what);
        }
        s.drv->snapshot_saved(meta, ok ? result<bool>(saved) : result<bool>(make_error(errc::io, what)), steady_now_ns());
        after_input(self);
      });
}

void actor_io::answer(ticket t, outcome o) {
  auto& st = self_->state;
  auto it = st.answers.find(t);
  if (it == st.answers.end()) return;
  if (st.conf_change_tickets.erase(t) != 0 && st.metrics) st.metrics->count_conf_change(to_string(o.code));
  std::string leader_address;
  if (const auto* a = address_of(st.drv->status().membership, o.leader); o.leader != no_node && a != nullptr) {
    leader_address = *a;
  }
  it->second.deliver(raft_reply{o.code, std::move(o.reply), o.leader, std::move(leader_address)});
  st.answers.erase(it);
}

void log_line(raft_state& st, log_level level, const std::string& text) {
  if (st.cfg.log) st.cfg.log(level, "raft", text);
}

std::string describe(const membership& m) {
  auto list = [](const std::vector<node_id>& ids) {
    std::string out;
    for (node_id id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
    return out.empty() ? std::string("none") : out;
  };
  std::string out = "voters " + list(m.voters) + ", learners " + list(m.learners);
  if (is_joint(m)) out += ", joint with old voters " + list(m.voters_outgoing);
  return out;
}

/// Tells the transport the members of `m` (except this node), plus those that left recently
/// (unless `pruning`: their grace period is over).
void tell_transport(caf::stateful_actor<raft_state>* self, const membership& m, bool pruning = false) {
  auto& st = self->state;
  const node_id self_id = st.cfg.core.id;
  const auto members = members_of(m);
  // Every member except this node; the address from the configuration, else the bootstrap one.
  std::map<node_id, std::string> peers;
  for (node_id id : members) {
    if (id == self_id) continue;
    std::string address;  // empty: unknown, the peer must dial us
    if (const auto* a = address_of(m, id); a != nullptr) {
      address = *a;
    } else if (auto b = st.cfg.core.addresses.find(id); b != st.cfg.core.addresses.end()) {
      address = b->second;
    }
    peers[id] = std::move(address);
  }
  // A member that left stays reachable for two election timeouts: a leader removing itself must
  // still hear the acknowledgements that commit C_new (the followers have C_new, without it, in
  // their logs first), and its TimeoutNow must still arrive (thesis §4.2.2).
  bool linger = false;
  for (const auto& [id, address] : st.told_peers) {
    if (!pruning && peers.count(id) == 0 && st.lingering.emplace(id, address).second) linger = true;
  }
  for (auto& [id, address] : st.lingering) peers.emplace(id, address);
  if (linger) {
    self->delayed_send(self, st.cfg.tick_interval * (2 * st.cfg.core.election_timeout_ticks), prune_atom::value);
  }
  if (!members.empty() && !st.removed && peers != st.told_peers) {
    st.told_peers = peers;
    self->send(st.cfg.transport, transport::set_peers{std::move(peers)});
  }
}

/// The configuration changed (or was committed): tell the transport whom to talk to, log it, and
/// notice this node's own removal (thesis §4.2.2: a removed server must not disrupt the others).
void track_membership(caf::stateful_actor<raft_state>* self) {
  auto& st = self->state;
  const node_status& ns = st.drv->status();
  const bool committed = ns.membership_index <= ns.commit;
  const std::pair<index_t, bool> now{ns.membership_index, committed};
  const auto& m = ns.membership;
  const node_id self_id = st.cfg.core.id;
  // Not in C_new: a removed voter only ever sees C_old,new (the leader stops replicating to it once
  // it appends C_new), but once C_old,new is committed every leader appends C_new by itself (thesis
  // §4.3), so its removal is settled then. A leader leaving keeps leading until C_new commits.
  const bool in_new = std::find(m.voters.begin(), m.voters.end(), self_id) != m.voters.end() ||
                      std::find(m.learners.begin(), m.learners.end(), self_id) != m.learners.end();
  if (in_new) st.ever_member = true;
  const bool removed_now =
      st.ever_member && !in_new && committed && ns.membership_index > 0 && ns.role != role::leader;
  if (st.ever_member && !in_new && is_joint(m) && ns.leader == no_node && !st.removed && !st.leaving_logged) {
    // A voter leaving through C_old,new never hears that it committed: the leader appends C_new at
    // that moment and stops replicating to it. Losing the leader then is how its removal shows.
    st.leaving_logged = true;
    log_line(st, log_level::warn,
             "group " + std::to_string(st.cfg.core.group) + ": this node was removed from the configuration "
                 "(it is not in the new configuration at index " + std::to_string(ns.membership_index) +
                 ", and no leader replicates to it any more); stop it");
  }
  if (st.seen_membership == now && removed_now == st.removed) return;
  const bool first = !st.seen_membership.has_value();
  const bool changed = first || st.seen_membership->first != ns.membership_index;
  st.seen_membership = now;
  const auto members = members_of(m);
  const bool member = std::binary_search(members.begin(), members.end(), self_id);
  if (changed) {
    if (ns.membership_index == 0 && members.empty()) {
      log_line(st, log_level::info, "group " + std::to_string(st.cfg.core.group) +
                                        ": no configuration yet: waiting to be added by the cluster's leader "
                                        "(troupe cluster add); this node does not campaign");
    } else {
      log_line(st, log_level::info,
               "group " + std::to_string(st.cfg.core.group) + ": configuration at index " +
                   std::to_string(ns.membership_index) + ": " + describe(m) +
                   (member ? "" : " (this node is not a member)"));
    }
    tell_transport(self, m);
  }
  if (removed_now && !st.removed) {
    st.removed = true;
    log_line(st, log_level::warn,
             "group " + std::to_string(st.cfg.core.group) + ": this node was removed from the configuration "
                 "(committed at index " + std::to_string(ns.membership_index) +
                 "): it no longer takes part and disconnects from its peers; stop it");
    // Two election timeouts: what it still has to say (a removed leader's TimeoutNow) goes out first.
    self->delayed_send(self, st.cfg.tick_interval * (2 * st.cfg.core.election_timeout_ticks), detach_atom::value);
  } else if (in_new && st.removed) {
    st.removed = false;  // added back (a later configuration)
    st.told_peers.clear();
    st.seen_membership.reset();
    track_membership(self);
  }
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
  track_membership(self);
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

/// "snapshot 12.5/50.0 MiB (25%)": a transfer's progress as the status page and `troupe cluster
/// status` show it in the PROGRESS column.
std::string snapshot_progress(std::uint64_t acked, std::uint64_t size) {
  auto mib = [](std::uint64_t b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(b) / (1024.0 * 1024.0));
    return std::string(buf);
  };
  const auto percent = size == 0 ? 100 : static_cast<int>(acked * 100 / size);
  return "snapshot " + mib(acked) + "/" + mib(size) + " MiB (" + std::to_string(percent) + "%)";
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
    pp.state = p.snapshot ? snapshot_progress(p.snapshot_acked, p.snapshot_size) : p.replicate ? "replicate" : "probe";
    pp.recently_active = p.recently_active;
    gs.peers.push_back(std::move(pp));
  }
  gs.recent_leader_changes.assign(st.leader_changes.begin(), st.leader_changes.end());
  gs.pending_proposals = st.drv->pending_proposals();
  gs.pending_reads = st.drv->pending_reads();
  gs.storage_ok = !st.drv->failed();
  gs.removed = st.removed;
  return gs;
}

/// What spawn_raft_actor opened and hands to the actor (moved into its state).
struct opened_group {
  std::shared_ptr<sqlite_log_storage> store;
  std::shared_ptr<snapshot_files> snapshots;
  std::unique_ptr<sqlite_snapshot_store> snapshot_reader;
  std::unique_ptr<sqlite_snapshot_source> snapshot_source;
  std::unique_ptr<node> core;
};

caf::behavior raft_actor(caf::stateful_actor<raft_state>* self, raft_actor_config cfg,
                         std::shared_ptr<opened_group> opened,
                         std::shared_ptr<std::unique_ptr<state_machine>> sm) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.endpoint = raft_endpoint(st.cfg.core.group);
  st.store = std::move(opened->store);
  st.snapshots = std::move(opened->snapshots);
  st.snapshot_reader = std::move(opened->snapshot_reader);
  st.snapshot_source = std::move(opened->snapshot_source);
  st.sm = std::move(*sm);
  st.io = std::make_unique<actor_io>(self);
  {
    const auto& c = st.cfg.core;
    st.ever_member = std::find(c.voters.begin(), c.voters.end(), c.id) != c.voters.end() ||
                     std::find(c.learners.begin(), c.learners.end(), c.id) != c.learners.end();
  }
  if (st.cfg.registry != nullptr) {
    std::vector<node_id> peers;
    for (node_id v : st.cfg.core.voters) {
      if (v != st.cfg.core.id) peers.push_back(v);
    }
    st.metrics = std::make_unique<raft_metrics>(*st.cfg.registry, st.cfg.core.group, peers);
  }
  // Replays the committed log after the snapshot (config.applied) into the state machine.
  st.drv = std::make_unique<driver>(std::move(opened->core), *st.store, *st.sm, *st.io, st.cfg.limits);
  if (st.metrics) {
    st.drv->on_read_index_seconds = [m = st.metrics.get()](double s) { m->observe_read_index_seconds(s); };
    st.drv->on_peer_round_trip_seconds = [m = st.metrics.get()](node_id p, double s) {
      m->observe_peer_round_trip_seconds(p, s);
    };
    if (st.snapshot_source) {
      st.snapshot_source->on_corrupt([m = st.metrics.get()](const error&) { m->count_snapshot_corrupt(); });
    }
  }
  st.storage = self->system().spawn<caf::detached>(storage_actor, st.store, st.snapshots);
  self->link_to(st.storage);
  st.saver = self->system().spawn<caf::detached>(saver_actor, st.snapshots);
  self->link_to(st.saver);
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
      [=](backup_atom) -> caf::result<raft_reply> {
        auto& s = self->state;
        auto rp = self->make_response_promise<raft_reply>();
        const ticket t = s.next_ticket++;
        s.answers.emplace(t, rp);
        s.drv->backup(t, steady_now_ns());
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
      [=](conf_change_atom, std::vector<conf_change>& changes) -> caf::result<raft_reply> {
        auto& s = self->state;
        auto rp = self->make_response_promise<raft_reply>();
        const ticket t = s.next_ticket++;
        s.answers.emplace(t, rp);
        s.conf_change_tickets.insert(t);
        s.drv->change_membership(t, std::move(changes), steady_now_ns());
        after_input(self);
        return rp;
      },
      [=](transfer_atom, node_id target) -> caf::result<raft_reply> {
        auto& s = self->state;
        auto rp = self->make_response_promise<raft_reply>();
        const ticket t = s.next_ticket++;
        s.answers.emplace(t, rp);
        s.drv->transfer_leadership(t, target, steady_now_ns());
        after_input(self);
        return rp;
      },
      [=](prune_atom) {
        auto& s = self->state;
        if (s.lingering.empty()) return;
        s.lingering.clear();
        tell_transport(self, s.drv->status().membership, /*pruning=*/true);
      },
      [=](detach_atom) {
        auto& s = self->state;
        if (!s.removed) return;
        log_line(s, log_level::info, "removed from the cluster: disconnecting from every peer");
        s.told_peers.clear();
        self->send(s.cfg.transport, transport::set_peers{});
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
  const std::string snapshot_path = cfg.snapshot_path.empty() ? snapshot_path_for(cfg.log_path) : cfg.snapshot_path;
  auto recovered = recover_from_snapshot(snapshot_path, *shared_store, *sm);
  if (!recovered) return recovered.err();
  // A snapshot finalized just before a crash that its log did not learn of yet is installed now.
  if (auto installed = install_latest_in_log(*shared_store, *recovered->snapshots); !installed) {
    return installed.err();
  }
  cfg.core.applied = recovered->applied;
  if (const auto& partial = recovered->snapshots->partial()) {
    cfg.core.partial = config::partial_snapshot{partial->metadata, partial->written};  // resume the transfer
  }
  auto opened = std::make_shared<opened_group>();
  opened->store = shared_store;
  opened->snapshots = std::make_shared<snapshot_files>();
  opened->snapshots->writer = std::move(recovered->snapshots);
  sqlite_snapshot_store_options reader_opts;
  reader_opts.background_checkpoint = false;  // the writer's connection checkpoints
  auto reader = sqlite_snapshot_store::open(snapshot_path, reader_opts);
  if (!reader) return reader.err();
  opened->snapshot_reader = std::move(*reader);
  opened->snapshot_source = std::make_unique<sqlite_snapshot_source>(*opened->snapshot_reader);
  auto core = node::create(cfg.core, *shared_store, opened->snapshot_source.get());
  if (!core) return core.err();
  opened->core = std::move(*core);
  return system.spawn(raft_actor, std::move(cfg), std::move(opened),
                      std::make_shared<std::unique_ptr<state_machine>>(std::move(sm)));
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<raft_reply>("troupe.raft.reply");
  cfg.add_message_type<group_status>("troupe.raft.group_status");
  cfg.add_message_type<std::vector<conf_change>>("troupe.raft.conf_changes");
}

}  // namespace troupe::raft
