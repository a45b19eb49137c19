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
#include "tests/sim/client_simulation.hpp"

namespace troupe::kv::testing {

namespace {

using raft::index_t;
using raft::node_id;
using troupe::testing::bytes_of;
using troupe::testing::decode_reply;

/// `id` is the session's client id: it changes on sessionExpired.
struct sim_client : troupe::testing::sim_client_base {
  std::size_t slot = 0;      ///< stable across sessions: names the client's own key
  bool own_key = false;      ///< the write goes to the client's own key (checked at the end)
  bool audit = false;        ///< the read lists every account (their sum must be 0)
  /// The accounts as this client last saw them (a transfer compares against these).
  std::map<std::string, std::int64_t> accounts;
  decltype(wire::client_request::body) body;
  std::string value;         ///< what a put to the own key writes
  /// Values the own key may hold now: the last acknowledged write's, plus every write with an
  /// unknown outcome issued after it (at most once and in sequence order, one of them is last).
  std::vector<std::optional<std::string>> allowed{std::nullopt};
};

class kv_simulation : public troupe::testing::client_simulation<kv_simulation, sim_client, kv_sim_outcome> {
  friend class troupe::testing::client_simulation<kv_simulation, sim_client, kv_sim_outcome>;

 public:
  explicit kv_simulation(const kv_sim_options& o)
      : client_simulation(o.nodes, troupe::testing::sim_raft_config(3, 1024), o.seed, o.seed * 0x2545f4914f6cdd1dULL + 5,
                          o.operations),
        options_(o) {
    kv_options_.sessions.max_sessions = o.max_sessions;
    machines_.resize(o.nodes + 1);
    cluster_.on_start = [this](node_id id) {
      machines_[id] = std::make_unique<kv_state_machine>(kv_options_);
      applications_[id].clear();
    };
    cluster_.on_apply = [this](node_id id, const raft::log_entry& e) { on_apply(id, e); };
    for (node_id id = 1; id <= o.nodes; ++id) {
      if (!machines_[id]) machines_[id] = std::make_unique<kv_state_machine>(kv_options_);
    }
    for (std::size_t i = 0; i < o.clients; ++i) {
      sim_client c;
      c.slot = i;
      c.id = next_client_id_++;
      clients_.push_back(std::move(c));
    }
  }

 private:
  /// After the clients, each step: the watcher polls a random node one time in five.
  void between_steps() {
    if (rng_.chance(20)) watch(random_node());
  }

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

  /// A read whose node applied its read index is answered.
  bool read_answered(sim_client& c) {
    if (c.is_read && c.have_index && usable(c.target) && cluster_.at(c.target).status().applied >= c.read_index) {
      finish_read(c);
      return true;
    }
    return false;
  }

  void retrying(sim_client&) {}

  void submit_read(sim_client& c) {
    c.rid = next_rid_++;
    if (!cluster_.read_index(c.target, c.rid)) redirect(c);
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
      return finished(c);
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
    finished(c);
  }

  void give_up(sim_client& c) {
    if (!c.is_read && c.own_key) c.allowed.push_back(c.value);
    gave_up(c);
  }

  void on_apply(node_id id, const raft::log_entry& e) {
    kv_state_machine& sm = *machines_[id];
    const std::string reply_bytes = sm.apply(e.index, e.data);
    const auto outcome = sm.last_outcome();
    outcomes_.emplace(e.index, outcome);
    if (!same_reply_everywhere(e.index, reply_bytes)) return;
    const auto reply = decode_reply(reply_bytes);
    if (!reply) return fail("a reply does not decode");
    const auto key = std::make_pair(reply->client_id, reply->sequence);
    switch (outcome) {
      case apply_outcome::applied:
        if (!applied_once(id, key)) return;
        break;
      case apply_outcome::duplicate: ++outcome_.duplicates; break;
      case apply_outcome::stale: ++outcome_.stale; break;
      case apply_outcome::expired: ++outcome_.expired; break;
      case apply_outcome::invalid: return fail("a client's request was invalid: " + reply->error_message);
    }
    outcome_.evictions = std::max<std::uint64_t>(outcome_.evictions, sm.sessions().evictions());
    answer_clients(id, e, *reply);
  }

  void client_answer(sim_client& c, const wire::client_reply& reply) {
    switch (reply.error) {
      case wire::client_error::ok:
      case wire::client_error::cas_mismatch:
        if (const auto* txn = std::get_if<wire::kv_txn_result>(&reply.body)) learn(c, *txn);
        if (c.own_key) c.allowed = {c.value};
        return finished(c);
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
  std::vector<std::unique_ptr<kv_state_machine>> machines_;
  std::map<index_t, apply_outcome> outcomes_;
  std::uint64_t watch_next_ = 1;
  std::vector<wire::kv_event> watched_;
  static constexpr std::uint64_t accounts = 4;
  std::uint64_t next_client_id_ = 1000;
};

}  // namespace

kv_sim_outcome run_kv_simulation(const kv_sim_options& options) { return kv_simulation(options).run(); }

}  // namespace troupe::kv::testing
