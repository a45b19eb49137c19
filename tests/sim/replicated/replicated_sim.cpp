#include "tests/sim/replicated/replicated_sim.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <span>
#include <vector>

#include "actors/replicated/service_host.hpp"
#include "examples/counter/counter_service.hpp"
#include "examples/kv/kv_state_machine.hpp"
#include "runtime/wire/client_codec.hpp"
#include "tests/scenario/raft/raft_cluster.hpp"
#include "tests/sim/raft/linearizability.hpp"
#include "tests/sim/client_simulation.hpp"
#include "tests/sim/replicated/register_service.hpp"

namespace troupe::replicated::testing {

namespace {

using raft::index_t;
using raft::node_id;
using raft::testing::kv_op;
using wire::read_consistency;

constexpr std::uint64_t keys = 3;
constexpr std::size_t no_history = SIZE_MAX;

using troupe::testing::bytes_of;
using troupe::testing::decode_reply;

std::optional<wire::client_request> decode_request(const std::string& bytes) {
  auto msg = wire::message::parse(std::as_bytes(std::span(bytes.data(), bytes.size())));
  if (!msg) return std::nullopt;
  auto r = wire::decode_client_request(*msg);
  if (!r) return std::nullopt;
  return *r;
}

enum class op_kind { incr, put, cas, read };

struct sim_client : troupe::testing::sim_client_base {
  op_kind kind = op_kind::read;
  read_consistency level = read_consistency::linearizable;
  std::string key;
  std::size_t history = no_history;  ///< this operation's entry in the linearizability history
  std::uint64_t min_index = 0;       ///< a session read's bound
  std::uint64_t session_index = 0;   ///< the highest index seen in any answer (docs/consistency.md)
  std::map<std::string, std::string> seen;  ///< register values last read, for cas expectations
  std::uint64_t op = 0;  ///< the operation's number, unique over the run
  std::string service, payload;  ///< the current command, for re-encoding (injected bug only)
};

/// A read answered from a state: checked at the end against the log's state at `index`.
struct state_read {
  read_consistency level;
  std::string key;
  std::string answer;
  std::uint64_t index;
};

/// What the host did with one log entry, from its stats.
enum class verdict { fresh, duplicate, stale, expired, invalid };

class replicated_simulation
    : public troupe::testing::client_simulation<replicated_simulation, sim_client, replicated_sim_outcome> {
  friend class troupe::testing::client_simulation<replicated_simulation, sim_client, replicated_sim_outcome>;

 public:
  explicit replicated_simulation(const replicated_sim_options& o)
      : client_simulation(o.nodes, troupe::testing::sim_raft_config(5, 1024), o.seed,
                          o.seed * 0x9e3779b97f4a7c15ULL + 11, o.operations),
        options_(o) {
    hosts_.resize(o.nodes + 1);
    cluster_.on_start = [this](node_id id) {
      hosts_[id] = make_host();
      applications_[id].clear();
    };
    cluster_.on_apply = [this](node_id id, const raft::log_entry& e) { on_apply(id, e); };
    for (node_id id = 1; id <= o.nodes; ++id) {
      if (!hosts_[id]) hosts_[id] = make_host();
    }
    for (std::size_t i = 0; i < o.clients; ++i) {
      sim_client c;
      c.id = 100 + i;
      clients_.push_back(std::move(c));
    }
  }

 private:
  static std::unique_ptr<service_host> make_host() {
    auto h = std::make_unique<service_host>(std::make_unique<kv::kv_state_machine>());
    h->add("counter", std::make_unique<counter::counter_service>());
    h->add("register", std::make_unique<register_service>());
    return h;
  }
  bool is_leader(node_id id) { return usable(id) && cluster_.at(id).status().role == raft::role::leader; }

  // ---- clients ----
  void encode(sim_client& c, std::string service, wire::app_call call, std::string payload) {
    wire::client_request r;
    r.client_id = c.id;
    r.sequence = call == wire::app_call::command ? ++c.seq : std::max<std::uint64_t>(c.seq, 1);
    r.group_id = 5;
    c.service = service;
    c.payload = payload;
    r.body = wire::app_request{std::move(service), call, std::move(payload), c.level, c.min_index};
    c.bytes = bytes_of(wire::encode(r));
    if (call == wire::app_call::command) op_of_[{c.id, r.sequence}] = c.op;
  }

  void start_operations() {
    for (auto& c : clients_) {
      if (c.busy || started_ops_ >= options_.operations || !rng_.chance(30)) continue;
      ++started_ops_;
      c.op = started_ops_;
      c.busy = true;
      c.attempts = 0;
      c.submitted = false;
      c.have_index = false;
      c.history = no_history;
      c.min_index = 0;
      c.target = usable(c.hint) && rng_.chance(85) ? c.hint : random_node();
      c.key = "r" + std::to_string(rng_.below(keys));
      const auto dice = rng_.below(100);
      c.is_read = dice >= 50;
      if (dice < 25) {
        c.kind = op_kind::incr;
        c.level = read_consistency::linearizable;
        encode(c, "counter", wire::app_call::command, counter::incr_command("n" + std::to_string(rng_.below(keys)), 1));
      } else if (dice < 50) {
        const std::string value = "v" + std::to_string(started_ops_);
        kv_op h;
        h.client = c.id;
        h.invoke = tick_;
        h.key = c.key;
        h.value = value;
        c.level = read_consistency::linearizable;
        if (rng_.chance(60)) {
          c.kind = op_kind::put;
          h.op = kv_op::kind::put;
          encode(c, "register", wire::app_call::command, "put " + c.key + " " + value);
        } else {
          c.kind = op_kind::cas;
          h.op = kv_op::kind::cas;
          auto it = c.seen.find(c.key);
          h.expected = it != c.seen.end() && rng_.chance(80) ? it->second : "v" + std::to_string(rng_.below(started_ops_ + 1));
          encode(c, "register", wire::app_call::command, "cas " + c.key + " " + h.expected + " " + value);
        }
        c.history = history_.size();
        history_.push_back(std::move(h));
      } else {
        c.kind = op_kind::read;
        c.level = static_cast<read_consistency>(rng_.below(5));
        if (c.level == read_consistency::session) c.min_index = c.session_index;
        // Session and stale reads are for followers: ask any node, so that some are behind.
        if (c.level == read_consistency::session || c.level == read_consistency::stale) c.target = random_node();
        if (c.level == read_consistency::linearizable || c.level == read_consistency::lease ||
            c.level == read_consistency::follower) {
          kv_op h;
          h.op = kv_op::kind::get;
          h.client = c.id;
          h.invoke = tick_;
          h.key = c.key;
          c.history = history_.size();
          history_.push_back(std::move(h));
        }
        encode(c, "register", wire::app_call::query, "get " + c.key);
      }
    }
  }

  /// A submitted read whose node can answer it now is answered (session: applied its bound;
  /// the others: applied their read index).
  bool read_answered(sim_client& c) {
    if (!c.is_read || !c.submitted || !usable(c.target)) return false;
    const auto applied = cluster_.at(c.target).status().applied;
    const bool via_index = c.level == read_consistency::linearizable || c.level == read_consistency::lease ||
                           c.level == read_consistency::follower;
    if ((options_.bug == injected_bug::session_ignores_bound && c.level == read_consistency::session) ||
        (via_index && c.have_index && applied >= c.read_index) ||
        (c.level == read_consistency::session && applied >= c.min_index)) {
      finish_read(c);
      return true;
    }
    return false;
  }

  void retrying(sim_client& c) {
    if (options_.bug == injected_bug::retry_with_new_sequence && !c.is_read) {
      encode(c, c.service, wire::app_call::command, c.payload);  // defeats the session table
      ++outcome_.multi_sequence_ops;
    }
  }

  void submit_read(sim_client& c) {
    if (options_.bug == injected_bug::linearizable_served_local && c.level != read_consistency::session) {
      return finish_read(c);
    }
    switch (c.level) {
      case read_consistency::linearizable:
      case read_consistency::lease:
        // Leader only (consensus/actor/driver.cpp): a follower answers notLeader.
        if (!is_leader(c.target)) return redirect(c);
        [[fallthrough]];
      case read_consistency::follower:
        c.rid = next_rid_++;
        if (!cluster_.read_index(c.target, c.rid, c.level == read_consistency::lease)) redirect(c);
        return;
      case read_consistency::session:
        // Any node; it waits (boundedly: the deadline) until it applied the session's index.
        if (cluster_.at(c.target).status().applied < c.min_index) ++outcome_.session_waits;
        return;
      case read_consistency::stale:
        finish_read(c);  // any node, at once
        return;
    }
  }

  void finish_read(sim_client& c) {
    const auto reply = decode_reply(hosts_[c.target]->query(c.bytes));
    if (!reply || reply->error != wire::client_error::ok) return fail("a register query failed");
    const auto& app = std::get<wire::app_reply>(reply->body);
    const std::string& answer = app.payload;
    if (answer != "!" && answer.rfind('=', 0) != 0) return fail("a register query answered " + answer);
    ++outcome_.reads_by_level[static_cast<int>(c.level)];
    if (answer != "!") c.seen[c.key] = answer.substr(1);
    if (c.history != no_history) {
      auto& h = history_[c.history];
      h.response = tick_;
      h.known = true;
      h.ok = answer != "!";
      h.output = h.ok ? answer.substr(1) : "";
    } else {
      // Session and stale reads: the state at the answer's index, checked against the log's at the
      // end. A session read is never answered below its bound (read your writes, monotonic).
      if (c.level == read_consistency::session && app.index < c.min_index) {
        return fail("a session read was answered at index " + std::to_string(app.index) + " below its bound " +
                    std::to_string(c.min_index));
      }
      if (c.level == read_consistency::stale && app.index < cluster_.at(c.target).status().commit) ++outcome_.stale_behind;
      state_reads_.push_back({c.level, c.key, answer, app.index});
    }
    c.session_index = std::max<std::uint64_t>(c.session_index, app.index);
    finished(c);
  }

  void give_up(sim_client& c) {
    // A read that never got an answer did nothing; a command's outcome is unknown.
    if (c.history != no_history && c.is_read) history_[c.history].known = false;  // dropped at the check
    gave_up(c);
  }

  void on_apply(node_id id, const raft::log_entry& e) {
    service_host& host = *hosts_[id];
    const host_stats before = host.stats();
    const std::string reply_bytes = host.apply(e.index, e.data);
    const host_stats& after = host.stats();
    verdict v = verdict::invalid;
    if (after.applied > before.applied) v = verdict::fresh;
    if (after.duplicates > before.duplicates) v = verdict::duplicate;
    if (after.stale > before.stale) v = verdict::stale;
    if (after.expired > before.expired) v = verdict::expired;
    if (!same_reply_everywhere(e.index, reply_bytes)) return;
    verdicts_[e.index] = v;
    const auto reply = decode_reply(reply_bytes);
    if (!reply) return fail("a reply does not decode");
    const auto key = std::make_pair(reply->client_id, reply->sequence);
    switch (v) {
      case verdict::fresh:
        if (!applied_once(id, key)) return;
        break;
      case verdict::duplicate: ++outcome_.duplicates; break;
      case verdict::stale: ++outcome_.stale_copies; break;
      case verdict::expired: return fail("a session expired (the table is large enough for every client)");
      case verdict::invalid: return fail("a command was refused: " + reply->error_message);
    }
    answer_clients(id, e, *reply);
  }

  void client_answer(sim_client& c, const wire::client_reply& reply) {
    if (reply.error != wire::client_error::ok) {
      return fail(std::string("a command was refused: ") + wire::to_string(reply.error) + " " + reply.error_message);
    }
    const auto& app = std::get<wire::app_reply>(reply.body);
    if (c.history != no_history) {
      auto& h = history_[c.history];
      h.response = tick_;
      h.known = true;
      h.ok = c.kind == op_kind::put || app.payload == "1";
      if (h.ok) c.seen[c.key] = h.value;
    }
    c.session_index = std::max<std::uint64_t>(c.session_index, app.index);
    finished(c);
  }

  // ---- the end ----
  void final_checks() {
    cluster_.check_log_matching();
    if (!cluster_.violations().empty()) return fail("raft invariant: " + cluster_.violations().front());
    if (auto problem = check_against_model(); !problem.empty()) return fail(problem);
    std::vector<kv_op> history;
    for (const auto& h : history_) {
      if (h.op == kv_op::kind::get && !h.known) continue;  // a read nobody saw the answer of
      history.push_back(h);
    }
    outcome_.history_ops = history.size();
    const auto lin = raft::testing::check_linearizable(history);
    if (lin.inconclusive) return fail("the linearizability check was inconclusive: " + lin.detail);
    if (!lin.linearizable) return fail("linearizable, lease and follower reads are not linearizable: " + lin.detail);
  }

  /// Replays the committed log through a model (plain maps and the session rule of thesis §6.3
  /// written out again): every fresh entry's answer must be the model's, every duplicate's the
  /// first answer byte for byte; each counter must end at its number of distinct increments; the
  /// session and stale reads must equal the model's state at their index.
  std::string check_against_model() {
    std::map<std::string, std::int64_t> counters;
    std::map<std::string, std::string> registers;
    std::map<std::string, std::map<std::uint64_t, std::optional<std::string>>> register_history;  // key -> index -> value
    std::map<std::uint64_t, std::pair<std::uint64_t, std::string>> sessions;  // client -> (last seq, reply)
    for (const auto& [index, e] : cluster_.invariants().committed()) {
      if (e.type != raft::entry_type::normal) continue;
      const std::string at = " at index " + std::to_string(index);
      auto v = verdicts_.find(index);
      if (v == verdicts_.end()) return "committed entry " + std::to_string(index) + " was never applied";
      const auto req = decode_request(e.data);
      if (!req) return "entry does not decode" + at;
      const auto& app = std::get<wire::app_request>(req->body);
      auto& session = sessions[req->client_id];
      const bool fresh = req->sequence > session.first;
      if (!fresh) {
        if (req->sequence == session.first && replies_.at(index) != session.second) {
          return "a duplicate was not answered with the first answer" + at;
        }
        if (v->second == verdict::fresh) return "a copy was applied again" + at;
        continue;
      }
      if (v->second != verdict::fresh) return "a fresh command was not applied" + at;
      // The application's view of exactly-once: one client operation, one application, whatever
      // sequence numbers its retries carried.
      if (auto op = op_of_.find({req->client_id, req->sequence}); op != op_of_.end()) {
        if (!applied_ops_.insert(op->second).second) {
          return "client operation " + std::to_string(op->second) + " was applied twice" + at;
        }
      }
      const auto reply = decode_reply(replies_.at(index));
      const std::string& answer = std::get<wire::app_reply>(reply->body).payload;
      std::string expected;
      std::istringstream words(app.payload);
      std::string verb, name, a, b;
      words >> verb;
      if (app.service == "counter") {
        words >> a >> name;
        expected = std::to_string(counters[name] += std::stoll(a));
      } else if (verb == "put") {
        words >> name >> a;
        registers[name] = a;
        register_history[name][index] = a;
        expected = "ok";
      } else {
        words >> name >> a >> b;
        auto it = registers.find(name);
        const bool swap = it != registers.end() && it->second == a;
        if (swap) {
          it->second = b;
          register_history[name][index] = b;
        }
        expected = swap ? "1" : "0";
      }
      if (answer != expected) return "the host answered " + answer + ", the model " + expected + at;
      session = {req->sequence, replies_.at(index)};
    }
    for (node_id id = 1; id <= options_.nodes; ++id) {
      const auto* c = dynamic_cast<const counter::counter_service*>(hosts_[id]->find("counter"));
      const auto* r = dynamic_cast<const register_service*>(hosts_[id]->find("register"));
      if (c == nullptr || r == nullptr) return "a service is missing on node " + std::to_string(id);
      std::map<std::string, std::int64_t> have(c->counters().begin(), c->counters().end());
      if (have != counters) return "node " + std::to_string(id) + "'s counters differ from the model's";
      if (r->data() != registers) return "node " + std::to_string(id) + "'s registers differ from the model's";
    }
    for (const auto& s : state_reads_) {
      std::optional<std::string> value;
      const auto& changes = register_history[s.key];
      auto it = changes.upper_bound(s.index);
      if (it != changes.begin()) value = std::prev(it)->second;
      const std::string expected = value ? "=" + *value : "!";
      if (s.answer != expected) {
        return std::string(wire::to_string(s.level)) + " read of " + s.key + " answered " + s.answer + " at index " +
               std::to_string(s.index) + " where the log gives " + expected;
      }
    }
    return {};
  }

  replicated_sim_options options_;
  std::vector<std::unique_ptr<service_host>> hosts_;
  std::map<index_t, verdict> verdicts_;
  std::vector<kv_op> history_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> op_of_;  ///< (client, sequence) -> operation
  std::set<std::uint64_t> applied_ops_;
  std::vector<state_read> state_reads_;
};

}  // namespace

replicated_sim_outcome run_replicated_simulation(const replicated_sim_options& options) {
  return replicated_simulation(options).run();
}

}  // namespace troupe::replicated::testing
