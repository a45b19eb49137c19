#pragma once
/// A deterministic, single-threaded world for the checkpoint cores: participants running a bank
/// (each holds a balance and sends transfers), FIFO channels as queues, a coordinator with FIFO
/// links to every participant. The test decides every step (which channel delivers next), so a
/// scenario is exact and a seeded random schedule replays exactly. Every step checks both cores'
/// invariants.
///
/// Each participant's captured local state holds what the oracle needs: its balance, its vector
/// clock and, per channel, how many envelopes it had sent and received when it recorded.

#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/clocks/vector_clock.hpp"
#include "snapshot/core/coordinator.hpp"
#include "snapshot/core/participant.hpp"

namespace troupe::checkpoint {

// Printable for Boost.Test messages; found by argument-dependent lookup.
inline std::ostream& operator<<(std::ostream& os, checkpoint_status s) {
  return os << to_string(s);
}
inline std::ostream& operator<<(std::ostream& os, command_kind k) {
  return os << static_cast<int>(k);
}

}  // namespace troupe::checkpoint

namespace troupe::checkpoint::testing {

/// What one participant had when it recorded, decoded from its local state bytes.
struct bank_state {
  std::int64_t balance = 0;
  clocks::vector_clock clock;
  std::map<participant_id, std::uint64_t> sent;      ///< envelopes sent per outgoing channel
  std::map<participant_id, std::uint64_t> received;  ///< envelopes delivered per incoming channel
};

/// A participant whose channels to and from `peers` are declared up front.
inline participant_config declared(participant_id self, std::vector<participant_id> peers) {
  participant_config c;
  c.self = self;
  c.incoming = peers;
  c.outgoing = peers;
  return c;
}

inline void put(bytes& out, std::uint64_t v) {
  char raw[8];
  std::memcpy(raw, &v, 8);
  out.insert(out.end(), raw, raw + 8);
}

inline std::uint64_t take(const bytes& in, std::size_t& at) {
  if (at + 8 > in.size()) throw std::runtime_error("truncated bank state");
  std::uint64_t v = 0;
  std::memcpy(&v, in.data() + at, 8);
  at += 8;
  return v;
}

inline bytes encode(const bank_state& s) {
  bytes out;
  put(out, static_cast<std::uint64_t>(s.balance));
  const auto entries = s.clock.entries();
  put(out, entries.size());
  for (const auto& [id, c] : entries) {
    put(out, id);
    put(out, c);
  }
  for (const auto* counts : {&s.sent, &s.received}) {
    put(out, counts->size());
    for (const auto& [id, n] : *counts) {
      put(out, id);
      put(out, n);
    }
  }
  return out;
}

inline bank_state decode(const bytes& in) {
  bank_state s;
  std::size_t at = 0;
  s.balance = static_cast<std::int64_t>(take(in, at));
  std::vector<clocks::vector_clock::entry> entries(take(in, at));
  for (auto& e : entries) {
    e.first = take(in, at);
    e.second = take(in, at);
  }
  s.clock = clocks::vector_clock::from_entries(entries);
  for (auto* counts : {&s.sent, &s.received}) {
    const auto n = take(in, at);
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto id = take(in, at);
      (*counts)[id] = take(in, at);
    }
  }
  return s;
}

/// The amount a transfer envelope carries.
inline std::int64_t amount_of(const envelope& e) {
  std::size_t at = 0;
  return static_cast<std::int64_t>(take(e.payload, at));
}

/// A queued item on a channel: an envelope or a marker, in send order.
struct channel_item {
  std::optional<envelope> message;
  std::optional<marker> mark;
};

class world {
 public:
  explicit world(coordinator_config config) : coordinator_(config) {}

  /// Adds a participant holding `balance`. `config.self` names it.
  void add(participant_config config, std::int64_t balance) {
    const auto id = config.self;
    auto& app = apps_[id];
    app.state.balance = balance;
    app.core =
        std::make_unique<participant>(std::move(config), [&app] { return encode(app.state); });
    commands_[id];
  }

  participant& core(participant_id p) { return *apps_.at(p).core; }
  bank_state& app(participant_id p) { return apps_.at(p).state; }
  coordinator& coord() { return coordinator_; }
  std::uint64_t now() const { return now_; }
  void advance(std::uint64_t ticks) {
    now_ += ticks;
    carry_out(coordinator_.on_tick(now_));
  }

  /// `from` sends a transfer of `amount` to `to` (payload padded by `padding` bytes).
  void transfer(participant_id from, participant_id to, std::int64_t amount,
                std::size_t padding = 0) {
    auto& app = apps_.at(from);
    app.state.balance -= amount;
    app.state.clock.tick(from);
    app.state.sent[to] += 1;
    envelope e;
    put(e.payload, static_cast<std::uint64_t>(amount));
    e.payload.resize(e.payload.size() + padding, 'x');
    for (const auto& [id, c] : app.state.clock.entries()) e.vector_clock.push_back({id, c});
    auto stamped = app.core->stamp(to, std::move(e));
    auto& channel = channels_[{from, to}];
    for (auto& m : stamped.markers) channel.push_back({std::nullopt, m});
    channel.push_back({std::move(stamped.message), std::nullopt});
    check();
  }

  /// Delivers the head of channel `c`; false when it is empty.
  bool deliver(channel_id c) {
    auto it = channels_.find(c);
    if (it == channels_.end() || it->second.empty()) return false;
    auto item = std::move(it->second.front());
    it->second.pop_front();
    auto& app = apps_.at(c.to);
    if (item.mark) {
      carry_out(c.to, app.core->on_marker(*item.mark));
    } else {
      carry_out(c.to, app.core->on_envelope(*item.message));
      // Delivery after the step's outputs: the core never holds an envelope back.
      app.state.balance += amount_of(*item.message);
      app.state.received[c.from] += 1;
      std::vector<clocks::vector_clock::entry> stamp;
      for (const auto& e : item.message->vector_clock) stamp.emplace_back(e.participant, e.counter);
      app.state.clock.receive(c.to, clocks::vector_clock::from_entries(stamp));
    }
    check();
    return true;
  }

  /// Delivers the next coordinator command for `p`; false when none.
  bool deliver_command(participant_id p) {
    auto& q = commands_.at(p);
    if (q.empty()) return false;
    auto command = q.front();
    q.pop_front();
    carry_out(p, apps_.at(p).core->on_command(command));
    check();
    return true;
  }

  /// Delivers the next report to the coordinator; false when none.
  bool deliver_report() {
    if (reports_.empty()) return false;
    auto report = std::move(reports_.front());
    reports_.pop_front();
    if (report.kind == report_kind::late_channels) ++late_reports_;
    carry_out(coordinator_.on_report(report, now_));
    check();
    return true;
  }

  /// Starts checkpoint `id`; throws on a refusal the test did not expect.
  void start(checkpoint_id id, participant_id initiator) {
    if (!try_start(id, initiator)) throw std::runtime_error("start refused");
  }

  /// Starts checkpoint `id` over every participant; false when the coordinator refuses (busy).
  bool try_start(checkpoint_id id, participant_id initiator) {
    std::vector<participant_id> members;
    for (const auto& [p, app] : apps_) members.push_back(p);
    auto out = coordinator_.start(id, initiator, members, now_);
    if (!out) return false;
    carry_out(std::move(*out));
    check();
    return true;
  }

  /// The coordinator's failure detector reports `lost`.
  void participant_lost(participant_id lost) {
    carry_out(coordinator_.on_participant_lost(lost, now_));
    check();
  }

  void peer_lost(participant_id observer, participant_id lost) {
    carry_out(observer, apps_.at(observer).core->on_peer_lost(lost));
    check();
  }

  /// Delivers everything (commands, reports, channels in id order) until nothing moves.
  void drain() {
    for (bool moved = true; moved;) {
      moved = false;
      for (auto& [p, q] : commands_) moved |= deliver_command(p);
      while (deliver_report()) moved = true;
      for (auto& [c, q] : channels_) {
        while (deliver(c)) moved = true;
      }
    }
  }

  std::map<channel_id, std::deque<channel_item>>& channels() { return channels_; }
  std::map<participant_id, std::deque<checkpoint_command>>& commands() { return commands_; }
  std::deque<participant_report>& reports() { return reports_; }
  /// Outcomes in the order the coordinator decided them.
  const std::vector<checkpoint_outcome>& outcomes() const { return outcomes_; }
  const checkpoint_outcome* outcome(checkpoint_id id) const {
    for (const auto& o : outcomes_) {
      if (o.id == id) return &o;
    }
    return nullptr;
  }
  /// The outcome of `id`; throws when it has not finished.
  const checkpoint_outcome& finished_outcome(checkpoint_id id) const {
    for (const auto& o : outcomes_) {
      if (o.id == id) return o;
    }
    throw std::runtime_error("checkpoint " + std::to_string(id) + " has not finished");
  }
  std::size_t late_reports() const { return late_reports_; }
  /// Every report a participant sent, in order (for assertions on statuses).
  const std::vector<participant_report>& report_log() const { return report_log_; }

 private:
  struct application {
    bank_state state;
    std::unique_ptr<participant> core;
  };

  void carry_out(participant_id p, participant_output out) {
    for (auto& m : out.markers) {
      if (m.from != p) throw std::logic_error("marker from the wrong participant");
      channels_[{m.from, m.to}].push_back({std::nullopt, m});
    }
    for (auto& r : out.reports) {
      report_log_.push_back(r);
      reports_.push_back(std::move(r));
    }
  }

  void carry_out(coordinator_output out) {
    for (auto& c : out.commands) commands_.at(c.to).push_back(c.command);
    for (auto& o : out.finished) outcomes_.push_back(std::move(o));
  }

  void check() const {
    for (const auto& [p, app] : apps_) {
      if (auto s = app.core->check_invariants(); !s) throw std::logic_error(s.err().message);
    }
    if (auto s = coordinator_.check_invariants(); !s) throw std::logic_error(s.err().message);
  }

  coordinator coordinator_;
  std::uint64_t now_ = 0;
  std::map<participant_id, application> apps_;
  std::map<channel_id, std::deque<channel_item>> channels_;
  std::map<participant_id, std::deque<checkpoint_command>> commands_;
  std::deque<participant_report> reports_;
  std::vector<participant_report> report_log_;
  std::vector<checkpoint_outcome> outcomes_;
  std::size_t late_reports_ = 0;
};

/// The oracle for a complete checkpoint of a bank world. Empty when the cut is right; otherwise
/// says what is wrong. Checks (Chandy & Lamport 1985, section 3, "the recorded global state"):
///  - consistency by vector clocks: no participant's recorded clock has seen more of p's events
///  than p
///    itself had when it recorded (no message received inside the cut whose send is outside it);
///  - every channel's recorded state is exactly the envelopes sent before the sender recorded and
///    received after the receiver recorded, in order;
///  - money: recorded balances plus recorded transfers equal `total`.
inline std::string check_cut(const global_state& g, std::int64_t total) {
  std::map<participant_id, bank_state> states;
  for (const auto& [p, raw] : g.local_states) states[p] = decode(raw);
  std::string problems;
  for (const auto& [p, sp] : states) {
    for (const auto& [q, sq] : states) {
      if (sq.clock.get(p) > sp.clock.get(p)) {
        problems += "participant " + std::to_string(q) + " saw event " +
                    std::to_string(sq.clock.get(p)) + " of " + std::to_string(p) +
                    " which recorded at " + std::to_string(sp.clock.get(p)) + "; ";
      }
    }
  }
  std::int64_t sum = 0;
  for (const auto& [p, s] : states) sum += s.balance;
  std::map<channel_id, bool> channels;
  for (const auto& [c, messages] : g.channels) channels[c] = true;
  for (const auto& [p, s] : states) {
    for (const auto& [to, n] : s.sent) channels[{p, to}] = true;
  }
  for (const auto& [c, ignored] : channels) {
    const auto name = std::to_string(c.from) + "->" + std::to_string(c.to);
    if (!states.contains(c.from) || !states.contains(c.to)) {
      problems += "channel " + name + " outside the checkpoint; ";
      continue;
    }
    const auto sent = states[c.from].sent[c.to];
    const auto received = states[c.to].received[c.from];
    if (received > sent) problems += "channel " + name + ": orphan message; ";
    std::vector<std::uint64_t> expected;
    for (auto seq = received + 1; seq <= sent; ++seq) expected.push_back(seq);
    std::vector<std::uint64_t> recorded;
    if (auto it = g.channels.find(c); it != g.channels.end()) {
      for (const auto& m : it->second) {
        recorded.push_back(m.sequence);
        sum += amount_of(m);
      }
    }
    if (recorded != expected) {
      problems += "channel " + name + ": recorded " + std::to_string(recorded.size()) +
                  " messages, expected sequences " + std::to_string(received + 1) + ".." +
                  std::to_string(sent) + "; ";
    }
  }
  if (sum != total) {
    problems += "money not conserved: " + std::to_string(sum) + " != " + std::to_string(total);
  }
  return problems;
}

}  // namespace troupe::checkpoint::testing
