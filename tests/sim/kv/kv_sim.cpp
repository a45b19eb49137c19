#include "tests/sim/kv/kv_sim.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "examples/kv/kv_state_machine.hpp"
#include "runtime/wire/client_codec.hpp"
#include "tests/scenario/raft/raft_cluster.hpp"
#include "tests/sim/client_steps.hpp"

namespace troupe::kv::testing {

namespace {

using raft::index_t;
using raft::node_id;
using raft::testing::cluster;
using raft::testing::rng;

constexpr std::uint64_t request_timeout_ticks = 40;
constexpr int max_attempts = 6;
constexpr std::uint64_t max_ticks = 30'000;
constexpr std::uint64_t settle_ticks = 5'000;

using troupe::testing::bytes_of;
using troupe::testing::decode_reply;
using troupe::testing::delayed_copy;

struct sim_client {
  std::size_t slot = 0;      ///< stable across sessions: names the client's own key
  std::uint64_t id = 0;      ///< the session's client id (changes on sessionExpired)
  std::uint64_t seq = 0;
  bool busy = false;
  bool is_read = false;
  bool own_key = false;      ///< the write goes to the client's own key (checked at the end)
  bool audit = false;        ///< the read lists every account (their sum must be 0)
  /// The accounts as this client last saw them (a transfer compares against these).
  std::map<std::string, std::int64_t> accounts;
  decltype(wire::client_request::body) body;
  std::string bytes;         ///< the current request, encoded: every retry and copy sends these
  std::string value;         ///< what a put to the own key writes
  node_id target = raft::no_node;
  node_id hint = raft::no_node;
  index_t index = 0;         ///< where the current attempt's proposal landed on `target`
  std::uint64_t deadline = 0;
  int attempts = 0;
  bool submitted = false;
  int proposals = 0;  ///< attempts and copies of the current request that may have reached a log
  std::uint64_t rid = 0;
  bool have_index = false;
  index_t read_index = 0;
  /// Values the own key may hold now: the last acknowledged write's, plus every write with an
  /// unknown outcome issued after it (at most once and in sequence order, one of them is last).
  std::vector<std::optional<std::string>> allowed{std::nullopt};
};

class kv_simulation {
 public:
  explicit kv_simulation(const kv_sim_options& o)
      : options_(o), rng_(o.seed * 0x2545f4914f6cdd1dULL + 5), cluster_(o.nodes, troupe::testing::sim_raft_config(3, 1024), o.seed) {
    kv_options_.sessions.max_sessions = o.max_sessions;
    machines_.resize(o.nodes + 1);
    applications_.resize(o.nodes + 1);
    cluster_.on_start = [this](node_id id) {
      machines_[id] = std::make_unique<kv_state_machine>(kv_options_);
      applications_[id].clear();
    };
    cluster_.on_apply = [this](node_id id, const raft::log_entry& e) { on_apply(id, e); };
    cluster_.on_read = [this](node_id id, const raft::read_state& r) {
      troupe::testing::note_read_index(clients_, id, r);
    };
    cluster_.on_read_dropped = [this](node_id id, std::uint64_t rid) {
      troupe::testing::retry_dropped_read(clients_, id, rid, tick_);
    };
    for (node_id id = 1; id <= o.nodes; ++id) {
      if (!machines_[id]) machines_[id] = std::make_unique<kv_state_machine>(kv_options_);
    }
    for (std::size_t i = 0; i < o.clients; ++i) {
      sim_client c;
      c.slot = i;
      c.id = next_client_id_++;
      clients_.push_back(std::move(c));
    }
    copy_percent_ = troupe::testing::random_network(cluster_, rng_);
  }

  kv_sim_outcome run() {
    for (; tick_ < max_ticks && !failed(); ++tick_) {
      if (finished_ops_ < options_.operations) {
        inject_faults();
        start_operations();
      } else if (!settling_) {
        settle();
      }
      deliver_copies();
      drive_clients();
      if (rng_.chance(20)) watch(random_node());
      cluster_.tick();
      troupe::testing::deliver_some(cluster_, rng_);
      if (settling_ && quiet()) {
        if (++quiet_ticks_ > 60) break;
      } else {
        quiet_ticks_ = 0;
      }
      if (settling_ && tick_ > settle_start_ + settle_ticks) fail("the cluster did not settle after the faults stopped");
    }
    if (!cluster_.violations().empty()) fail("raft invariant: " + cluster_.violations().front());
    if (!failed() && !settling_) fail("ran out of ticks");
    if (!failed()) final_checks();
    outcome_.ticks = tick_;
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
  bool usable(node_id id) const { return id != raft::no_node && cluster_.is_up(id); }
  node_id random_node() { return 1 + rng_.below(options_.nodes); }

  // ---- faults ----
  void inject_faults() {
    std::uint64_t partitions = 0;
    troupe::testing::inject_faults(cluster_, rng_, options_.nodes, outcome_.crashes, partitions);
  }

  void settle() {
    settling_ = true;
    settle_start_ = tick_;
    cluster_.stop_faults();
  }

  bool quiet() { return troupe::testing::quiet(cluster_, options_.nodes, clients_, copies_); }

  // ---- the client side of the network: copies made and delayed ----
  void maybe_copy(sim_client& c) {
    if (!rng_.chance(copy_percent_)) return;
    ++c.proposals;
    const std::string& bytes = c.bytes;
    copies_.push_back({tick_ + 1 + rng_.below(120), bytes});
    ++outcome_.copies_sent;
  }

  void deliver_copies() { troupe::testing::deliver_copies(cluster_, rng_, options_.nodes, copies_, tick_); }

  // ---- clients ----
  void start_operations() {
    for (auto& c : clients_) {
      if (c.busy || started_ops_ >= options_.operations || !rng_.chance(30)) continue;
      ++started_ops_;
      c.busy = true;
      c.attempts = 0;
      c.submitted = false;
      c.have_index = false;
      c.target = usable(c.hint) && rng_.chance(85) ? c.hint : random_node();
      const auto dice = rng_.below(100);
      const std::string own = "own/" + std::to_string(c.slot);
      c.audit = false;
      if (dice < 20) {
        c.is_read = true;
        c.audit = dice < 8;
        if (c.audit) {
          c.body = wire::kv_range{"acct/", true, "", 0, false, wire::read_consistency::linearizable};
        } else {
          c.body = wire::kv_get{own, wire::read_consistency::linearizable};
        }
        encode(c, c.seq);  // reads are not in the log: no sequence of their own
        ++outcome_.reads;
        continue;
      }
      c.is_read = false;
      c.own_key = dice < 60;
      if (dice >= 85) {
        c.body = transfer(c);
        c.proposals = 0;
        encode(c, ++c.seq);
        continue;
      }
      if (c.own_key) {
        // A value that counts: the previous known value with this write's tag appended.
        const auto& last = c.allowed.front();
        c.value = last.value_or("") + "," + std::to_string(c.slot) + "." + std::to_string(started_ops_);
        c.body = wire::kv_put{own, c.value};
      } else {
        const std::string shared = "shared/" + std::to_string(rng_.below(3));
        const auto kind = rng_.below(3);
        if (kind == 0) c.body = wire::kv_put{shared, std::to_string(started_ops_)};
        if (kind == 1) c.body = wire::kv_cas{shared, std::to_string(rng_.below(started_ops_ + 1)), "c"};
        if (kind == 2) c.body = wire::kv_del{shared};
      }
      c.proposals = 0;
      encode(c, ++c.seq);
    }
  }

  /// Moves 1 from one account to another if both still hold what this client last saw: a
  /// multi-key transaction whose atomicity keeps the sum of all accounts at 0.
  wire::kv_txn transfer(sim_client& c) {
    const std::string from = "acct/" + std::to_string(rng_.below(accounts));
    std::string to = "acct/" + std::to_string(rng_.below(accounts));
    if (to == from) to = "acct/" + std::to_string((from.back() - '0' + 1) % accounts);
    wire::kv_txn txn;
    auto expect = [&](const std::string& key) -> std::int64_t {
      auto it = c.accounts.find(key);
      if (it == c.accounts.end()) {
        txn.compares.push_back({key, wire::compare_op::equal, wire::compare_target::version, "", 0});
        return 0;
      }
      txn.compares.push_back({key, wire::compare_op::equal, wire::compare_target::value, std::to_string(it->second), 0});
      return it->second;
    };
    const std::int64_t a = expect(from), b = expect(to);
    txn.success = {wire::kv_put{from, std::to_string(a - 1)}, wire::kv_put{to, std::to_string(b + 1)}};
    txn.failure = {wire::kv_get{from, wire::read_consistency::linearizable},
                   wire::kv_get{to, wire::read_consistency::linearizable}};
    ++outcome_.transfers;
    return txn;
  }

  void encode(sim_client& c, std::uint64_t sequence) {
    wire::client_request r;
    r.client_id = c.id;
    r.sequence = sequence;
    r.group_id = 3;
    r.body = c.body;
    c.bytes = bytes_of(wire::encode(r));
  }

  void drive_clients() {
    for (auto& c : clients_) {
      if (!c.busy) continue;
      if (c.is_read && c.have_index && usable(c.target) && cluster_.at(c.target).status().applied >= c.read_index) {
        finish_read(c);
        continue;
      }
      if (c.submitted && tick_ < c.deadline) continue;
      if (c.submitted) {
        if (++c.attempts >= max_attempts) {
          give_up(c);
          continue;
        }
        ++outcome_.retries;
        c.target = usable(c.hint) && rng_.chance(70) ? c.hint : random_node();
      }
      submit(c);
    }
  }

  void submit(sim_client& c) {
    c.submitted = false;
    c.have_index = false;
    if (!usable(c.target)) {
      c.target = random_node();
      return;
    }
    c.submitted = true;
    c.deadline = tick_ + request_timeout_ticks;
    if (c.is_read) {
      c.rid = next_rid_++;
      if (!cluster_.read_index(c.target, c.rid)) redirect(c);
      return;
    }
    maybe_copy(c);  // the network may deliver this request twice, later
    c.index = 0;
    auto r = cluster_.propose(c.target, c.bytes);
    if (!r) {
      redirect(c);
      return;
    }
    ++c.proposals;
    c.hint = c.target;
    c.index = *r;  // nothing commits inside propose: no quorum of one here
  }

  void redirect(sim_client& c) {
    c.submitted = false;
    c.hint = cluster_.is_up(c.target) ? cluster_.at(c.target).status().leader : raft::no_node;
    c.target = usable(c.hint) ? c.hint : random_node();
  }

  void finish_read(sim_client& c) {
    const auto reply = decode_reply(machines_[c.target]->query(c.bytes));
    if (!reply) return fail("a query reply does not decode");
    if (c.audit) {
      if (reply->error != wire::client_error::ok) return fail("an audit was refused: " + reply->error_message);
      std::int64_t sum = 0;
      c.accounts.clear();
      for (const auto& e : std::get<wire::kv_range_result>(reply->body).entries) {
        sum += std::stoll(e.value);
        c.accounts[e.key] = std::stoll(e.value);
      }
      if (sum != 0) return fail("an audit saw the accounts sum to " + std::to_string(sum) + ": a transaction half applied");
      c.busy = false;
      ++finished_ops_;
      ++outcome_.acknowledged;
      return;
    }
    std::optional<std::string> seen;
    if (reply->error == wire::client_error::ok) {
      seen = std::get<wire::kv_value>(reply->body).value;
    } else if (reply->error != wire::client_error::no_such_key) {
      return fail(std::string("a get was refused: ") + wire::to_string(reply->error));
    }
    if (std::find(c.allowed.begin(), c.allowed.end(), seen) == c.allowed.end()) {
      return fail("client " + std::to_string(c.slot) + " read " + seen.value_or("<absent>") +
                  " from its own key, which no write of its own explains");
    }
    c.busy = false;
    ++finished_ops_;
    ++outcome_.acknowledged;
  }

  void give_up(sim_client& c) {
    if (!c.is_read && c.own_key) c.allowed.push_back(c.value);
    c.busy = false;
    ++finished_ops_;
    ++outcome_.unknown;
  }

  void on_apply(node_id id, const raft::log_entry& e) {
    kv_state_machine& sm = *machines_[id];
    const std::string reply_bytes = sm.apply(e.index, e.data);
    const auto outcome = sm.last_outcome();
    // Every replica gives the same reply for the same log entry (Raft §5: deterministic machines).
    outcomes_.emplace(e.index, outcome);
    auto [it, inserted] = replies_.emplace(e.index, reply_bytes);
    if (!inserted && it->second != reply_bytes) {
      return fail("replicas answered entry " + std::to_string(e.index) + " differently");
    }
    const auto reply = decode_reply(reply_bytes);
    if (!reply) return fail("a reply does not decode");
    const auto key = std::make_pair(reply->client_id, reply->sequence);
    switch (outcome) {
      case apply_outcome::applied:
        // Thesis 6.3: each (client, sequence) is applied at most once (per replica incarnation:
        // a restarted replica starts empty and applies the log again from index 1).
        if (++applications_[id][key] > 1) {
          return fail("node " + std::to_string(id) + " applied client " + std::to_string(key.first) +
                      " sequence " + std::to_string(key.second) + " twice");
        }
        ++outcome_.applied;
        break;
      case apply_outcome::duplicate: ++outcome_.duplicates; break;
      case apply_outcome::stale: ++outcome_.stale; break;
      case apply_outcome::expired: ++outcome_.expired; break;
      case apply_outcome::invalid: return fail("a client's request was invalid: " + reply->error_message);
    }
    outcome_.evictions = std::max<std::uint64_t>(outcome_.evictions, sm.sessions().evictions());
    for (auto& c : clients_) {
      if (!c.busy || c.is_read || !c.submitted || c.target != id || c.index != e.index) continue;
      if (e.data != c.bytes) {
        c.deadline = tick_;  // our proposal was overwritten by another leader's entry: retry now
        continue;
      }
      client_answer(c, *reply);
    }
  }

  void client_answer(sim_client& c, const wire::client_reply& reply) {
    switch (reply.error) {
      case wire::client_error::ok:
      case wire::client_error::cas_mismatch:
        if (const auto* txn = std::get_if<wire::kv_txn_result>(&reply.body)) learn(c, *txn);
        if (c.own_key) c.allowed = {c.value};
        c.busy = false;
        ++finished_ops_;
        ++outcome_.acknowledged;
        return;
      case wire::client_error::session_expired: {
        // Our session was evicted. A new session cannot tell whether an earlier copy of this
        // request was applied: if one may have been, the outcome is unknown.
        c.id = next_client_id_++;
        c.seq = 0;
        ++outcome_.new_sessions;
        if (c.proposals > 1) {
          give_up(c);
          return;
        }
        c.proposals = 0;
        encode(c, ++c.seq);
        c.submitted = false;
        return;
      }
      default:
        return fail(std::string("client's current request refused with ") + wire::to_string(reply.error) +
                    ": " + reply.error_message);
    }
  }

  /// What a transfer's answer tells about the accounts.
  void learn(sim_client& c, const wire::kv_txn_result& r) {
    const auto& t = std::get<wire::kv_txn>(c.body);
    if (r.succeeded) {
      ++outcome_.transfers_succeeded;
      for (const auto& op : t.success) {
        const auto& put = std::get<wire::kv_put>(op);
        c.accounts[put.key] = std::stoll(put.value);
      }
      return;
    }
    for (const auto& res : r.results) {
      const auto& got = std::get<wire::kv_txn_get_result>(res);
      if (got.found) c.accounts[got.entry.key] = std::stoll(got.entry.value);
    }
  }

  // ---- the watcher ----
  /// Asks `id` for the changes since the watcher's next revision, whatever that node's progress (a
  /// watcher moving between nodes across crashes and leader changes), and checks that the pages
  /// continue each other: every revision once, in order, none skipped (all keys are watched, so
  /// every revision has events).
  void watch(node_id id) {
    if (!usable(id) || failed()) return;
    wire::client_request r;
    r.body = wire::kv_changes{"", true, watch_next_, static_cast<std::uint32_t>(1 + rng_.below(20)),
                              wire::read_consistency::follower};
    const auto reply = decode_reply(machines_[id]->query(bytes_of(wire::encode(r))));
    if (!reply || reply->error != wire::client_error::ok) return fail("a changes query failed");
    const auto& page = std::get<wire::kv_changes_result>(reply->body);
    for (const auto& e : page.events) {
      const std::uint64_t last = watched_.empty() ? 0 : watched_.back().revision;
      if (e.revision != last && e.revision != last + 1) {
        return fail("the watcher got revision " + std::to_string(e.revision) + " after " + std::to_string(last));
      }
      if (e.revision < watch_next_) return fail("the watcher got revision " + std::to_string(e.revision) + " twice");
      watched_.push_back(e);
    }
    if (page.next_revision < watch_next_) return fail("the watcher's next revision went back");
    watch_next_ = page.next_revision;
    ++outcome_.watch_polls;
  }

  /// The watcher's events replayed give the final data, up to the final revision.
  std::string check_watcher(const kv_state_machine& replica) {
    for (int pages = 0; watch_next_ <= replica.store().revision() && pages < 100'000; ++pages) watch(1);
    if (failed()) return outcome_.failure;
    std::map<std::string, std::string> replayed;
    for (const auto& e : watched_) {
      if (e.kind == wire::kv_event_kind::put) {
        replayed[e.key] = e.value;
      } else {
        replayed.erase(e.key);
      }
    }
    std::map<std::string, std::string> data;
    for (const auto& [key, rec] : replica.store().data()) data[key] = rec.value;
    if (replayed != data) return "the watcher's events do not add up to the final data";
    if (!watched_.empty() && watched_.back().revision != replica.store().revision()) {
      return "the watcher missed the last revisions";
    }
    return {};
  }

  // ---- the end ----
  void final_checks() {
    cluster_.check_log_matching();
    if (!cluster_.violations().empty()) return fail("raft invariant: " + cluster_.violations().front());
    const kv_state_machine& first = *machines_[1];
    for (node_id id = 2; id <= options_.nodes; ++id) {
      const kv_state_machine& other = *machines_[id];
      if (other.applied_index() != first.applied_index()) return fail("replicas applied different indexes");
      if (other.store().data() != first.store().data() || other.store().revision() != first.store().revision()) {
        return fail("replicas diverged: node " + std::to_string(id) + " differs from node 1");
      }
      if (other.sessions().size() != first.sessions().size()) return fail("session tables diverged");
    }
    std::int64_t sum = 0;
    for (const auto& [key, rec] : first.store().data()) {
      if (key.rfind("acct/", 0) == 0) sum += std::stoll(rec.value);
    }
    if (sum != 0) return fail("the accounts sum to " + std::to_string(sum) + " at the end");
    if (auto problem = check_against_model(first); !problem.empty()) return fail(problem);
    if (auto problem = check_watcher(first); !problem.empty()) return fail(problem);
    for (const auto& c : clients_) {
      const key_record* rec = first.store().find("own/" + std::to_string(c.slot));
      const std::optional<std::string> value = rec ? std::optional<std::string>(rec->value) : std::nullopt;
      if (std::find(c.allowed.begin(), c.allowed.end(), value) == c.allowed.end()) {
        return fail("client " + std::to_string(c.slot) + "'s key holds " + value.value_or("<absent>") +
                    ", which is not the value of its last acknowledged write nor of a later unknown one");
      }
    }
  }

  /// Replays the committed log through a plain model of the whole key space (a std::map and the
  /// semantics of put, cas, del and txn written out again, no revisions), taking the session
  /// table's verdict per entry as given (checked separately), and compares every reply and the
  /// final data with it.
  std::string check_against_model(const kv_state_machine& replica) {
    std::map<std::string, std::string> model;
    for (const auto& [index, e] : cluster_.invariants().committed()) {
      if (e.type != raft::entry_type::normal) continue;
      auto o = outcomes_.find(index);
      if (o == outcomes_.end()) return "committed entry " + std::to_string(index) + " was never applied";
      if (o->second != apply_outcome::applied) continue;
      const auto msg = wire::message::parse(std::as_bytes(std::span(e.data.data(), e.data.size())));
      const auto req = msg ? wire::decode_client_request(*msg) : result<wire::client_request>(msg.err());
      const auto reply = decode_reply(replies_.at(index));
      if (!req || !reply) return "entry " + std::to_string(index) + " does not decode";
      const std::string at = " at index " + std::to_string(index);
      if (const auto* put = std::get_if<wire::kv_put>(&req->body)) {
        model[put->key] = put->value;
      } else if (const auto* del = std::get_if<wire::kv_del>(&req->body)) {
        const bool existed = model.erase(del->key) > 0;
        if (std::get<wire::del_result>(reply->body).existed != existed) return "del disagrees with the model" + at;
      } else if (const auto* cas = std::get_if<wire::kv_cas>(&req->body)) {
        auto it = model.find(cas->key);
        const bool swap = cas->expected ? it != model.end() && it->second == *cas->expected : it == model.end();
        if (swap) model[cas->key] = cas->new_value;
        if (std::get<wire::cas_result>(reply->body).succeeded != swap) return "cas disagrees with the model" + at;
      } else if (const auto* txn = std::get_if<wire::kv_txn>(&req->body)) {
        bool hold = true;
        for (const auto& c : txn->compares) {
          auto it = model.find(c.key);
          if (c.target == wire::compare_target::value) {
            hold = hold && it != model.end() && it->second == c.value;  // the sim only uses equal
          } else {
            hold = hold && it == model.end();  // version == 0: absent
          }
        }
        if (std::get<wire::kv_txn_result>(reply->body).succeeded != hold) return "txn disagrees with the model" + at;
        for (const auto& op : hold ? txn->success : txn->failure) {
          if (const auto* p = std::get_if<wire::kv_put>(&op)) model[p->key] = p->value;
        }
      }
    }
    std::map<std::string, std::string> data;
    for (const auto& [key, rec] : replica.store().data()) data[key] = rec.value;
    if (data != model) return "the replicas' data differs from the model's";
    return {};
  }

  kv_sim_options options_;
  kv_options kv_options_;
  rng rng_;
  cluster cluster_;
  std::vector<std::unique_ptr<kv_state_machine>> machines_;
  std::vector<std::map<std::pair<std::uint64_t, std::uint64_t>, int>> applications_;
  std::map<index_t, std::string> replies_;
  std::map<index_t, apply_outcome> outcomes_;
  std::uint64_t watch_next_ = 1;
  std::vector<wire::kv_event> watched_;
  static constexpr std::uint64_t accounts = 4;
  std::vector<sim_client> clients_;
  std::vector<delayed_copy> copies_;
  std::uint32_t copy_percent_ = 20;
  std::uint64_t next_client_id_ = 1000;
  std::uint64_t next_rid_ = 1;
  std::uint64_t tick_ = 0;
  std::size_t started_ops_ = 0;
  std::size_t finished_ops_ = 0;
  bool settling_ = false;
  std::uint64_t settle_start_ = 0;
  std::uint64_t quiet_ticks_ = 0;
  kv_sim_outcome outcome_;
};

}  // namespace

kv_sim_outcome run_kv_simulation(const kv_sim_options& options) { return kv_simulation(options).run(); }

}  // namespace troupe::kv::testing
