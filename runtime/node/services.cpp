#include "runtime/node/services.hpp"

#include <capnp/message.h>
#include <kj/exception.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "consensus/actor/backup_file.hpp"
#include "consensus/actor/raft_actor.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/base/host_port.hpp"
#include "consensus/core/membership.hpp"
#include "runtime/client/connection.hpp"
#include "runtime/metrics/buckets.hpp"
#include "runtime/transport/transport.hpp"
#include "runtime/wire/client_codec.hpp"
#include "snapshot/actor/client_service.hpp"
#include "runtime/wire/node.capnp.h"

namespace troupe::node {

namespace {

using probe_tick_atom = caf::atom_constant<caf::atom("nd_ptick")>;
using call_sweep_atom = caf::atom_constant<caf::atom("nd_csweep")>;
using backup_idle_atom = caf::atom_constant<caf::atom("nd_bkidle")>;
constexpr const char* probe_endpoint = "probe";

struct probe_fields {
  std::uint64_t from = 0;
  std::uint64_t sequence = 0;
  std::int64_t sent_at_ns = 0;
  bool is_reply = false;
};

wire::message encode_probe(const probe_fields& p) {
  capnp::MallocMessageBuilder b(16);
  auto root = b.initRoot<wire::schema::NodeProbe>();
  root.setFromNode(p.from);
  root.setSequence(p.sequence);
  root.setSentAtNs(p.sent_at_ns);
  root.setIsReply(p.is_reply);
  return wire::message::from_builder(b);
}

result<probe_fields> decode_probe(const wire::message& m) {
  // The message was validated structurally at the edge, but not against this schema: a root that
  // is not a struct makes Cap'n Proto throw, and nothing may throw inside an actor.
  try {
    auto r = m.root<wire::schema::NodeProbe>();
    probe_fields p{r.getFromNode(), r.getSequence(), r.getSentAtNs(), r.getIsReply()};
    if (p.from == 0) return make_error(errc::malformed, "probe without a sender");
    return p;
  } catch (const kj::Exception& e) {
    return make_error(errc::malformed, std::string("probe: ") + e.getDescription().cStr());
  }
}

// ---- probe ---------------------------------------------------------------------------------------

struct peer_probe_metrics {
  prometheus::Histogram* round_trip = nullptr;
  prometheus::Counter* sent = nullptr;
  prometheus::Counter* failed = nullptr;
};

struct probe_state {
  services_config config;
  std::map<std::uint64_t, peer_probe_metrics> peers;
  std::map<std::uint64_t, std::uint64_t> next_sequence;
  std::uint64_t next_message_id = 1;
  static inline const char* name = "troupe.node.probe";
};

caf::behavior probe_actor(caf::stateful_actor<probe_state>* self, services_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  auto& rtt = prometheus::BuildHistogram()
                  .Name("troupe_node_probe_round_trip_seconds")
                  .Help("Round trip of a probe between this node's probe actor and a peer's, "
                        "through both transports (application lane)")
                  .Register(*st.config.registry);
  auto& sent = prometheus::BuildCounter()
                   .Name("troupe_node_probes_sent_total")
                   .Help("Probes sent to a peer's probe actor")
                   .Register(*st.config.registry);
  auto& failed = prometheus::BuildCounter()
                     .Name("troupe_node_probe_failures_total")
                     .Help("Probes the transport reported lost or refused as busy")
                     .Register(*st.config.registry);
  for (auto& m : st.config.members) {
    if (m.id == st.config.self) continue;
    auto peer = std::to_string(m.id);
    st.peers[m.id] = {&rtt.Add({{"peer", peer}}, metrics::latency_buckets_seconds()),
                      &sent.Add({{"peer", peer}}), &failed.Add({{"peer", peer}})};
  }
  self->send(self, probe_tick_atom::value);
  return {
      [=](probe_tick_atom) {
        auto& s = self->state;
        for (auto& [peer, metrics] : s.peers) {
          probe_fields p{s.config.self, ++s.next_sequence[peer], steady_now_ns(), false};
          self->send(s.config.transport,
                     transport::outbound{peer, probe_endpoint, probe_endpoint,
                                         transport::lane::application, s.next_message_id++,
                                         encode_probe(p)});
          metrics.sent->Increment();
        }
        self->delayed_send(self, s.config.probe_interval, probe_tick_atom::value);
      },
      [=](transport::delivery& d) {
        auto& s = self->state;
        auto p = decode_probe(d.payload);
        if (!p || p->from != (p->is_reply ? s.config.self : d.source_node)) {
          if (s.config.log) {
            s.config.log(log_level::warn, "probe",
                         "ignoring a malformed probe from node " + std::to_string(d.source_node));
          }
          return;
        }
        if (!p->is_reply) {
          p->is_reply = true;
          self->send(s.config.transport,
                     transport::outbound{d.source_node, probe_endpoint, probe_endpoint,
                                         transport::lane::application, s.next_message_id++,
                                         encode_probe(*p)});
          return;
        }
        if (auto it = s.peers.find(d.source_node); it != s.peers.end()) {
          it->second.round_trip->Observe(static_cast<double>(steady_now_ns() - p->sent_at_ns) / 1e9);
        }
      },
      [=](transport::delivery_failed& f) {
        if (auto it = self->state.peers.find(f.destination_node); it != self->state.peers.end()) {
          it->second.failed->Increment();
        }
      },
      [=](transport::busy& b) {
        if (auto it = self->state.peers.find(b.destination_node); it != self->state.peers.end()) {
          it->second.failed->Increment();
        }
      },
  };
}

// ---- client service ------------------------------------------------------------------------------

const char* kind_of(const wire::client_request& r) {
  switch (r.body.index()) {
    case 0: return "put";
    case 1: return "get";
    case 2: return "cas";
    case 3: return "del";
    case 4: return "ping";
    case 5: return "status";
    case 6: return "range";
    case 7: return "txn";
    case 8: return "changes";
    case 9: return "checkpoint";
    case 10: return "app";
    case 11: return "cluster";
    case 12: return "backup";
  }
  return "unknown";
}

wire::client_reply reply_to(const wire::client_request& request) {
  wire::client_reply reply;
  reply.client_id = request.client_id;
  reply.sequence = request.sequence;
  return reply;
}

wire::raft_role to_wire(raft::role r) {
  switch (r) {
    case raft::role::follower: return wire::raft_role::follower;
    case raft::role::pre_candidate: return wire::raft_role::pre_candidate;
    case raft::role::candidate: return wire::raft_role::candidate;
    case raft::role::leader: return wire::raft_role::leader;
  }
  return wire::raft_role::unknown;
}

raft::read_mode to_read_mode(wire::read_consistency c) {
  switch (c) {
    case wire::read_consistency::linearizable: return raft::read_mode::linearizable;
    case wire::read_consistency::lease: return raft::read_mode::lease;
    case wire::read_consistency::follower: return raft::read_mode::follower;
    case wire::read_consistency::session: return raft::read_mode::session;
    case wire::read_consistency::stale: return raft::read_mode::stale;
  }
  return raft::read_mode::linearizable;
}

/// A raft answer that carries no state-machine reply, as a ClientReply error.
wire::client_reply failed_reply(const services_config& config, const wire::client_request& request,
                                const raft::raft_reply& r) {
  auto reply = reply_to(request);
  switch (r.code) {
    case raft::outcome_code::not_leader:
      reply.error = wire::client_error::not_leader;
      reply.error_message = "not the leader";
      for (auto& m : config.members) {
        if (m.id == r.leader) reply.leader_hint = wire::node_address{m.id, m.address};
      }
      // The configuration's address wins: the leader may have joined after this node started.
      if (r.leader != raft::no_node && !r.leader_address.empty()) {
        reply.leader_hint = wire::node_address{r.leader, r.leader_address};
      }
      break;
    case raft::outcome_code::rejected:
      reply.error = wire::client_error::invalid_request;
      reply.error_message = r.data.empty() ? "refused for this configuration" : r.data;
      break;
    case raft::outcome_code::busy:
      reply.error = wire::client_error::busy;
      reply.error_message = r.data.empty() ? "too many requests pending on this node: retry later" : r.data;
      break;
    case raft::outcome_code::unavailable:
      reply.error = wire::client_error::unavailable;
      reply.error_message = "no leader known (election in progress): retry";
      break;
    case raft::outcome_code::outcome_unknown:
      reply.error = wire::client_error::timeout;
      reply.error_message = "leadership changed before the command committed: outcome unknown, "
                            "retry with the same sequence";
      break;
    case raft::outcome_code::stopped:
      // A proposal may already be in the log of the others and commit there: not knowing is the
      // honest answer (exit 3 in the CLI); the client's retry with the same sequence is safe.
      reply.error = wire::client_error::timeout;
      reply.error_message = "this node stopped before answering: outcome unknown, retry with the "
                            "same sequence on another node";
      break;
    case raft::outcome_code::ok:
      reply.error = wire::client_error::internal;
      reply.error_message = "internal: an ok outcome reached the error path";
      break;
  }
  return reply;
}

/// A get or a write handed to the raft actor, until its answer or its deadline.
struct pending_call {
  std::uint64_t client = 0;
  const char* kind = "";
  wire::client_request request;
};

struct client_service_state {
  services_config config;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  /// `troupe_client_requests_total` children by (kind, result): Family::Add builds a label map
  /// and takes a lock, too much once per request.
  std::map<std::pair<const char*, wire::client_error>, prometheus::Counter*> request_counters;
  // Gets and writes go to the raft actor without a CAF request timeout: each timeout is a push to
  // CAF's clock thread and its cancellation another, both waking that thread, twice per request
  // (perf under a put load: 10-20% of the leader's CPU per operation). Their deadlines are kept
  // here instead, in call order (one raft_timeout for all), and one timer at a time sweeps them.
  std::uint64_t next_call = 1;
  std::unordered_map<std::uint64_t, pending_call> calls;
  std::deque<std::pair<std::uint64_t, std::chrono::steady_clock::time_point>> call_deadlines;
  bool sweep_scheduled = false;
  /// The backup being fetched (troupe backup save): one at a time, dropped once its last chunk was
  /// served or when a newer one replaces it. Ids start at the start time in ms, so a restarted
  /// node never answers an id of its previous life.
  std::uint64_t backup_id = 0;
  std::uint64_t next_backup_id = 0;
  std::shared_ptr<const std::string> backup_file;
  raft::backup_header backup_header;
  std::chrono::steady_clock::time_point backup_fetched;  ///< when a chunk of it was last asked for
  static inline const char* name = "troupe.node.client_service";
};

using client_actor = caf::stateful_actor<client_service_state>;

void count_request(client_service_state& s, const char* kind, wire::client_error result) {
  auto& counter = s.request_counters[{kind, result}];
  if (counter == nullptr) counter = &s.requests->Add({{"kind", kind}, {"result", wire::to_string(result)}});
  counter->Increment();
}

void send_reply(client_actor* self, std::uint64_t client, const char* kind,
                const wire::client_reply& reply) {
  auto& s = self->state;
  count_request(s, kind, reply.error);
  self->send(s.config.transport, transport::client_reply{client, wire::encode(reply)});
}

/// Forwards the state machine's reply bytes (an encoded ClientReply) as they are.
void send_raw_reply(client_actor* self, std::uint64_t client, const char* kind,
                    const wire::client_request& request, const std::string& bytes) {
  auto& s = self->state;
  auto parsed = wire::message::parse(std::as_bytes(std::span(bytes.data(), bytes.size())));
  auto decoded = parsed ? wire::decode_client_reply(*parsed) : result<wire::client_reply>(parsed.err());
  if (!decoded) {
    auto reply = reply_to(request);
    reply.error = wire::client_error::internal;
    reply.error_message = "the state machine's reply does not decode: " + decoded.err().message;
    return send_reply(self, client, kind, reply);
  }
  count_request(s, kind, decoded->error);
  self->send(s.config.transport, transport::client_reply{client, *parsed});
}

void on_raft_answer(client_actor* self, std::uint64_t client, const char* kind,
                    const wire::client_request& request, const raft::raft_reply& r) {
  if (r.code == raft::outcome_code::ok) return send_raw_reply(self, client, kind, request, r.data);
  auto reply = failed_reply(self->state.config, request, r);
  const auto* app = std::get_if<wire::app_request>(&request.body);
  if (r.code == raft::outcome_code::unavailable && app != nullptr &&
      app->consistency == wire::read_consistency::session && app->call == wire::app_call::query) {
    // A session read that waited its bound out (docs/consistency.md): say so, not "no leader".
    reply.error_message = "this node has not applied the session's index " + std::to_string(app->min_index) +
                          " in time: retry on another node";
  }
  send_reply(self, client, kind, reply);
}

void on_raft_error(client_actor* self, std::uint64_t client, const char* kind,
                   const wire::client_request& request, const caf::error& e) {
  auto reply = reply_to(request);
  reply.error = wire::client_error::timeout;
  reply.error_message = "no answer from the consensus group in time (" +
                        self->system().render(e) + "): outcome unknown";
  send_reply(self, client, kind, reply);
}

/// The call `id` if it is still waiting (not answered, not past its deadline); it waits no more.
std::optional<pending_call> take_call(client_service_state& s, std::uint64_t id) {
  auto it = s.calls.find(id);
  if (it == s.calls.end()) return std::nullopt;
  std::optional<pending_call> call(std::move(it->second));
  s.calls.erase(it);
  // Answers come mostly in call order: drop the deadlines of answered calls from the front.
  while (!s.call_deadlines.empty() && s.calls.count(s.call_deadlines.front().first) == 0) {
    s.call_deadlines.pop_front();
  }
  return call;
}

/// Answers `timeout` to every call past its deadline; runs again at the next deadline.
void sweep_calls(client_actor* self) {
  auto& s = self->state;
  s.sweep_scheduled = false;
  const auto now = std::chrono::steady_clock::now();
  while (!s.call_deadlines.empty() && s.call_deadlines.front().second <= now) {
    const auto id = s.call_deadlines.front().first;
    s.call_deadlines.pop_front();
    if (auto call = take_call(s, id)) {
      on_raft_error(self, call->client, call->kind, call->request, caf::make_error(caf::sec::request_timeout));
    }
  }
  if (!s.call_deadlines.empty()) {
    s.sweep_scheduled = true;
    self->delayed_send(self, s.call_deadlines.front().second - now, call_sweep_atom::value);
  }
}

/// Asks the raft actor (`xs`: a propose or read message) and answers the client with the outcome,
/// or with `timeout` once raft_timeout passed (a later answer is dropped).
template <class... Ts>
void ask_raft(client_actor* self, std::uint64_t client, const char* kind, wire::client_request request,
              Ts&&... xs) {
  auto& s = self->state;
  const std::uint64_t id = s.next_call++;
  s.calls.emplace(id, pending_call{client, kind, std::move(request)});
  s.call_deadlines.emplace_back(id, std::chrono::steady_clock::now() + s.config.raft_timeout);
  if (!s.sweep_scheduled) {
    s.sweep_scheduled = true;
    self->delayed_send(self, s.config.raft_timeout, call_sweep_atom::value);
  }
  self->request(s.config.raft, caf::infinite, std::forward<Ts>(xs)...)
      .then(
          [=](const raft::raft_reply& r) {
            if (auto call = take_call(self->state, id)) on_raft_answer(self, call->client, call->kind, call->request, r);
          },
          [=](const caf::error& e) {
            if (auto call = take_call(self->state, id)) on_raft_error(self, call->client, call->kind, call->request, e);
          });
}

/// `troupe cluster add|promote|remove|transfer-leader`: handed to the raft actor (the leader's
/// does the change; the others answer not_leader with the leader's address).
void handle_cluster(client_actor* self, std::uint64_t client, const char* kind,
                    const wire::client_request& request, const wire::cluster_request& c) {
  auto& s = self->state;
  auto on_answer = [=](const raft::raft_reply& r) {
    if (r.code != raft::outcome_code::ok) return send_reply(self, client, kind, failed_reply(self->state.config, request, r));
    send_reply(self, client, kind, reply_to(request));
  };
  auto on_error = [=](const caf::error& e) { on_raft_error(self, client, kind, request, e); };
  if (c.transfer_to != 0) {
    self->request(s.config.raft, s.config.raft_timeout, raft::transfer_atom::value, raft::node_id{c.transfer_to})
        .then(on_answer, on_error);
    return;
  }
  std::vector<raft::conf_change> changes;
  for (const auto& m : c.changes) {
    raft::conf_change cc;
    cc.type = m.kind == wire::member_change_kind::add_voter     ? raft::conf_change::kind::add_voter
              : m.kind == wire::member_change_kind::add_learner ? raft::conf_change::kind::add_learner
                                                                : raft::conf_change::kind::remove;
    cc.id = m.node_id;
    cc.address = m.address;
    if (!m.address.empty()) {
      if (auto a = parse_host_port(m.address); !a) {
        auto reply = reply_to(request);
        reply.error = wire::client_error::invalid_request;
        reply.error_message = "node " + std::to_string(m.node_id) + ": " + a.err().message;
        return send_reply(self, client, kind, reply);
      }
    }
    changes.push_back(std::move(cc));
  }
  self->request(s.config.raft, s.config.raft_timeout, raft::conf_change_atom::value, std::move(changes))
      .then(on_answer, on_error);
}

/// Bound on one backup chunk: far below the maximum frame size (runtime/wire/message.hpp).
constexpr std::uint32_t max_backup_chunk_bytes = 4u << 20;

void send_backup_chunk(client_actor* self, std::uint64_t client, const char* kind,
                       const wire::client_request& request, const wire::backup_request& b) {
  auto& s = self->state;
  auto reply = reply_to(request);
  const std::string& file = *s.backup_file;
  if (b.offset > file.size()) {
    reply.error = wire::client_error::invalid_request;
    reply.error_message = "offset " + std::to_string(b.offset) + " is beyond the backup's " +
                          std::to_string(file.size()) + " bytes";
    return send_reply(self, client, kind, reply);
  }
  const std::uint32_t limit = b.max_bytes == 0 ? max_backup_chunk_bytes : std::min(b.max_bytes, max_backup_chunk_bytes);
  const std::size_t n = std::min<std::size_t>(limit, file.size() - b.offset);
  reply.body = wire::backup_chunk{s.backup_id, file.size(), b.offset, file.substr(b.offset, n),
                                  s.backup_header.metadata.last_index, s.backup_header.metadata.last_term};
  if (b.offset + n == file.size()) s.backup_file.reset();  // fetched completely: free the memory
  s.backup_fetched = std::chrono::steady_clock::now();
  send_reply(self, client, kind, reply);
}

/// Drops the held backup `id` once no chunk was asked of it for backup_idle_limit (see there);
/// otherwise looks again when that much time has passed since the last chunk.
void check_backup_idle(client_actor* self, std::uint64_t id) {
  auto& s = self->state;
  if (id != s.backup_id || !s.backup_file) return;  // fetched completely or replaced
  const auto idle = std::chrono::steady_clock::now() - s.backup_fetched;
  if (idle < s.config.backup_idle_limit) {
    self->delayed_send(self, s.config.backup_idle_limit - idle, backup_idle_atom::value, id);
    return;
  }
  if (s.config.log) {
    s.config.log(log_level::warn, "backup",
                 "dropped backup " + std::to_string(id) + " (" + std::to_string(s.backup_file->size()) +
                     " bytes): no chunk was asked for in " + std::to_string(s.config.backup_idle_limit.count()) +
                     " ms (the client stopped); troupe backup save starts a new one");
  }
  s.backup_file.reset();
}

/// `troupe backup save`: a new backup is taken by the raft actor (the leader's; the others answer
/// not_leader) and kept here while the client fetches it chunk by chunk (client.capnp Backup*).
void handle_backup(client_actor* self, std::uint64_t client, const char* kind,
                   const wire::client_request& request, const wire::backup_request& b) {
  auto& s = self->state;
  if (b.backup_id != 0) {
    if (b.backup_id != s.backup_id || !s.backup_file) {
      auto reply = reply_to(request);
      reply.error = wire::client_error::invalid_request;
      reply.error_message = "backup " + std::to_string(b.backup_id) +
                            " is no longer held by this node (fetched completely, replaced by a newer "
                            "backup, or the node restarted): start again";
      return send_reply(self, client, kind, reply);
    }
    return send_backup_chunk(self, client, kind, request, b);
  }
  self->request(s.config.raft, s.config.raft_timeout, raft::backup_atom::value)
      .then(
          [=](const raft::raft_reply& r) {  // a response handler must take it const (CAF 0.17)
            if (r.code != raft::outcome_code::ok) {
              return send_reply(self, client, kind, failed_reply(self->state.config, request, r));
            }
            // The header alone (the raft actor wrote the file; the client verifies all of it).
            raft::backup_verifier v;
            (void)v.feed(std::string_view(r.data).substr(0, 16 + raft::max_backup_header_bytes));
            if (v.header() == nullptr) {
              auto reply = reply_to(request);
              reply.error = wire::client_error::internal;
              reply.error_message = "the backup's header does not decode";
              return send_reply(self, client, kind, reply);
            }
            auto& st = self->state;
            st.backup_header = *v.header();
            st.backup_id = st.next_backup_id++;
            st.backup_file = std::make_shared<const std::string>(r.data);
            wire::backup_request first = b;
            first.backup_id = st.backup_id;
            send_backup_chunk(self, client, kind, request, first);
            self->delayed_send(self, st.config.backup_idle_limit, backup_idle_atom::value, st.backup_id);
          },
          [=](const caf::error& e) { on_raft_error(self, client, kind, request, e); });
}

/// `troupe checkpoint ...`: handed to the checkpoint coordinator if this node runs one.
void handle_checkpoint(client_actor* self, std::uint64_t client, const char* kind,
                       const wire::client_request& request, const wire::checkpoint_request& c) {
  auto coordinator = caf::actor_cast<caf::actor>(
      self->system().registry().get(checkpoint::actor::coordinator_registry_key));
  if (!coordinator) {
    auto reply = reply_to(request);
    reply.error = wire::client_error::unavailable;
    reply.error_message = "this node runs no checkpoint coordinator (troupe bank runs it on the "
                          "lowest node id)";
    return send_reply(self, client, kind, reply);
  }
  // A take waits for the checkpoint to finish: bounded by the coordinator's own timeout.
  self->request(coordinator, std::chrono::minutes(5), checkpoint::actor::client_atom::value,
                static_cast<std::uint8_t>(c.verb), c.id)
      .then(
          [=](std::uint64_t id, const std::string& status, const std::string& text) {
            auto reply = reply_to(request);
            reply.body = wire::checkpoint_result{id, status, text};
            send_reply(self, client, kind, reply);
          },
          [=](const caf::error& e) {
            auto reply = reply_to(request);
            reply.error = wire::client_error::unavailable;
            reply.error_message = "the checkpoint coordinator did not answer: " +
                                  self->system().render(e);
            send_reply(self, client, kind, reply);
          });
}

void handle(client_actor* self, std::uint64_t client, const wire::message& payload,
            wire::client_request&& request) {
  auto& s = self->state;
  const char* kind = kind_of(request);
  if (auto* c = std::get_if<wire::checkpoint_request>(&request.body)) {
    return handle_checkpoint(self, client, kind, request, *c);
  }
  if (auto* c = std::get_if<wire::cluster_request>(&request.body); c != nullptr && s.config.raft) {
    return handle_cluster(self, client, kind, request, *c);
  }
  if (auto* b = std::get_if<wire::backup_request>(&request.body); b != nullptr && s.config.raft) {
    return handle_backup(self, client, kind, request, *b);
  }
  if (auto* p = std::get_if<wire::ping>(&request.body)) {
    auto reply = reply_to(request);
    reply.body = wire::pong{p->nonce};
    return send_reply(self, client, kind, reply);
  }
  const bool is_status = std::holds_alternative<wire::status_query>(request.body);
  if (!s.config.raft) {
    auto reply = reply_to(request);
    if (is_status) {
      wire::status_info info;
      info.node_id = s.config.self;
      info.role = wire::raft_role::unknown;
      for (auto& m : s.config.members) info.members.push_back({m.id, m.address});
      reply.body = std::move(info);
    } else {
      reply.error = wire::client_error::unavailable;
      reply.error_message = "this node runs no key-value service";
    }
    return send_reply(self, client, kind, reply);
  }
  if (is_status) {
    self->request(s.config.raft, s.config.raft_timeout, raft::status_atom::value)
        .then(
            [=](const raft::group_status& gs) {
              auto reply = reply_to(request);
              wire::status_info info;
              info.node_id = self->state.config.self;
              info.group_id = gs.node.group;
              info.term = gs.node.term;
              info.role = to_wire(gs.node.role);
              info.leader_id = gs.node.leader;
              info.commit_index = gs.node.commit;
              info.applied_index = gs.node.applied;
              info.last_log_index = gs.node.last_index;
              // The configuration in effect (members join and leave); the start-up list before one.
              const auto& conf = gs.node.membership;
              if (!raft::members_of(conf).empty()) {
                for (auto id : raft::members_of(conf)) {
                  const auto* a = raft::address_of(conf, id);
                  info.members.push_back({id, a == nullptr ? std::string() : *a});
                }
              } else {
                for (auto& m : self->state.config.members) info.members.push_back({m.id, m.address});
              }
              if (gs.node.learner) info.role = wire::raft_role::learner;
              reply.body = std::move(info);
              send_reply(self, client, kind, reply);
            },
            [=](const caf::error& e) { on_raft_error(self, client, kind, request, e); });
    return;
  }
  // Reads (get, and the config center's range and changes) go to the state machine's query once
  // their read index is applied; everything else is a write.
  std::optional<wire::read_consistency> read;
  if (auto* g = std::get_if<wire::kv_get>(&request.body)) read = g->consistency;
  if (auto* r = std::get_if<wire::kv_range>(&request.body)) read = r->consistency;
  if (auto* c = std::get_if<wire::kv_changes>(&request.body)) read = c->consistency;
  if (read && *read == wire::read_consistency::session) {
    // KvGet, KvRange and KvChanges carry no session index: served at session they would be
    // stale reads under a stronger name (docs/consistency.md). kv_client refuses them before
    // sending; this answers any other client the same way.
    auto reply = reply_to(request);
    reply.error = wire::client_error::invalid_request;
    reply.error_message = wire::kv_session_read_refusal;
    return send_reply(self, client, kind, reply);
  }
  std::uint64_t min_index = 0;  // session reads: serve once applied >= the session's index
  if (auto* a = std::get_if<wire::app_request>(&request.body); a && a->call == wire::app_call::query) {
    read = a->consistency;
    min_index = a->min_index;
  }
  if (read) {
    const auto bytes = payload.bytes();
    const auto mode = to_read_mode(*read);
    ask_raft(self, client, kind, std::move(request), raft::read_atom::value,
             std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()), mode, min_index);
    return;
  }
  // put, cas, del, txn, application commands: the request's own bytes are the command; the state machine decodes them and
  // dedupes by (client_id, sequence) (thesis §6.3).
  const auto bytes = payload.bytes();
  ask_raft(self, client, kind, std::move(request), raft::propose_atom::value,
           std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

caf::behavior client_service_actor(client_actor* self, services_config config) {
  self->state.config = std::move(config);
  self->state.next_backup_id = static_cast<std::uint64_t>(troupe::unix_now_ms());
  self->state.requests = &prometheus::BuildCounter()
                              .Name("troupe_client_requests_total")
                              .Help("Client requests received, by kind and outcome")
                              .Register(*self->state.config.registry);
  return {
      [=](transport::client_request& r) {
        auto request = wire::decode_client_request(r.payload);
        if (!request) {
          // We cannot know the sequence it had: answer with 0, the client sees invalid_request.
          wire::client_reply reply;
          reply.error = wire::client_error::invalid_request;
          reply.error_message = request.err().message;
          return send_reply(self, r.client, "unknown", reply);
        }
        handle(self, r.client, r.payload, std::move(*request));
      },
      [=](call_sweep_atom) { sweep_calls(self); },
      [=](backup_idle_atom, std::uint64_t id) { check_backup_idle(self, id); },
  };
}

}  // namespace

std::vector<caf::actor> spawn_services(caf::actor_system& system, const services_config& config) {
  auto probe = system.spawn(probe_actor, config);
  auto clients = system.spawn(client_service_actor, config);
  caf::anon_send(config.transport, transport::register_atom::value, std::string(probe_endpoint),
                 probe);
  caf::anon_send(config.transport, transport::register_atom::value,
                 std::string(transport::client_service_endpoint), clients);
  return {probe, clients};
}

}  // namespace troupe::node
