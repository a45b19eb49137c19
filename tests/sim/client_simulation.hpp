#pragma once
// The harness the client-level simulations (tests/sim/kv, tests/sim/replicated) share: one seeded
// run of real Raft cores (tests/scenario/raft's cluster) with clients that send encoded requests,
// whose commands the client side of the network copies and delays, and that retry after a timeout
// with the same (clientId, sequence), following the leader hint. What differs (the requests, how a
// read is served, what an answer means, the final checks) is the simulation's own, through the
// hooks below; everything here draws from the simulation's rng in the same fixed order, so a seed
// replays the same run.
//
// A simulation derives as `class my_sim : public client_simulation<my_sim, my_client, my_outcome>`
// (befriending the base) and provides:
//   void start_operations();                       // new operations for idle clients
//   bool read_answered(Client&);                   // a read that can be answered now was: true
//   void submit_read(Client&);                     // a read's attempt, after the common prelude
//   void retrying(Client&);                        // before a retry's submit (may re-encode)
//   void give_up(Client&);                         // after max_attempts (call gave_up)
//   void client_answer(Client&, const wire::client_reply&);  // its command's entry was applied
//   void final_checks();                           // after a run that settled
//   void between_steps();                          // optional: after the clients, before the tick
// Single-threaded; one object, one run.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/sim/client_steps.hpp"
#include "tests/sim/sim_counts.hpp"

namespace troupe::testing {

/// What every simulated client has: its session, its current request and where its current
/// attempt went. A simulation's client derives from it.
struct sim_client_base {
  std::uint64_t id = 0;   ///< the session's client id
  std::uint64_t seq = 0;  ///< the session's last command sequence
  bool busy = false;
  bool is_read = false;
  std::string bytes;      ///< the current request, encoded: every retry and copy sends these
  raft::node_id target = raft::no_node;
  raft::node_id hint = raft::no_node;
  raft::index_t index = 0;  ///< where the current attempt's proposal landed on `target`
  std::uint64_t deadline = 0;
  int attempts = 0;
  bool submitted = false;
  int proposals = 0;  ///< attempts and copies of the current command that may have reached a log
  std::uint64_t rid = 0;  ///< the current read's request id
  bool have_index = false;
  raft::index_t read_index = 0;
};

template <class Derived, class Client, class Outcome>
class client_simulation {
 public:
  static constexpr std::uint64_t request_timeout_ticks = 40;
  static constexpr int max_attempts = 6;
  static constexpr std::uint64_t max_ticks = 30'000;
  static constexpr std::uint64_t settle_ticks = 5'000;

  /// Runs until `operations` client operations finished (or were given up on) and the cluster,
  /// its faults stopped, is quiet; then the final checks.
  Outcome run() {
    for (; tick_ < max_ticks && !failed(); ++tick_) {
      if (finished_ops_ < operations_) {
        inject_faults(cluster_, rng_, nodes_, outcome_.crashes, outcome_.partitions);
        self().start_operations();
      } else if (!settling_) {
        settling_ = true;
        settle_start_ = tick_;
        cluster_.stop_faults();
      }
      deliver_copies(cluster_, rng_, nodes_, copies_, tick_);
      drive_clients();
      self().between_steps();
      cluster_.tick();
      deliver_some(cluster_, rng_);
      if (settling_ && quiet(cluster_, nodes_, clients_, copies_)) {
        if (++quiet_ticks_ > 60) break;
      } else {
        quiet_ticks_ = 0;
      }
      if (settling_ && tick_ > settle_start_ + settle_ticks) fail("the cluster did not settle after the faults stopped");
    }
    if (!cluster_.violations().empty()) fail("raft invariant: " + cluster_.violations().front());
    if (!failed() && !settling_) fail("ran out of ticks");
    if (!failed()) self().final_checks();
    outcome_.ticks = tick_;
    return outcome_;
  }

 protected:
  /// `nodes` Raft cores with `config` (the cluster seeded with `seed`), the test's rng seeded with
  /// `rng_seed`, `operations` client operations; draws the network's faults.
  client_simulation(std::size_t nodes, raft::config config, std::uint64_t seed, std::uint64_t rng_seed,
                    std::size_t operations)
      : nodes_(nodes), operations_(operations), rng_(rng_seed), cluster_(nodes, std::move(config), seed) {
    applications_.resize(nodes + 1);
    cluster_.on_read = [this](raft::node_id id, const raft::read_state& r) { note_read_index(clients_, id, r); };
    cluster_.on_read_dropped = [this](raft::node_id id, std::uint64_t rid) {
      retry_dropped_read(clients_, id, rid, tick_);
    };
    copy_percent_ = random_network(cluster_, rng_);
  }

  void between_steps() {}

  bool failed() const { return !outcome_.ok || !cluster_.violations().empty(); }
  void fail(const std::string& why) {
    if (outcome_.ok) {
      outcome_.ok = false;
      outcome_.failure = why;
    }
  }
  bool usable(raft::node_id id) const { return id != raft::no_node && cluster_.is_up(id); }
  raft::node_id random_node() { return 1 + rng_.below(nodes_); }

  /// The client's operation is done: answered (acknowledged) or given up on (unknown).
  void finished(Client& c) {
    c.busy = false;
    ++finished_ops_;
    ++outcome_.acknowledged;
  }
  void gave_up(Client& c) {
    c.busy = false;
    ++finished_ops_;
    ++outcome_.unknown;
  }

  /// Sends the client's attempt to its target: a command is proposed (and maybe copied, to arrive
  /// again later), a read goes to the simulation's submit_read.
  void submit(Client& c) {
    c.submitted = false;
    c.have_index = false;
    if (!usable(c.target)) {
      c.target = random_node();
      return;
    }
    c.submitted = true;
    c.deadline = tick_ + request_timeout_ticks;
    if (c.is_read) return self().submit_read(c);
    maybe_copy(c);  // the network may deliver this command twice, later
    c.index = 0;
    auto r = cluster_.propose(c.target, c.bytes);
    if (!r) return redirect(c);
    ++c.proposals;
    c.hint = c.target;
    c.index = *r;  // nothing commits inside propose: no quorum of one here
  }

  /// The target does not serve this: try the leader it names, else a random node.
  void redirect(Client& c) {
    c.submitted = false;
    c.hint = cluster_.is_up(c.target) ? cluster_.at(c.target).status().leader : raft::no_node;
    c.target = usable(c.hint) ? c.hint : random_node();
  }

  // ---- the replicas' side ----
  /// Every replica must give the same reply to the same log entry (Raft §5: deterministic state
  /// machines). False (and the run fails) when one differs.
  bool same_reply_everywhere(raft::index_t index, const std::string& reply) {
    auto [it, inserted] = replies_.emplace(index, reply);
    if (!inserted && it->second != reply) {
      fail("replicas answered entry " + std::to_string(index) + " differently");
      return false;
    }
    return true;
  }

  /// Counts a fresh application of (client, sequence) on `id` (per replica incarnation: a
  /// restarted replica starts empty and applies the log again). Thesis 6.3: at most once; false
  /// (and the run fails) on a second.
  bool applied_once(raft::node_id id, std::pair<std::uint64_t, std::uint64_t> key) {
    if (++applications_[id][key] > 1) {
      fail("node " + std::to_string(id) + " applied client " + std::to_string(key.first) + " sequence " +
           std::to_string(key.second) + " twice");
      return false;
    }
    ++outcome_.applied;
    return true;
  }

  /// The clients whose current command `id` just applied at `e`'s index get their answer; a client
  /// whose proposal there was overwritten by another leader's entry retries at once.
  void answer_clients(raft::node_id id, const raft::log_entry& e, const wire::client_reply& reply) {
    for (auto& c : clients_) {
      if (!c.busy || c.is_read || !c.submitted || c.target != id || c.index != e.index) continue;
      if (e.data != c.bytes) {
        c.deadline = tick_;
        continue;
      }
      self().client_answer(c, reply);
    }
  }

  std::size_t nodes_;
  std::size_t operations_;
  raft::testing::rng rng_;
  raft::testing::cluster cluster_;
  std::vector<Client> clients_;
  std::vector<delayed_copy> copies_;
  std::uint32_t copy_percent_ = 20;
  /// Per node, fresh applications per (client, sequence) since its last start (clear it there).
  std::vector<std::map<std::pair<std::uint64_t, std::uint64_t>, int>> applications_;
  std::map<raft::index_t, std::string> replies_;  ///< the first reply to each applied entry
  std::uint64_t next_rid_ = 1;
  std::uint64_t tick_ = 0;
  std::size_t started_ops_ = 0;
  std::size_t finished_ops_ = 0;
  Outcome outcome_;

 private:
  Derived& self() { return static_cast<Derived&>(*this); }

  void drive_clients() {
    for (auto& c : clients_) {
      if (!c.busy) continue;
      if (self().read_answered(c)) continue;
      if (c.submitted && tick_ < c.deadline) continue;
      if (c.submitted) {
        if (++c.attempts >= max_attempts) {
          self().give_up(c);
          continue;
        }
        ++outcome_.retries;
        c.target = usable(c.hint) && rng_.chance(70) ? c.hint : random_node();
        self().retrying(c);
      }
      submit(c);
    }
  }

  void maybe_copy(Client& c) {
    if (!rng_.chance(copy_percent_)) return;
    ++c.proposals;
    copies_.push_back({tick_ + 1 + rng_.below(120), c.bytes});
    ++outcome_.copies_sent;
  }

  bool settling_ = false;
  std::uint64_t settle_start_ = 0;
  std::uint64_t quiet_ticks_ = 0;
};

}  // namespace troupe::testing
