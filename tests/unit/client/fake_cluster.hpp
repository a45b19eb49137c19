#pragma once
/// Test double for kv_client: three scripted nodes and a simulated clock (no sockets, no sleeping).

#include <boost/test/unit_test.hpp>

#include <map>
#include <ostream>
#include <set>

#include "runtime/client/kv_client.hpp"

namespace troupe::client {
inline std::ostream& operator<<(std::ostream& o, kv_outcome k) { return o << to_string(k); }
}  // namespace troupe::client
namespace troupe::wire {
inline std::ostream& operator<<(std::ostream& o, client_error e) { return o << to_string(e); }
}  // namespace troupe::wire

namespace troupe::test {

using troupe::wire::client_error;


/// Three fake nodes "n1".."n3" sharing one store with a Raft-thesis-6.3 session table, so a retry
/// of an applied (client id, sequence) is answered from the table, never applied twice.
struct fake_cluster {
  std::chrono::steady_clock::time_point now{};
  std::vector<std::chrono::milliseconds> sleeps;
  int leader = 0;                 ///< index of the leader; -1: none
  bool hint = true;               ///< followers name the leader in notLeader
  std::set<int> unreachable;      ///< connect fails (errc::io)
  bool refuse = false;            ///< every connect is refused (errc::refused)
  int busy_replies = 0;           ///< the leader answers busy this many times first
  int drop_replies_after_apply = 0;  ///< the leader applies, then the reply is lost (timeout)
  int close_after_send = 0;       ///< the connection breaks before the request arrives
  bool apply_nothing = false;     ///< the leader never answers (its calls time out)
  std::map<std::string, std::string> store;
  std::uint64_t revision = 0;                   ///< raised by each put, swap and delete
  std::vector<troupe::wire::kv_event> history;  ///< every change, for `changes`
  std::uint64_t compacted = 0;                  ///< changes at or below this are gone
  int drop_read_replies = 0;                    ///< the next reads' replies are lost (timeout)
  std::map<std::uint64_t, std::pair<std::uint64_t, troupe::wire::client_reply>> sessions;
  int applied = 0;
  std::vector<std::pair<int, std::uint64_t>> seen;  ///< (node, sequence) of every request

  static std::string name(int i) { return "n" + std::to_string(i + 1); }

  troupe::client::client_clock clock() {
    return {[this] { return now; },
            [this](std::chrono::milliseconds d) {
              sleeps.push_back(d);
              now += d;
            }};
  }

  troupe::client::link_factory factory();

  troupe::result<troupe::wire::client_reply> handle(int node, const troupe::wire::client_request& r,
                                                     std::chrono::milliseconds deadline) {
    seen.emplace_back(node, r.sequence);
    troupe::wire::client_reply reply;
    reply.client_id = r.client_id;
    reply.sequence = r.sequence;
    if (close_after_send > 0) {
      --close_after_send;
      return troupe::make_error(troupe::errc::closed, "connection lost");
    }
    if (node != leader) {
      reply.error = leader < 0 ? client_error::unavailable : client_error::not_leader;
      if (leader >= 0 && hint) reply.leader_hint = troupe::wire::node_address{std::uint64_t(leader + 1), name(leader)};
      return reply;
    }
    if (apply_nothing) {
      now += deadline;
      return troupe::make_error(troupe::errc::timeout, "no reply in time");
    }
    if (busy_replies > 0) {
      --busy_replies;
      reply.error = client_error::busy;
      return reply;
    }
    if (troupe::client::is_read(r.body)) {  // reads skip the sessions
      apply(r, reply);
      if (drop_read_replies > 0) {
        --drop_read_replies;
        now += deadline;
        return troupe::make_error(troupe::errc::timeout, "no reply in time");
      }
      return reply;
    }
    auto s = sessions.find(r.client_id);
    if (s != sessions.end() && s->second.first == r.sequence) return s->second.second;
    if (s == sessions.end() && r.sequence != 1) {  // a session this cluster does not know
      reply.error = client_error::session_expired;
      return reply;
    }
    apply(r, reply);
    sessions[r.client_id] = {r.sequence, reply};
    if (drop_replies_after_apply > 0) {
      --drop_replies_after_apply;
      now += deadline;
      return troupe::make_error(troupe::errc::timeout, "no reply in time");
    }
    return reply;
  }

  void apply(const troupe::wire::client_request& r, troupe::wire::client_reply& reply) {
    using namespace troupe::wire;
    if (auto* p = std::get_if<kv_put>(&r.body)) {
      ++applied;
      store[p->key] = p->value;
      history.push_back({++revision, kv_event_kind::put, p->key, p->value, 0, 0});
    } else if (auto* t = std::get_if<kv_txn>(&r.body)) {
      // Enough of a transaction for the CLI: value and version compares, equal / not equal.
      bool hold = true;
      for (auto& cmp : t->compares) {
        auto it = store.find(cmp.key);
        bool eq = cmp.target == compare_target::value ? (it != store.end() && it->second == cmp.value)
                                                      : (it != store.end() ? 1u : 0u) == cmp.number;
        hold = hold && (cmp.op == compare_op::equal ? eq : !eq);
      }
      kv_txn_result out;
      out.succeeded = hold;
      bool wrote = false;
      for (auto& op : hold ? t->success : t->failure) {
        if (auto* p2 = std::get_if<kv_put>(&op)) {
          store[p2->key] = p2->value;
          wrote = true;
          out.results.emplace_back(std::monostate{});
        } else if (auto* d2 = std::get_if<kv_del>(&op)) {
          bool existed = store.erase(d2->key) > 0;
          wrote = wrote || existed;
          out.results.emplace_back(del_result{existed});
        } else if (auto* g2 = std::get_if<kv_get>(&op)) {
          auto it = store.find(g2->key);
          kv_txn_get_result gr;
          if (it != store.end()) gr = {true, {it->first, it->second, 1, 1, 1}};
          out.results.emplace_back(gr);
        }
      }
      if (wrote) ++revision;
      out.revision = revision;
      ++applied;
      reply.body = out;
    } else if (auto* rg = std::get_if<kv_range>(&r.body)) {
      kv_range_result out;
      out.revision = revision;
      for (auto it = store.upper_bound(rg->start_after); it != store.end(); ++it) {
        if (it->first.compare(0, rg->key.size(), rg->key) != 0) continue;
        if (rg->limit != 0 && out.entries.size() == rg->limit) {
          out.more = true;
          break;
        }
        out.entries.push_back({it->first, it->second, 1, 1, 1});
      }
      reply.body = out;
    } else if (auto* ch = std::get_if<kv_changes>(&r.body)) {
      kv_changes_result out;
      out.revision = revision;
      std::uint64_t from = ch->from_revision == 0 ? revision + 1 : ch->from_revision;
      if (from <= compacted) {
        reply.error = client_error::invalid_request;
        reply.error_message = "compacted";
        out.compacted = true;
        out.compacted_revision = compacted;
        reply.body = out;
        return;
      }
      out.next_revision = from;
      for (auto& e : history) {
        if (e.revision < from) continue;
        if (ch->limit != 0 && out.events.size() == ch->limit) {
          out.more = true;
          break;
        }
        if (e.key.compare(0, ch->key.size(), ch->key) == 0) out.events.push_back(e);
        out.next_revision = e.revision + 1;
      }
      reply.body = out;
    } else if (auto* g = std::get_if<kv_get>(&r.body)) {
      auto it = store.find(g->key);
      reply.body = it == store.end() ? kv_value{} : kv_value{true, it->second};
    } else if (auto* c = std::get_if<kv_cas>(&r.body)) {
      auto it = store.find(c->key);
      std::optional<std::string> cur;
      if (it != store.end()) cur = it->second;
      if (cur == c->expected) {
        ++applied;
        store[c->key] = c->new_value;
        history.push_back({++revision, kv_event_kind::put, c->key, c->new_value, 0, 0});
        reply.body = cas_result{true, {}};
      } else {
        reply.body = cas_result{false, cur};
      }
    } else if (auto* d = std::get_if<kv_del>(&r.body)) {
      ++applied;
      bool existed = store.erase(d->key) > 0;
      if (existed) history.push_back({++revision, kv_event_kind::del, d->key, {}, 0, 0});
      reply.body = del_result{existed};
    }
  }
};

struct fake_link final : troupe::client::node_link {
  fake_cluster* c;
  int node;
  fake_link(fake_cluster* cl, int n) : c(cl), node(n) {}
  std::uint64_t node_id() const override { return std::uint64_t(node + 1); }
  troupe::result<troupe::wire::client_reply> call(const troupe::wire::client_request& r,
                                                  std::chrono::milliseconds deadline) override {
    return c->handle(node, r, deadline);
  }
};

inline troupe::client::link_factory fake_cluster::factory() {
  return [this](const std::string& address, std::uint64_t client_id,
                std::chrono::milliseconds) -> troupe::result<std::unique_ptr<troupe::client::node_link>> {
    BOOST_REQUIRE_NE(client_id, 0u);
    if (refuse) return troupe::make_error(troupe::errc::refused, "wrong client secret");
    int i = address[1] - '1';
    if (unreachable.count(i) > 0) return troupe::make_error(troupe::errc::io, "connection refused");
    return std::unique_ptr<troupe::client::node_link>(std::make_unique<fake_link>(this, i));
  };
}

}  // namespace troupe::test
