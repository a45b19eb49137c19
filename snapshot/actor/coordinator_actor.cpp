#include "snapshot/actor/coordinator_actor.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/base/clock.hpp"
#include "runtime/transport/transport.hpp"
#include "runtime/wire/checkpoint_codec.hpp"
#include "snapshot/actor/checkpoint_metrics.hpp"
#include "snapshot/actor/client_service.hpp"
#include "snapshot/actor/store_thread.hpp"
#include "snapshot/store/dot.hpp"
#include "snapshot/channel/channel_layer.hpp"

namespace troupe::checkpoint::actor {

namespace {

using tick_atom = caf::atom_constant<caf::atom("ck_ctick")>;
/// From the store thread: (checkpoint id, stored?, the error if not).
using saved_atom = caf::atom_constant<caf::atom("ck_saved")>;

struct coordinator_state {
  coordinator_actor_config config;
  std::unique_ptr<coordinator> core;
  std::unique_ptr<checkpoint_metrics> metrics;
  std::vector<participant_id> participants;
  /// Every participant with its node, as each checkpoint's metadata names them: built once (the
  /// directory does not change while the coordinator runs), copied into each save's metadata.
  std::map<participant_id, store::participant_location> locations;
  checkpoint_id next_id = 1;
  std::uint64_t taken = 0;
  std::chrono::steady_clock::time_point epoch_start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point next_auto{};
  std::uint64_t next_message_id = 1;
  std::map<checkpoint_id, std::int64_t> started_unix_ms;
  std::map<checkpoint_id, caf::response_promise> waiting;
  std::map<channel::node_id, std::uint64_t> ready;  ///< host instance per node that said ready
  bool traffic_started = false;
  checkpoint_id restored_from = 0;
  /// Restore in place (README.md): the generation the hosts are in (0: since their start), and the
  /// rollback not yet confirmed by every node (its checkpoint, the nodes still to confirm, the
  /// operator waiting for the answer, its deadline in ticks).
  std::uint64_t generation = 0;
  struct rollback_in_progress {
    checkpoint_id checkpoint = 0;
    std::set<channel::node_id> unconfirmed;
    std::size_t participants = 0;
    std::size_t messages = 0;
    std::uint64_t deadline_tick = 0;
    std::optional<caf::response_promise> answer;
  };
  std::optional<rollback_in_progress> rolling_back;
  /// Outcomes handed to the store thread and not announced yet (the store thread reads their
  /// states meanwhile; nobody changes them). Bounded: no checkpoint starts while
  /// `core.in_flight_max` of them wait.
  std::map<checkpoint_id, std::shared_ptr<checkpoint_outcome>> saving;
  /// The store thread stopped after a failed write and that was logged (announce).
  bool store_stop_logged = false;
  /// Set once this actor put itself in the system's registry (for the client service).
  caf::actor_system* registered_in = nullptr;
  static inline const char* name = "troupe.checkpoint.coordinator";

  coordinator_state() = default;
  coordinator_state(const coordinator_state&) = delete;
  coordinator_state& operator=(const coordinator_state&) = delete;
  /// The registry's entry is a strong reference: left in place, it kept this detached actor alive
  /// after it quit, and ~actor_system then waited forever for its thread (a node hung after
  /// SIGTERM). CAF 0.17 destroys the state in on_exit, so the entry goes when the actor does.
  ~coordinator_state() {
    if (registered_in != nullptr) registered_in->registry().erase(coordinator_registry_key);
  }
  /// Last, so that it is destroyed first: its destructor stores what is still queued.
  std::unique_ptr<store_thread> writer;
};

using coordinator_actor = caf::stateful_actor<coordinator_state>;

void log(const coordinator_state& st, log_level level, const std::string& text) {
  if (st.config.log) st.config.log(level, "checkpoint", text);
}

std::uint64_t now_ticks(const coordinator_state& st) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now() - st.epoch_start)
                                        .count());
}

void send_frame(coordinator_actor* self, channel::node_id node, wire::message frame) {
  auto& st = self->state;
  self->send(st.config.transport,
             transport::outbound{node, std::string(channel::host_endpoint),
                                 std::string(channel::coordinator_endpoint),
                                 transport::lane::application, st.next_message_id++,
                                 std::move(frame)});
}

/// "checkpoint 8 complete in 13 ms: ... bytes; stored 4 ms later" (`stored_ms`: from the global
/// state assembled to the store's commit).
std::string describe(const checkpoint_outcome& o, std::size_t messages, std::size_t bytes,
                     std::uint64_t stored_ms) {
  std::string s = "checkpoint " + std::to_string(o.id);
  if (o.status != checkpoint_status::ok) {
    return s + " aborted (" + to_string(o.status) + "): " + o.detail;
  }
  return s + " complete in " + std::to_string(o.finished_tick - o.started_tick) + " ms: " +
         std::to_string(o.state.local_states.size()) + " participants, " +
         std::to_string(messages) + " recorded messages on " +
         std::to_string(o.state.channels.size()) + " channels, " + std::to_string(bytes) +
         " bytes; stored " + std::to_string(stored_ms) + " ms later";
}

/// Announces a checkpoint the store thread has stored (or failed to): log line, metrics,
/// on_finished, the answer to `take` (snapshot/README.md "persist before announcing").
void announce(coordinator_actor* self, checkpoint_id id, bool stored, const std::string& error) {
  auto& st = self->state;
  auto found = st.saving.find(id);
  if (found == st.saving.end()) return;
  auto outcome = std::move(found->second);
  st.saving.erase(found);
  auto& o = *outcome;
  // Once a write failed the store thread refuses every later save (store_thread.hpp): the error
  // is logged once, each later checkpoint only counted as aborted and logged at debug level.
  const bool repeat = !stored && st.store_stop_logged;
  // A complete checkpoint the store could not keep is counted as reason "not_stored" (the status
  // it is answered with has no such value: aborted_by_request, with the store's error as detail).
  const bool complete_not_stored = !stored && o.status == checkpoint_status::ok;
  if (!stored) {
    if (!repeat) log(st, log_level::error, "checkpoint " + std::to_string(o.id) + " not stored: " + error);
    st.store_stop_logged = st.writer->failure().has_value();
    o.detail = "not stored: " + error;
    if (o.status == checkpoint_status::ok) o.status = checkpoint_status::aborted_by_request;
  }
  const auto in_flight = st.core->in_flight().size();
  // Counted by the core as the reports came in: no walk of the 40,000 channels here.
  const auto messages = o.recorded_messages;
  const auto bytes = o.byte_count;
  if (o.status == checkpoint_status::ok) {
    st.metrics->completed(static_cast<double>(o.finished_tick - o.started_tick) / 1000.0, bytes,
                          messages, in_flight);
  } else if (complete_not_stored) {
    st.metrics->aborted_not_stored(in_flight);
  } else {
    st.metrics->aborted(o.status, in_flight);
  }
  const auto now = now_ticks(st);
  log(st, o.status == checkpoint_status::ok ? log_level::info : repeat ? log_level::debug : log_level::warn,
      describe(o, messages, bytes, now > o.finished_tick ? now - o.finished_tick : 0));
  if (st.config.on_finished) st.config.on_finished(o);
  if (auto it = st.waiting.find(o.id); it != st.waiting.end()) {
    it->second.deliver(o.id, std::string(to_string(o.status)), o.detail);
    st.waiting.erase(it);
  }
}

/// Hands the outcome to the store thread; announce() follows once it is stored.
void finish(coordinator_actor* self, checkpoint_outcome& o) {
  auto& st = self->state;
  store::checkpoint_metadata meta;
  meta.status = o.status;
  meta.reason = o.detail;
  meta.started_unix_ms = st.started_unix_ms[o.id];
  meta.finished_unix_ms = unix_now_ms();
  st.started_unix_ms.erase(o.id);
  meta.participants = st.locations;
  if (o.status != checkpoint_status::ok) {
    // An aborted checkpoint's global state is partial: only the manifest is kept (store.hpp).
    o.state.local_states.clear();
    o.state.channels.clear();
    o.state.id = o.id;
  }
  auto outcome = std::make_shared<checkpoint_outcome>(std::move(o));
  st.saving[outcome->id] = outcome;
  // The store thread must not keep this actor alive (a strong reference would make the node's
  // shutdown wait for itself): it sends to a weak one.
  caf::weak_actor_ptr me{self->ctrl()};
  const auto id = outcome->id;
  st.writer->save(std::shared_ptr<const global_state>(outcome, &outcome->state), std::move(meta),
                  [me, id](const status& saved) {
                    if (auto strong = me.lock()) {
                      caf::anon_send(caf::actor_cast<caf::actor>(strong), saved_atom::value,
                                     std::uint64_t{id}, saved.ok(),
                                     saved.ok() ? std::string() : saved.err().message);
                    }
                  });
}

void carry_out(coordinator_actor* self, coordinator_output out) {
  auto& st = self->state;
  // One frame per (node, command): the host applies it to each participant it hosts. Kept in the
  // order the core emitted them, so that each host sees a checkpoint's commands in id order.
  std::vector<std::pair<channel::node_id, checkpoint_command>> sent;
  for (auto& c : out.commands) {
    auto node = st.config.members.node_of(c.to);
    if (!node) continue;
    auto key = std::make_pair(*node, c.command);
    if (std::find(sent.begin(), sent.end(), key) != sent.end()) continue;
    sent.push_back(key);
    send_frame(self, *node, wire::encode(c.command));
  }
  for (auto& o : out.finished) finish(self, o);
}

std::tuple<std::uint64_t, std::string, std::string> start_one(coordinator_actor* self) {
  auto& st = self->state;
  if (!st.traffic_started) return {0, "unavailable", "not every participant host is ready yet"};
  if (st.rolling_back) {
    return {0, "busy", "a restore in place of checkpoint " +
                           std::to_string(st.rolling_back->checkpoint) + " is in progress"};
  }
  if (st.saving.size() >= st.config.core.in_flight_max) {
    // Each waiting outcome holds a whole global state: bound them (the store is behind).
    return {0, "busy", std::to_string(st.saving.size()) + " checkpoints are still being stored"};
  }
  auto id = st.next_id;
  auto started = st.core->start(id, st.participants.front(), st.participants, now_ticks(st));
  if (!started) {
    return {0, to_string(started.err().code), started.err().message};
  }
  ++st.next_id;
  ++st.taken;
  st.started_unix_ms[id] = unix_now_ms();
  st.metrics->started(st.core->in_flight().size());
  log(st, log_level::info,
      "checkpoint " + std::to_string(id) + " started (in flight: " +
          std::to_string(st.core->in_flight().size()) + ")");
  carry_out(self, std::move(*started));
  if (st.config.on_started) st.config.on_started(id);
  return {id, "started", ""};
}

void auto_take(coordinator_actor* self) {
  auto& st = self->state;
  if (st.config.every.count() <= 0 || !st.traffic_started) return;
  auto now = std::chrono::steady_clock::now();
  if (now < st.next_auto) return;
  st.next_auto = now + st.config.every;
  for (std::size_t i = 0; i < st.config.burst; ++i) {
    if (st.config.limit != 0 && st.taken >= st.config.limit) return;
    auto [id, status, detail] = start_one(self);
    if (id == 0) {
      log(st, log_level::warn, "no checkpoint started: " + detail);
      return;
    }
  }
}

/// What a restore sends.
struct restore_plan_sent {
  checkpoint_id id = 0;
  std::size_t participants = 0;
  std::size_t messages = 0;
};

/// The restore plan of checkpoint `id` (0: the newest complete one; set to the id found).
/// Refused with the reason when the checkpoint cannot be restored whole (store::plan: not stored,
/// aborted, incomplete, damaged) or is not this application's.
result<std::vector<restore_plan>> checked_plan_locked(const coordinator_state& st,
                                                      store::checkpoint_store& store,
                                                      checkpoint_id& id) {
  if (id == 0) {
    auto latest = store.latest_complete();
    if (!latest) return latest.err();
    if (!*latest) return make_error(errc::not_found, "no complete checkpoint is stored");
    id = (*latest)->id;
  }
  auto plan = store.plan(id);
  if (!plan) return plan.err();
  std::vector<participant_id> planned;
  for (auto& p : *plan) planned.push_back(p.participant);
  if (planned != st.participants) {
    return make_error(errc::invalid_argument,
                      "its participants are not this application's (" +
                          std::to_string(planned.size()) + " stored, " +
                          std::to_string(st.participants.size()) + " configured)");
  }
  return plan;
}

/// Reads through the store thread's lock: a checkpoint still waiting to be stored is not there yet
/// (nor announced).
result<std::vector<restore_plan>> checked_plan(coordinator_state& st, checkpoint_id& id) {
  return st.writer->with_store([&](store::checkpoint_store& store) {
    return checked_plan_locked(st, store, id);
  });
}

/// Sends each participant's restore order on its node's FIFO link.
restore_plan_sent send_restore_orders(coordinator_actor* self, checkpoint_id id,
                                      std::vector<restore_plan> plan) {
  auto& st = self->state;
  restore_plan_sent sent{id, plan.size(), 0};
  for (auto& p : plan) {
    sent.messages += p.deliveries.size();
    restore_order order{id, p.participant, std::move(p.local_state), std::move(p.deliveries)};
    send_frame(self, *st.config.members.node_of(p.participant), wire::encode(order));
  }
  return sent;
}

/// The restore at start (--restore): false, after `fail`, if refused.
bool restore(coordinator_actor* self, checkpoint_id id) {
  auto& st = self->state;
  auto plan = checked_plan(st, id);
  if (!plan) {
    st.config.fail("cannot restore" + (id == 0 ? std::string() : " checkpoint " + std::to_string(id)) +
                   ": " + plan.err().message);
    return false;
  }
  auto sent = send_restore_orders(self, id, std::move(*plan));
  log(st, log_level::info,
      "restoring checkpoint " + std::to_string(sent.id) + ": " +
          std::to_string(sent.participants) + " participants, " +
          std::to_string(sent.messages) + " recorded messages to deliver");
  st.restored_from = sent.id;
  return true;
}

using client_answer = std::tuple<std::uint64_t, std::string, std::string>;

client_answer refused(checkpoint_id id, const error& e) {
  return {id, troupe::to_string(e.code), e.message};
}

/// `troupe checkpoint restore ID` against the running application: a global rollback in place.
/// Every checkpoint in flight is aborted; every host enters a new generation (it discards the
/// traffic of the current one, in flight or held, and fences its own), gets its participants'
/// restore orders and then start_traffic, all on one FIFO link, and confirms with rolled_back.
/// The answer waits for every node's confirmation (or the checkpoint timeout).
std::optional<client_answer> start_rollback(coordinator_actor* self, checkpoint_id id) {
  auto& st = self->state;
  if (!st.traffic_started) return client_answer{id, "unavailable", "not every participant host is ready yet"};
  if (st.rolling_back) {
    return client_answer{id, "busy", "a restore in place of checkpoint " +
                                         std::to_string(st.rolling_back->checkpoint) +
                                         " is in progress"};
  }
  // Refuse before touching anything: the running application goes on as it was.
  auto plan = checked_plan(st, id);
  if (!plan) return refused(id, plan.err());
  const auto now = now_ticks(st);
  for (auto in_flight : st.core->in_flight()) {
    auto out = st.core->abort(in_flight, now);
    for (auto& o : out.finished) o.detail = "rolled back to checkpoint " + std::to_string(id);
    carry_out(self, std::move(out));
  }
  ++st.generation;
  const auto nodes = st.config.members.nodes();
  for (auto node : nodes) send_frame(self, node, wire::encode(rollback{st.generation, id}));
  auto sent = send_restore_orders(self, id, std::move(*plan));
  for (auto node : nodes) send_frame(self, node, wire::encode(start_traffic{id}));
  st.restored_from = id;
  coordinator_state::rollback_in_progress r;
  r.checkpoint = id;
  r.unconfirmed = {nodes.begin(), nodes.end()};
  r.participants = sent.participants;
  r.messages = sent.messages;
  r.deadline_tick = now + st.config.core.timeout_ticks;
  st.rolling_back = std::move(r);
  log(st, log_level::info,
      "restoring checkpoint " + std::to_string(id) + " in place (generation " +
          std::to_string(st.generation) + "): " + std::to_string(sent.participants) +
          " participants, " + std::to_string(sent.messages) + " recorded messages to deliver");
  return std::nullopt;
}

/// Ends the rollback in progress: every node confirmed (ok) or the deadline passed.
void end_rollback(coordinator_actor* self, bool confirmed) {
  auto& st = self->state;
  auto r = std::move(*st.rolling_back);
  st.rolling_back.reset();
  std::string text;
  if (confirmed) {
    text = "checkpoint " + std::to_string(r.checkpoint) + " restored in place: " +
           std::to_string(r.participants) + " participants, " + std::to_string(r.messages) +
           " in-flight messages delivered; traffic resumed on " +
           std::to_string(st.config.members.nodes().size()) + " nodes\n";
    log(st, log_level::info, text.substr(0, text.size() - 1));
  } else {
    std::string missing;
    for (auto n : r.unconfirmed) missing += (missing.empty() ? "" : ", ") + std::to_string(n);
    text = "restore in place of checkpoint " + std::to_string(r.checkpoint) +
           ": no confirmation from node(s) " + missing + " within the checkpoint timeout";
    log(st, log_level::error, text);
  }
  if (r.answer) r.answer->deliver(std::uint64_t{r.checkpoint}, std::string(confirmed ? "ok" : "timeout"), text);
}

void on_rolled_back(coordinator_actor* self, channel::node_id source, const rolled_back& done) {
  auto& st = self->state;
  if (!st.rolling_back || done.generation != st.generation || done.node != source) {
    log(st, log_level::warn, "ignored a rollback confirmation from node " + std::to_string(source) +
                                 " for generation " + std::to_string(done.generation));
    return;
  }
  st.rolling_back->unconfirmed.erase(source);
  if (st.rolling_back->unconfirmed.empty()) end_rollback(self, true);
}

/// A host is ready. Once all are, restore (if asked) and let traffic start: the restore orders go
/// first on each coordinator -> host link, so every participant has its state before its host
/// starts (FIFO).
void on_host_ready(coordinator_actor* self, const host_ready& ready) {
  auto& st = self->state;
  auto known = st.ready.find(ready.node);
  if (st.traffic_started) {
    if (known != st.ready.end() && known->second == ready.instance) {
      // A repeat that crossed our start_traffic: answer again (idempotent).
      send_frame(self, ready.node, wire::encode(start_traffic{st.restored_from}));
      return;
    }
    // A new process on that node: its participants start from nothing, which would create money
    // out of thin air in the bank. Leave it stopped; abort what it took part in.
    log(st, log_level::error,
        "node " + std::to_string(ready.node) +
            " restarted: its participants lost their state; not letting it start (restart every "
            "node from a checkpoint to recover)");
    for (auto p : st.config.members.on_node(ready.node)) {
      carry_out(self, st.core->on_participant_lost(p, now_ticks(st)));
    }
    return;
  }
  st.ready[ready.node] = ready.instance;
  if (st.ready.size() < st.config.members.nodes().size()) return;
  if (st.config.restore_from && !restore(self, *st.config.restore_from)) return;
  for (auto node : st.config.members.nodes()) {
    send_frame(self, node, wire::encode(start_traffic{st.restored_from}));
  }
  st.traffic_started = true;
  st.next_auto = std::chrono::steady_clock::now() + st.config.every;
  log(st, log_level::info,
      "every participant host is ready (" + std::to_string(st.ready.size()) +
          " nodes): application traffic starts" +
          (st.restored_from != 0 ? " from checkpoint " + std::to_string(st.restored_from) : ""));
}

std::string list_text(const std::vector<store::checkpoint_summary>& all) {
  std::string out = "id status participants messages bytes reason\n";
  for (auto& c : all) {
    out += std::to_string(c.id) + " " + to_string(c.status) + " " +
           std::to_string(c.participant_count) + " " + std::to_string(c.message_count) + " " +
           std::to_string(c.state_bytes + c.message_bytes) + (c.reason.empty() ? "" : " " + c.reason) +
           "\n";
  }
  return out;
}

std::string show_text(const store::manifest& m) {
  auto& c = m.summary;
  std::string out = "checkpoint " + std::to_string(c.id) + ": " + to_string(c.status) +
                    (c.reason.empty() ? "" : " (" + c.reason + ")") + "\n" +
                    "participants " + std::to_string(c.participant_count) + ", local states " +
                    std::to_string(c.state_count) + " (" + std::to_string(c.state_bytes) +
                    " bytes), channels " + std::to_string(c.channel_count) + ", in-flight messages " +
                    std::to_string(c.message_count) + " (" + std::to_string(c.message_bytes) +
                    " bytes), started " + std::to_string(c.started_unix_ms) + " finished " +
                    std::to_string(c.finished_unix_ms) + " (unix ms)\n";
  for (auto& p : m.participants) {
    out += "  participant " + std::to_string(p.participant) + " on node " + p.where.node + ": " +
           (p.has_state ? std::to_string(p.state_bytes) + " bytes" : std::string("no state")) +
           ", " + std::to_string(p.messages_in) + " messages on " +
           std::to_string(p.channels_in) + " incoming channels\n";
  }
  return out;
}

/// `troupe checkpoint ...` other than take (client_service.hpp), under the store thread's lock.
client_answer answer_client(store::checkpoint_store& store, std::uint8_t verb, checkpoint_id id) {
  switch (verb) {
    case 1: {  // list
      auto all = store.list();
      if (!all) return refused(0, all.err());
      return {0, "ok", list_text(*all)};
    }
    case 2: {  // show
      auto m = store.show(id);
      if (!m) return refused(id, m.err());
      return {id, "ok", show_text(*m)};
    }
    case 3:  // restore: in place (start_rollback), answered by the behavior
      return {id, "internal", "restore is answered by the coordinator's behavior"};
    case 4: {  // delete
      if (auto removed = store.remove(id); !removed) return refused(id, removed.err());
      return {id, "ok", "checkpoint " + std::to_string(id) + " deleted\n"};
    }
    case 5: {  // export --dot
      auto state = store.load(id);
      if (!state) return refused(id, state.err());
      return {id, "ok", store::to_dot(*state)};
    }
    default:
      return {id, "invalid_argument", "unknown checkpoint verb " + std::to_string(verb)};
  }
}

/// A participant's report from the host of node `source`.
void on_report(coordinator_actor* self, channel::node_id source, participant_report&& report) {
  auto& s = self->state;
  if (s.config.members.node_of(report.participant) != std::optional(source)) {
    log(s, log_level::warn, "refused a report from node " + std::to_string(source) +
                                ": participant " + std::to_string(report.participant) +
                                " is not hosted there");
    return;
  }
  carry_out(self, s.core->on_report(std::move(report), now_ticks(s)));
}

/// One frame from a host: readiness, a rollback's confirmation, a participant's report or a run
/// of them.
void on_frame(coordinator_actor* self, channel::node_id source, const wire::message& frame) {
  auto& s = self->state;
  auto decoded = wire::decode_checkpoint_message(frame);
  if (decoded) {
    if (auto* ready = std::get_if<host_ready>(&*decoded)) {
      if (ready->node == source && s.config.members.nodes().size() > 0 &&
          !s.config.members.on_node(ready->node).empty()) {
        on_host_ready(self, *ready);
      } else {
        log(s, log_level::warn, "refused a host_ready from node " +
                                    std::to_string(source) + " for another node");
      }
      return;
    }
    if (auto* done = std::get_if<rolled_back>(&*decoded)) {
      on_rolled_back(self, source, *done);
      return;
    }
    if (auto* run = std::get_if<report_run>(&*decoded)) {
      // A host's reports in the order it emitted them (README.md "report runs").
      for (auto& report : run->reports) on_report(self, source, std::move(report));
      return;
    }
  }
  auto* report = decoded ? std::get_if<participant_report>(&*decoded) : nullptr;
  if (report == nullptr) {
    log(s, log_level::warn,
        "refused a frame from node " + std::to_string(source) + ": " +
            (decoded ? "not a report, readiness or rollback confirmation" : decoded.err().message));
    return;
  }
  on_report(self, source, std::move(*report));
}

caf::behavior coordinator_behavior(coordinator_actor* self, coordinator_actor_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  st.core = std::make_unique<coordinator>(st.config.core);
  st.metrics = std::make_unique<checkpoint_metrics>(st.config.registry);
  st.participants = st.config.members.participants();
  for (auto p : st.participants) {
    st.locations.emplace_hint(st.locations.end(), p,
                              store::participant_location{
                                  std::to_string(st.config.members.node_of(p).value_or(0)), ""});
  }
  if (!st.config.fail) st.config.fail = [self](const std::string& why) { log(self->state, log_level::error, why); };
  st.writer = std::make_unique<store_thread>(st.config.store, st.metrics->on_corrupt());
  // Ids are never reused: continue above every stored checkpoint (message.hpp), damaged or not.
  // Without the highest id every save would be refused, so the coordinator does not start.
  auto highest = st.config.store->highest_id();
  if (!highest) {
    st.config.fail("cannot read the highest stored checkpoint id: " + highest.err().message);
    return {};
  }
  st.next_id = *highest + 1;
  self->send(st.config.transport, transport::register_atom::value,
             std::string(channel::coordinator_endpoint), caf::actor_cast<caf::actor>(self));
  // The node's client service finds us here (client_service.hpp).
  self->system().registry().put(coordinator_registry_key, caf::actor_cast<caf::strong_actor_ptr>(self));
  st.registered_in = &self->system();
  if (st.participants.empty()) {
    st.config.fail("no participants");
    return {};
  }
  self->send(self, tick_atom::value);
  return {
      [=](transport::ok_atom) {},
      [=](saved_atom, std::uint64_t id, bool stored, const std::string& error) {
        announce(self, id, stored, error);
      },
      [=](tick_atom) {
        auto& s = self->state;
        carry_out(self, s.core->on_tick(now_ticks(s)));
        if (s.rolling_back && now_ticks(s) >= s.rolling_back->deadline_tick) end_rollback(self, false);
        auto_take(self);
        self->delayed_send(self, s.config.tick_interval, tick_atom::value);
      },
      [=](client_atom, std::uint8_t verb,
          std::uint64_t id) -> caf::result<std::uint64_t, std::string, std::string> {
        if (verb == 3) {
          auto refusal = start_rollback(self, id);
          if (refusal) {
            auto [answer_id, status, text] = *refusal;
            return {answer_id, status, text};
          }
          auto promise = self->make_response_promise();
          self->state.rolling_back->answer = promise;
          return promise;
        }
        if (verb != 0) {
          auto [answer_id, status, text] = self->state.writer->with_store(
              [&](store::checkpoint_store& store) { return answer_client(store, verb, id); });
          return {answer_id, status, text};
        }
        auto [started, status, detail] = start_one(self);
        if (started == 0) return {std::uint64_t{0}, status, detail};
        auto promise = self->make_response_promise();
        self->state.waiting[started] = promise;
        return promise;
      },
      [=](take_atom) -> caf::result<std::uint64_t, std::string, std::string> {
        auto [id, status, detail] = start_one(self);
        if (id == 0) return {std::uint64_t{0}, status, detail};
        auto promise = self->make_response_promise();
        // A checkpoint may finish inside start_one only if it was refused; otherwise wait.
        self->state.waiting[id] = promise;
        return promise;
      },
      [=](transport::delivery& d) {
        if (!wire::is_checkpoint_batch(d.payload)) {
          on_frame(self, d.source_node, d.payload);
          return;
        }
        // A host's reports (and readiness) packed per flush: taken one by one, in order.
        auto frames = wire::decode_checkpoint_batch(d.payload);
        if (!frames) {
          log(self->state, log_level::warn, "refused a batch from node " +
                                                std::to_string(d.source_node) + ": " +
                                                frames.err().message);
          return;
        }
        for (auto& f : *frames) on_frame(self, d.source_node, f);
      },
      [=](transport::delivery_failed& f) {
        auto& s = self->state;
        log(s, log_level::warn,
            "a command to node " + std::to_string(f.destination_node) + " was lost (" +
                std::string(transport::to_string(f.reason)) + ")");
        for (auto p : s.config.members.on_node(f.destination_node)) {
          carry_out(self, s.core->on_participant_lost(p, now_ticks(s)));
        }
      },
      [=](transport::busy& b) {
        auto& s = self->state;
        log(s, log_level::warn, "a command to node " + std::to_string(b.destination_node) +
                                    " was refused (application lane full)");
        for (auto p : s.config.members.on_node(b.destination_node)) {
          carry_out(self, s.core->on_participant_lost(p, now_ticks(s)));
        }
      },
  };
}

}  // namespace

caf::actor spawn_coordinator(caf::actor_system& system, coordinator_actor_config config) {
  return system.spawn<caf::detached>(coordinator_behavior, std::move(config));
}

}  // namespace troupe::checkpoint::actor
