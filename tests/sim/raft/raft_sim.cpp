#include "tests/sim/raft/raft_sim.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "tests/scenario/raft/raft_cluster.hpp"
#include "tests/sim/raft/kv_model.hpp"
#include "tests/sim/raft/linearizability.hpp"

namespace troupe::raft::testing {

namespace {

constexpr std::uint64_t request_timeout_ticks = 40;
constexpr int max_attempts = 5;
constexpr std::uint64_t max_ticks = 20'000;
constexpr std::uint64_t settle_ticks = 4'000;

config sim_raft_config(const sim_options& o) {
  config c;
  c.group = 9;
  c.election_timeout_ticks = 10;
  c.heartbeat_interval_ticks = 2;
  c.tick_duration_ns = 10'000'000;
  c.max_inflight_messages = 8;
  c.max_append_bytes = 256;
  c.bugs = o.bugs;
  return c;
}

struct client {
  std::uint64_t id = 0;
  std::uint64_t seq = 0;
  bool busy = false;
  bool is_read = false;
  std::size_t op = 0;  // index into the history
  node_id target = no_node;
  node_id leader_hint = no_node;
  std::uint64_t deadline = 0;
  int attempts = 0;
  bool submitted = false;  // the current attempt reached a node
  kv_command command;
  std::uint64_t rid = 0;
  bool have_index = false;
  index_t read_index = 0;
};

class simulation {
 public:
  explicit simulation(const sim_options& o)
      : options_(o), rng_(o.seed * 0x9e3779b97f4a7c15ULL + 17), cluster_(o.nodes, sim_raft_config(o), o.seed) {
    kv_.resize(o.nodes + 1);
    cluster_.on_start = [this](node_id id) { kv_[id] = kv_machine{}; };
    cluster_.on_apply = [this](node_id id, const log_entry& e) { on_apply(id, e); };
    cluster_.on_read = [this](node_id id, const read_state& r) { on_read(id, r); };
    cluster_.on_read_dropped = [this](node_id id, std::uint64_t rid) { on_read_dropped(id, rid); };
    for (std::size_t i = 0; i < o.clients; ++i) clients_.push_back(client{100 + i});
    // a fault profile per seed
    network_faults f;
    f.drop_percent = static_cast<std::uint32_t>(rng_.below(3) * 2);
    f.duplicate_percent = static_cast<std::uint32_t>(rng_.below(2) * 2);
    f.reorder = rng_.chance(70);
    cluster_.faults() = f;
    fault_scale_ = 1 + rng_.below(3);
  }

  sim_outcome run() {
    for (; tick_ < max_ticks && !failed(); ++tick_) {
      if (finished_ops_ < options_.operations) {
        inject_faults();
        start_operations();
      } else if (!settling_) {
        settle();
      }
      drive_clients();
      cluster_.tick();
      deliver();
      if (tick_ % 64 == 0) cluster_.check_log_matching();
      if (settling_ && all_idle() && ++settled_ticks_ > 60) break;
      if (settling_ && tick_ > settle_start_ + settle_ticks) {
        fail("clients did not finish after the faults stopped");
      }
    }
    if (!cluster_.violations().empty()) fail("invariant: " + cluster_.violations().front());
    if (!failed() && !settling_) fail("ran out of ticks");
    if (!failed()) final_checks();
    outcome_.ticks = tick_;
    outcome_.counters = cluster_.counters_total();
    return outcome_;
  }

 private:
  bool failed() const { return !outcome_.ok || !cluster_.violations().empty(); }
  void fail(const std::string& why) {
    if (outcome_.ok) {
      outcome_.ok = false;
      outcome_.failure = why;
    }
  }

  // ---- faults ----
  void inject_faults() {
    const std::uint64_t n = options_.nodes;
    const auto scale = fault_scale_;
    const node_id victim = 1 + rng_.below(n);
    if (rng_.below(1000) < 4 * scale && cluster_.is_up(victim)) {
      cluster_.crash(victim);
      ++outcome_.crashes;
    }
    for (node_id id = 1; id <= n; ++id) {
      if (!cluster_.is_up(id) && rng_.chance(4)) cluster_.restart(id);
    }
    if (rng_.below(1000) < 3 * scale) {
      std::set<node_id> side;
      for (node_id id = 1; id <= n; ++id) {
        if (rng_.chance(50)) side.insert(id);
      }
      cluster_.partition(side);
      ++outcome_.partitions;
    }
    if (rng_.below(1000) < 3 * scale) {
      const node_id a = 1 + rng_.below(n);
      const node_id b = 1 + rng_.below(n);
      if (a != b) cluster_.block(a, b);  // asymmetric: one direction only
      ++outcome_.partitions;
    }
    if (rng_.chance(2)) cluster_.heal();
    if (rng_.below(1000) < 3 * scale && cluster_.is_up(victim) && !cluster_.is_paused(victim)) {
      cluster_.pause(victim);  // its clock jumps when it resumes
      paused_until_[victim] = tick_ + 5 + rng_.below(40);
      ++outcome_.pauses;
    }
    for (auto it = paused_until_.begin(); it != paused_until_.end();) {
      if (it->second <= tick_) {
        cluster_.resume(it->first);
        it = paused_until_.erase(it);
      } else {
        ++it;
      }
    }
    if (rng_.below(1000) < 3 * scale) {
      if (auto l = cluster_.leader(); l && !cluster_.is_paused(*l)) {
        const node_id t = 1 + rng_.below(n);
        if (t != *l && cluster_.at(*l).transfer_leadership(t, cluster_.now()).ok()) ++outcome_.transfers;
      }
    }
  }

  void settle() {
    settling_ = true;
    settle_start_ = tick_;
    cluster_.faults() = {};
    cluster_.heal();
    for (node_id id = 1; id <= options_.nodes; ++id) {
      cluster_.resume(id);
      if (!cluster_.is_up(id)) cluster_.restart(id);
    }
    paused_until_.clear();
  }

  void deliver() {
    const std::size_t in_flight = cluster_.in_flight().size();
    // Some messages wait for a later tick: delay, and with reordering, overtaking.
    const std::size_t budget = std::max<std::size_t>(8, in_flight * (40 + rng_.below(60)) / 100);
    for (std::size_t i = 0; i < budget && cluster_.deliver_one(); ++i) {
    }
  }

  // ---- clients ----
  bool usable(node_id id) const { return id != no_node && cluster_.is_up(id) && !cluster_.is_paused(id); }

  node_id pick_target(client& c) {
    if (usable(c.leader_hint) && rng_.chance(85)) return c.leader_hint;
    return 1 + rng_.below(options_.nodes);
  }

  bool all_idle() const {
    return std::none_of(clients_.begin(), clients_.end(), [](const client& c) { return c.busy; });
  }

  void start_operations() {
    for (auto& c : clients_) {
      if (c.busy || started_ops_ >= options_.operations || !rng_.chance(30)) continue;
      ++started_ops_;
      kv_op op;
      op.client = c.id;
      op.key = "k" + std::to_string(rng_.below(3));
      op.invoke = ++clock_;
      const auto dice = rng_.below(100);
      c.busy = true;
      c.attempts = 0;
      c.submitted = false;
      c.have_index = false;
      c.target = pick_target(c);
      if (dice < 40) {
        op.op = kv_op::kind::get;
        c.is_read = true;
        ++outcome_.reads;
      } else {
        c.is_read = false;
        c.command.client = c.id;
        c.command.seq = ++c.seq;
        c.command.key = op.key;
        c.command.value = "v" + std::to_string(c.id) + "." + std::to_string(c.seq);
        if (dice < 75) {
          op.op = kv_op::kind::put;
          c.command.kind = 'P';
          c.command.expected.clear();
        } else {
          op.op = kv_op::kind::cas;
          c.command.kind = 'C';
          auto last = last_value_.find(op.key);
          c.command.expected = (last != last_value_.end() && rng_.chance(70))
                                   ? last->second
                                   : "v" + std::to_string(100 + rng_.below(options_.clients)) + "." +
                                         std::to_string(rng_.below(c.seq + 1));
          op.expected = c.command.expected;
        }
        op.value = c.command.value;
        last_value_[op.key] = op.value;
        ++outcome_.writes;
      }
      c.op = history_.size();
      history_.push_back(op);
    }
  }

  void drive_clients() {
    for (auto& c : clients_) {
      if (!c.busy) continue;
      if (c.is_read && c.have_index && usable(c.target) &&
          cluster_.at(c.target).status().applied >= c.read_index) {
        auto v = kv_[c.target].get(history_[c.op].key);
        complete(c, v.has_value(), v.value_or(""));
        continue;
      }
      if (c.submitted && tick_ < c.deadline) continue;
      if (c.submitted) {
        // timed out: retry elsewhere, or give up (the outcome stays unknown)
        if (++c.attempts >= max_attempts) {
          give_up(c);
          continue;
        }
        c.target = pick_target(c);
      }
      submit(c);
    }
  }

  void submit(client& c) {
    c.submitted = false;
    c.have_index = false;
    if (!usable(c.target)) {
      c.target = 1 + rng_.below(options_.nodes);
      return;
    }
    node& n = cluster_.at(c.target);
    if (c.is_read) {
      c.rid = next_rid_++;
      const auto st = cluster_.read_index(c.target, c.rid);
      if (!st) {
        c.leader_hint = n.status().leader;
        c.target = usable(c.leader_hint) ? c.leader_hint : 1 + rng_.below(options_.nodes);
        return;
      }
    } else {
      const auto r = cluster_.propose(c.target, c.command.encode());
      if (!r) {
        c.leader_hint = n.status().leader;  // "not leader, try X"
        c.target = usable(c.leader_hint) ? c.leader_hint : 1 + rng_.below(options_.nodes);
        return;
      }
      c.leader_hint = c.target;
    }
    c.submitted = true;
    c.deadline = tick_ + request_timeout_ticks;
  }

  void complete(client& c, bool ok, std::string output) {
    auto& op = history_[c.op];
    op.known = true;
    op.ok = ok;
    op.output = std::move(output);
    op.response = ++clock_;
    if (!c.is_read) acknowledged_.insert({c.id, c.command.seq});
    c.busy = false;
    ++finished_ops_;
    ++outcome_.operations_acknowledged;
  }

  void give_up(client& c) {
    c.busy = false;
    ++finished_ops_;
    ++outcome_.operations_unknown;
  }

  void on_apply(node_id id, const log_entry& e) {
    const auto cmd = kv_command::decode(e.data);
    const kv_result r = kv_[id].apply(cmd);
    // every node must compute the same answer for the same command
    auto [it, inserted] = results_.emplace(std::make_pair(cmd.client, cmd.seq), r);
    if (!inserted && !(it->second == r)) fail("nodes disagree on the result of a command");
    for (auto& c : clients_) {
      if (c.busy && !c.is_read && c.submitted && c.id == cmd.client && c.command.seq == cmd.seq &&
          c.target == id) {
        complete(c, cmd.kind == 'P' ? true : r.ok, {});
      }
    }
  }

  void on_read(node_id id, const read_state& rs) {
    for (auto& c : clients_) {
      if (c.busy && c.is_read && c.submitted && c.rid == rs.request_id && c.target == id) {
        c.have_index = true;
        c.read_index = rs.index;
      }
    }
  }

  void on_read_dropped(node_id id, std::uint64_t rid) {
    for (auto& c : clients_) {
      if (c.busy && c.is_read && c.submitted && c.rid == rid && c.target == id) {
        c.deadline = tick_;  // retry at once
      }
    }
  }

  // ---- the end ----
  void final_checks() {
    cluster_.check_log_matching();
    if (!cluster_.violations().empty()) return;
    const auto lin = check_linearizable(history_);
    outcome_.linearizability_steps = lin.search_steps;
    outcome_.linearizability_inconclusive = lin.inconclusive;
    if (!lin.linearizable) {
      fail("not linearizable: " + lin.detail);
      return;
    }
    // Every acknowledged write is in the committed log.
    std::set<std::pair<std::uint64_t, std::uint64_t>> committed;
    for (const auto& [index, e] : cluster_.invariants().committed()) {
      if (e.type == entry_type::normal) {
        const auto cmd = kv_command::decode(e.data);
        committed.insert({cmd.client, cmd.seq});
      }
    }
    for (const auto& w : acknowledged_) {
      if (committed.count(w) == 0) {
        fail("acknowledged write of client " + std::to_string(w.first) + " seq " +
             std::to_string(w.second) + " is not committed");
        return;
      }
    }
    // Nodes that applied the same prefix hold the same data.
    std::map<index_t, const kv_machine*> by_applied;
    for (node_id id = 1; id <= options_.nodes; ++id) {
      const auto applied = cluster_.at(id).status().applied;
      auto [it, inserted] = by_applied.emplace(applied, &kv_[id]);
      if (!inserted && it->second->data() != kv_[id].data()) fail("replicas diverged");
    }
  }

  sim_options options_;
  rng rng_;
  cluster cluster_;
  std::vector<kv_machine> kv_;
  std::vector<client> clients_;
  std::vector<kv_op> history_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, kv_result> results_;
  std::set<std::pair<std::uint64_t, std::uint64_t>> acknowledged_;
  std::map<node_id, std::uint64_t> paused_until_;
  std::map<std::string, std::string> last_value_;
  std::uint64_t tick_ = 0;
  std::uint64_t clock_ = 0;
  std::uint64_t next_rid_ = 1;
  std::size_t started_ops_ = 0;
  std::size_t finished_ops_ = 0;
  std::uint64_t fault_scale_ = 1;
  bool settling_ = false;
  std::uint64_t settle_start_ = 0;
  std::uint64_t settled_ticks_ = 0;
  sim_outcome outcome_;
};

}  // namespace

sim_outcome run_simulation(const sim_options& options) {
  simulation sim(options);
  auto outcome = sim.run();
  return outcome;
}

}  // namespace troupe::raft::testing
