// The channel layer (snapshot/channel) of three nodes over a simulated network: one FIFO queue per
// (source node, destination node, endpoint), delivered in a seeded random interleaving; the bank's
// accounts as participants, sending on random ticks; the pure coordinator started at random moments
// with up to three checkpoints in flight. Checks after every step: every core's invariants, and for
// every complete checkpoint that money is conserved (balances + recorded in-flight transfers ==
// initial total). Then a restore of the last complete checkpoint into fresh layers (traffic from
// restored participants racing the restore orders of others), and conservation again; then a
// rollback in place of the running layers to the last complete checkpoint, with the old traffic
// still in flight on every link and checkpoints in flight (aborted), and conservation again.
// A failure names its seed; rerun one with TROUPE_SEED=<seed>.
#define BOOST_TEST_MODULE checkpoint_channel_sim
#include <boost/test/unit_test.hpp>

#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "examples/bank/account.hpp"
#include "runtime/wire/checkpoint_codec.hpp"
#include "snapshot/channel/channel_layer.hpp"
#include "snapshot/core/coordinator.hpp"
#include "snapshot/core/restore.hpp"
#include "tests/sim/seeds.hpp"

namespace cp = troupe::checkpoint;
namespace ch = troupe::checkpoint::channel;
using troupe::wire::message;

namespace {

constexpr std::uint64_t per_node = 4;
constexpr std::int64_t initial_balance = 1000;

struct link_key {
  ch::node_id from;
  ch::node_id to;
  bool to_coordinator;
  auto operator<=>(const link_key&) const = default;
};

struct cluster {
  std::mt19937_64 rng;
  ch::directory members = *ch::directory::blocks({1, 2, 3}, per_node);
  std::map<ch::node_id, std::unique_ptr<ch::channel_layer>> layers;
  cp::coordinator core{cp::coordinator_config{.in_flight_max = 8, .timeout_ticks = 1'000'000}};
  std::map<link_key, std::deque<message>> links;
  std::map<ch::node_id, bool> ready;
  bool started = false;
  std::uint64_t now = 0;
  cp::checkpoint_id next_id = 1;
  std::vector<cp::checkpoint_outcome> outcomes;
  std::map<ch::node_id, std::uint64_t> rolled_back;  ///< generation each node confirmed
  std::string problem;

  explicit cluster(std::uint64_t seed) : rng(seed) {}

  void make_layers(bool await_restore, std::uint64_t seed) {
    count_marker_runs();
    layers.clear();
    links.clear();
    ready.clear();
    started = false;
    for (ch::node_id n : {1, 2, 3}) {
      ch::layer_config c;
      c.self = n;
      c.coordinator = 1;
      c.members = members;
      c.await_restore = await_restore;
      c.instance = seed * 10 + n;
      // Half the seeds batch frames per destination (as the host does), half send them one by
      // one (the finest interleaving).
      c.batch_max_frames = seed % 2 == 0 ? 1 : 1 + seed % 7;
      batching = c.batch_max_frames > 1;
      auto layer = std::make_unique<ch::channel_layer>(c);
      troupe::bank::account_config ac;
      ac.initial_balance = initial_balance;
      ac.accounts = members.size();
      ac.transfer_per_mille = 700;
      ac.seed = seed;
      auto factory = troupe::actors::hosted([ac](cp::participant_id id) {
        return std::make_unique<troupe::bank::account>(id, ac);
      });
      auto* raw = layer.get();
      for (auto id : members.on_node(n)) {
        auto st = raw->add(id, factory(id, [raw, id](cp::participant_id to, cp::bytes payload) {
                             return raw->send(id, to, std::move(payload));
                           }));
        BOOST_REQUIRE(st.ok());
      }
      layer->announce();
      layers[n] = std::move(layer);
    }
    collect();
  }

  /// Marker runs received by the current layers, added to `marker_runs`, or to
  /// `marker_runs_unbatched` if the layers did not batch (call before replacing the layers, and at
  /// the end).
  void count_marker_runs() {
    for (auto& [n, layer] : layers) {
      (batching ? marker_runs : marker_runs_unbatched) += layer->stats().marker_runs;
    }
  }
  bool batching = false;  ///< the current layers batch frames (and send marker runs)
  std::size_t marker_runs = 0;
  std::size_t marker_runs_unbatched = 0;

  void collect() {
    for (auto& [n, layer] : layers) {
      for (auto& f : layer->take_outbox()) {
        links[{n, f.node, f.endpoint == ch::coordinator_endpoint}].push_back(std::move(f.frame));
      }
      if (auto st = layer->check_invariants(); !st) problem = "node " + std::to_string(n) + ": " + st.err().message;
    }
  }

  void coordinator_send(ch::node_id to, message m) { links[{1, to, false}].push_back(std::move(m)); }

  void carry_out(cp::coordinator_output out) {
    std::vector<std::pair<ch::node_id, cp::checkpoint_command>> sent;
    for (auto& c : out.commands) {
      auto key = std::make_pair(*members.node_of(c.to), c.command);
      if (std::find(sent.begin(), sent.end(), key) != sent.end()) continue;
      sent.push_back(key);
      coordinator_send(key.first, troupe::wire::encode(c.command));
    }
    for (auto& o : out.finished) outcomes.push_back(std::move(o));
  }

  /// The coordinator's side of a frame that reached node 1's coordinator endpoint.
  void to_coordinator(const message& m, cp::checkpoint_id restored_from) {
    if (troupe::wire::is_checkpoint_batch(m)) {
      auto frames = troupe::wire::decode_checkpoint_batch(m);
      BOOST_REQUIRE(frames.ok());
      for (auto& f : *frames) to_coordinator(f, restored_from);
      return;
    }
    auto decoded = troupe::wire::decode_checkpoint_message(m);
    BOOST_REQUIRE(decoded.ok());
    if (auto* r = std::get_if<cp::host_ready>(&*decoded)) {
      ready[r->node] = true;
      if (ready.size() == 3 && !started) {
        started = true;
        for (ch::node_id n : {1, 2, 3}) coordinator_send(n, troupe::wire::encode(cp::start_traffic{restored_from}));
      }
      return;
    }
    if (auto* done = std::get_if<cp::rolled_back>(&*decoded)) {
      rolled_back[done->node] = done->generation;
      return;
    }
    if (auto* run = std::get_if<cp::report_run>(&*decoded)) {
      ++report_runs;
      for (const auto& r : run->reports) carry_out(core.on_report(r, now));
      return;
    }
    carry_out(core.on_report(std::get<cp::participant_report>(*decoded), now));
  }
  std::size_t report_runs = 0;  ///< report runs the coordinator received

  /// A rollback in place to `state` (what the coordinator actor does for `troupe checkpoint
  /// restore`): checkpoints in flight aborted, then per node on its FIFO link: rollback, the
  /// restore orders, start. Nothing in flight is drained first.
  void roll_back(const cp::global_state& state, std::uint64_t generation) {
    for (auto id : core.in_flight()) {
      auto out = core.abort(id, now);
      out.finished.clear();  // aborted on purpose: not a failure of the run
      carry_out(std::move(out));
    }
    for (ch::node_id n : {1, 2, 3}) {
      coordinator_send(n, troupe::wire::encode(cp::rollback{generation, state.id}));
    }
    auto plan = cp::plan_restore(state);
    BOOST_REQUIRE(plan.ok());
    for (auto& p : *plan) {
      coordinator_send(*members.node_of(p.participant),
                       troupe::wire::encode(cp::restore_order{state.id, p.participant, p.local_state,
                                                              p.deliveries}));
    }
    for (ch::node_id n : {1, 2, 3}) {
      coordinator_send(n, troupe::wire::encode(cp::start_traffic{state.id}));
    }
  }

  /// One random step. Returns false when nothing could be done.
  bool step(cp::checkpoint_id restored_from, bool take) {
    ++now;
    auto choice = std::uniform_int_distribution<int>(0, 9)(rng);
    if (choice == 0) {
      ch::node_id n = std::uniform_int_distribution<ch::node_id>(1, 3)(rng);
      layers[n]->tick();
    } else if (choice == 1 && take && started && core.in_flight().size() < 3) {
      auto out = core.start(next_id++, 1, members.participants(), now);
      BOOST_REQUIRE(out.ok());
      carry_out(std::move(*out));
    } else {
      std::vector<link_key> busy;
      for (auto& [k, q] : links) {
        if (!q.empty()) busy.push_back(k);
      }
      if (busy.empty()) return false;
      auto k = busy[std::uniform_int_distribution<std::size_t>(0, busy.size() - 1)(rng)];
      auto m = std::move(links[k].front());
      links[k].pop_front();
      if (k.to_coordinator) {
        to_coordinator(m, restored_from);
      } else if (auto st = layers[k.to]->on_message(k.from, m); !st) {
        problem = "node " + std::to_string(k.to) + " refused a frame: " + st.err().message;
      }
    }
    collect();
    return true;
  }

  /// Checks every new complete checkpoint conserves money. Returns the complete ones' count.
  void check_outcomes(std::size_t& complete, std::size_t& non_empty,
                      std::optional<cp::global_state>& last) {
    for (auto& o : outcomes) {
      if (o.status != cp::checkpoint_status::ok) {
        problem = "checkpoint " + std::to_string(o.id) + " aborted: " + o.detail;
        continue;
      }
      if (o.recorded_messages != o.state.recorded_message_count() ||
          o.byte_count != o.state.byte_count()) {
        problem = "checkpoint " + std::to_string(o.id) + ": counts disagree with its state";
        continue;
      }
      auto t = troupe::bank::totals(o.state);
      if (!t) {
        problem = t.err().message;
        continue;
      }
      if (t->total() != initial_balance * static_cast<std::int64_t>(members.size())) {
        problem = "checkpoint " + std::to_string(o.id) + " holds " + std::to_string(t->total());
      }
      ++complete;
      if (t->in_flight > 0) ++non_empty;
      last = o.state;
    }
    outcomes.clear();
  }
};

std::string run(std::uint64_t seed, std::size_t& complete_total, std::size_t& non_empty_total,
                std::size_t& restored_total, std::size_t& discarded_total,
                std::size_t& marker_runs_total, std::size_t& report_runs_total) {
  cluster c(seed);
  c.make_layers(false, seed);
  std::size_t complete = 0, non_empty = 0;
  std::optional<cp::global_state> last;
  for (int i = 0; i < 3000 && c.problem.empty(); ++i) {
    c.step(0, true);
    c.check_outcomes(complete, non_empty, last);
  }
  // Let the last checkpoints finish: no more takes, every queue drained.
  for (int i = 0; i < 100000 && c.problem.empty() && !c.core.in_flight().empty(); ++i) {
    c.step(0, false);
    c.check_outcomes(complete, non_empty, last);
  }
  if (!c.problem.empty()) return c.problem;
  if (!c.core.in_flight().empty()) return "checkpoints never completed";
  if (!last) return "no checkpoint completed";
  complete_total += complete;
  non_empty_total += non_empty;

  // Restore the last complete one into fresh layers: orders first on each coordinator link, then
  // start; traffic of restored participants races the others' orders.
  auto plan = cp::plan_restore(*last);
  if (!plan) return "plan_restore: " + plan.err().message;
  c.make_layers(true, seed + 1);
  for (auto& p : *plan) {
    c.coordinator_send(*c.members.node_of(p.participant),
                       troupe::wire::encode(cp::restore_order{last->id, p.participant, p.local_state,
                                                              p.deliveries}));
  }
  c.core = cp::coordinator(cp::coordinator_config{.in_flight_max = 8, .timeout_ticks = 1'000'000});
  c.next_id = last->id + 1;
  std::size_t after = 0;
  for (int i = 0; i < 3000 && c.problem.empty(); ++i) {
    c.step(last->id, true);
    c.check_outcomes(after, non_empty, last);
  }
  for (int i = 0; i < 100000 && c.problem.empty() && !c.core.in_flight().empty(); ++i) {
    c.step(last->id, false);
    c.check_outcomes(after, non_empty, last);
  }
  if (!c.problem.empty()) return "after restore: " + c.problem;
  for (auto& [n, layer] : c.layers) {
    if (layer->awaiting_restore()) return "node " + std::to_string(n) + " still awaits a restore";
    restored_total += layer->stats().restored;
  }
  if (after == 0) return "no checkpoint completed after the restore";

  // Rollback in place to the last complete checkpoint, in the middle of traffic: first let the
  // system run on (new transfers in flight, checkpoints started), then roll back without draining.
  for (int i = 0; i < 500 && c.problem.empty(); ++i) {
    c.step(last->id, true);
    c.check_outcomes(after, non_empty, last);
  }
  if (!c.problem.empty()) return "before the rollback: " + c.problem;
  const auto target = *last;
  c.roll_back(target, 1);
  std::size_t after_rollback = 0;
  for (int i = 0; i < 3000 && c.problem.empty(); ++i) {
    c.step(target.id, true);
    c.check_outcomes(after_rollback, non_empty, last);
  }
  for (int i = 0; i < 100000 && c.problem.empty() && !c.core.in_flight().empty(); ++i) {
    c.step(target.id, false);
    c.check_outcomes(after_rollback, non_empty, last);
  }
  if (!c.problem.empty()) return "after the rollback in place: " + c.problem;
  for (auto& [n, layer] : c.layers) {
    if (layer->awaiting_restore()) return "node " + std::to_string(n) + " still awaits its rollback";
    if (layer->generation() != 1 || c.rolled_back[n] != 1) {
      return "node " + std::to_string(n) + " did not confirm generation 1";
    }
    discarded_total += layer->stats().discarded;
    restored_total += layer->stats().restored - per_node;  // the first restore was counted above
  }
  if (after_rollback == 0) return "no checkpoint completed after the rollback in place";
  c.count_marker_runs();
  // Seeds that batch send a checkpoint's adjacent markers as runs; the others one frame each.
  // Layers that batch send a checkpoint's adjacent markers as runs; the others one frame each.
  if (c.marker_runs_unbatched != 0) return "marker runs sent with batching off";
  marker_runs_total += c.marker_runs;
  report_runs_total += c.report_runs;
  return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_checkpoint_of_the_bank_conserves_money_before_and_after_a_restore_and_a_rollback_in_place) {
  const auto seeds = troupe::testing::seeds_from_env({1, 40});
  const auto count = seeds.last - seeds.first + 1;
  std::size_t complete = 0, non_empty = 0, restored = 0, discarded = 0, marker_runs = 0,
              report_runs = 0;
  for (std::uint64_t seed = seeds.first; seed <= seeds.last; ++seed) {
    auto problem = run(seed, complete, non_empty, restored, discarded, marker_runs, report_runs);
    BOOST_REQUIRE_MESSAGE(problem.empty(), "seed " << seed << ": " << problem);
  }
  BOOST_TEST_MESSAGE(complete << " checkpoints complete, " << non_empty
                              << " with transfers in channels, " << restored << " restored, "
                              << discarded << " old-generation frames discarded by rollbacks, "
                              << marker_runs << " marker runs and " << report_runs
                              << " report runs received");
  BOOST_CHECK_GT(non_empty, 0u);  // the runs exercise recorded channel state, not only states
  // Each participant restored twice: into fresh layers, then in place.
  BOOST_CHECK_EQUAL(restored, count * 2 * 3 * per_node);
  if (count > 1) BOOST_CHECK_GT(discarded, 0u);  // the rollbacks met old traffic in flight
  if (count > 1) BOOST_CHECK_GT(marker_runs, 0u);  // half the layers batch: runs were exercised
  if (count > 1) BOOST_CHECK_GT(report_runs, 0u);
}
