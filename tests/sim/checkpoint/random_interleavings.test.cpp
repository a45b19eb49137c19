// Seeded random interleavings of the checkpoint cores: N participants in a cyclic graph run a bank
// over FIFO channels delivered in random order, while checkpoints start at random times, several at
// once. Every completed checkpoint must be a consistent cut (vector clocks), record exactly the
// in-flight messages on each channel, and conserve money. Channels are declared, or learned as they
// are first used, some only in the middle of a checkpoint.
//
// Each run prints nothing unless it fails; a failure names its seed. Rerun one seed with
// TROUPE_SEED=<seed>; without it, a fixed range of seeds runs.
#define BOOST_TEST_MODULE checkpoint_random_interleavings
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/checkpoint/checkpoint_harness.hpp"

using namespace troupe::checkpoint;
using namespace troupe::checkpoint::testing;

namespace {

constexpr std::int64_t initial_balance = 1000;

struct run_options {
  std::size_t recorded_messages_max = 100'000;
  int steps = 400;
  /// Start a checkpoint only when none is in flight.
  bool sequential = false;
  /// Now and then a participant is reported lost (to the coordinator and to every peer); no message
  /// is actually lost, so later checkpoints must still complete and be correct.
  bool peer_losses = false;
};

struct run_stats {
  int completed = 0;
  int completed_with_channel_state = 0;
  int aborted_bound_exceeded = 0;
  int aborted_peer_lost = 0;
  std::size_t late_reports = 0;
  int runs = 0;
};

struct seed_range {
  std::uint64_t first;
  int count;
};

seed_range seeds(std::uint64_t fallback_first, int fallback_count) {
  if (const char* s = std::getenv("TROUPE_SEED")) return {std::strtoull(s, nullptr, 10), 1};
  return {fallback_first, fallback_count};
}

/// One seeded run. Returns a description of the first problem, or "" when all is well.
std::string run(std::uint64_t seed, const run_options& options, run_stats& stats) {
  std::mt19937_64 rng(seed);
  auto pick = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const auto n = static_cast<participant_id>(3 + pick(4));
  const bool learn = pick(2) == 0;
  coordinator_config cc;
  // Asking only the initiator needs every participant reachable by marker from it over channels
  // known at the time (coordinator.hpp): true of the declared ring, not of learned channels.
  cc.mode = !learn && pick(2) == 0 ? initiation::ask_initiator : initiation::ask_all;
  cc.in_flight_max = 4;
  cc.timeout_ticks = 1'000'000;  // no timeouts here: every checkpoint must finish on its own
  world w(cc);

  // A ring (so the graph is cyclic and strongly connected) plus random chords.
  std::vector<channel_id> edges;
  for (participant_id p = 1; p <= n; ++p) edges.push_back({p, p % n + 1});
  for (participant_id a = 1; a <= n; ++a) {
    for (participant_id b = 1; b <= n; ++b) {
      if (a != b && b != a % n + 1 && pick(3) == 0) edges.push_back({a, b});
    }
  }
  // In learned mode a channel becomes usable at a random step, often while checkpoints run.
  std::vector<int> usable_from(edges.size(), 0);
  for (auto& u : usable_from)
    u = learn ? static_cast<int>(pick(static_cast<std::size_t>(options.steps))) : 0;
  for (participant_id p = 1; p <= n; ++p) {
    participant_config pc;
    pc.self = p;
    pc.recorded_messages_max = options.recorded_messages_max;
    if (!learn) {
      for (const auto& e : edges) {
        if (e.from == p) pc.outgoing.push_back(e.to);
        if (e.to == p) pc.incoming.push_back(e.from);
      }
    }
    w.add(pc, initial_balance);
  }
  const auto total = initial_balance * static_cast<std::int64_t>(n);

  checkpoint_id next_id = 1;
  auto deliver_something = [&]() -> bool {
    // Choose uniformly among the non-empty sources: channels, command links, the report queue.
    std::vector<int> kinds;
    std::vector<channel_id> busy_channels;
    for (auto& [c, q] : w.channels()) {
      if (!q.empty()) busy_channels.push_back(c);
    }
    std::vector<participant_id> busy_links;
    for (auto& [p, q] : w.commands()) {
      if (!q.empty()) busy_links.push_back(p);
    }
    const auto options_total =
        busy_channels.size() + busy_links.size() + (w.reports().empty() ? 0 : 1);
    if (options_total == 0) return false;
    auto k = pick(options_total);
    if (k < busy_channels.size()) return w.deliver(busy_channels[k]);
    k -= busy_channels.size();
    if (k < busy_links.size()) return w.deliver_command(busy_links[k]);
    return w.deliver_report();
  };

  try {
    for (int step = 0; step < options.steps; ++step) {
      const auto roll = pick(100);
      if (roll < 40) {
        const auto e = pick(edges.size());
        if (usable_from[e] <= step) {
          auto& from = w.app(edges[e].from);
          const auto amount = static_cast<std::int64_t>(1 + pick(10));
          if (from.balance >= amount) w.transfer(edges[e].from, edges[e].to, amount);
        }
      } else if (roll < 44) {
        const auto busy = w.coord().in_flight().size();
        if (busy < cc.in_flight_max && (!options.sequential || busy == 0)) {
          // With ask_initiator the coordinator refuses a second initiator while one is in flight.
          if (w.try_start(next_id, static_cast<participant_id>(1 + pick(n)))) ++next_id;
        }
      } else if (roll < 45 && options.peer_losses) {
        const auto lost = static_cast<participant_id>(1 + pick(n));
        w.participant_lost(lost);
        for (participant_id q = 1; q <= n; ++q) {
          if (q != lost) w.peer_lost(q, lost);
        }
      } else {
        deliver_something();
      }
      w.advance(1);
    }
    while (deliver_something()) {
    }
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  }

  if (!w.coord().in_flight().empty()) {
    std::string held;
    for (participant_id p = 1; p <= n; ++p) {
      held += " p" + std::to_string(p) + ":epoch " + std::to_string(w.core(p).epoch()) + " holds";
      for (auto id : w.core(p).in_flight()) {
        held += " " + std::to_string(id) + (w.core(p).recording(id) ? "(recording)" : "");
      }
    }
    return std::string("checkpoints still in flight after quiescence (") +
           (learn ? "learned" : "declared") + ", " +
           (cc.mode == initiation::ask_all ? "ask_all" : "ask_initiator") + "):" + held;
  }
  for (participant_id p = 1; p <= n; ++p) {
    if (!w.core(p).in_flight().empty()) return "participant holds a checkpoint after quiescence";
  }
  if (w.outcomes().size() != next_id - 1) return "a started checkpoint never finished";
  for (const auto& o : w.outcomes()) {
    switch (o.status) {
      case checkpoint_status::ok: {
        ++stats.completed;
        if (o.state.recorded_message_count() > 0) ++stats.completed_with_channel_state;
        if (o.state.local_states.size() != n) return "complete without every local state";
        auto problems = check_cut(o.state, total);
        if (!problems.empty()) return "checkpoint " + std::to_string(o.id) + ": " + problems;
        break;
      }
      case checkpoint_status::out_of_order:
        if (options.sequential) return "out_of_order without overlapping checkpoints";
        // With every participant asked, a participant always hears of k (a request, or the marker
        // a holder of k sends before anything newer) before any later checkpoint: README.md.
        if (cc.mode == initiation::ask_all)
          return "out_of_order although every participant was asked";
        break;
      case checkpoint_status::bound_exceeded:
        if (options.recorded_messages_max >= 100'000) return "bound exceeded without a tight bound";
        ++stats.aborted_bound_exceeded;
        break;
      case checkpoint_status::peer_lost:
        if (!options.peer_losses) return "peer_lost without a lost peer";
        ++stats.aborted_peer_lost;
        break;
      default:
        return "checkpoint " + std::to_string(o.id) + " aborted: " + to_string(o.status) + " " +
               o.detail;
    }
  }
  stats.late_reports += w.late_reports();
  ++stats.runs;
  return "";
}

void report(const run_stats& s) {
  BOOST_TEST_MESSAGE("runs " << s.runs << ", completed " << s.completed << " (with channel state "
                             << s.completed_with_channel_state << "), bound_exceeded "
                             << s.aborted_bound_exceeded << ", peer_lost " << s.aborted_peer_lost
                             << ", late channel reports " << s.late_reports);
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_completed_checkpoint_is_a_consistent_cut_that_conserves_money) {
  const auto range = seeds(1, 300);
  BOOST_TEST_MESSAGE("seeds " << range.first << ".." << range.first + range.count - 1
                              << " (rerun one with TROUPE_SEED=<seed>)");
  run_stats stats;
  for (int i = 0; i < range.count; ++i) {
    const auto seed = range.first + static_cast<std::uint64_t>(i);
    const auto problem = run(seed, run_options{}, stats);
    BOOST_REQUIRE_MESSAGE(problem.empty(),
                          "seed " << seed << " (TROUPE_SEED=" << seed << "): " << problem);
  }
  report(stats);
  if (range.count > 1) {
    // The interesting paths were reached, not just the easy ones.
    BOOST_TEST(stats.completed > range.count);
    BOOST_TEST(stats.completed_with_channel_state * 4 > stats.completed);
    BOOST_TEST(stats.late_reports > 0u);
  }
}

BOOST_AUTO_TEST_CASE(recorded_channel_state_over_a_tight_bound_aborts_and_the_rest_stay_correct) {
  const auto range = seeds(10'001, 200);
  BOOST_TEST_MESSAGE("seeds " << range.first << ".." << range.first + range.count - 1
                              << " (rerun one with TROUPE_SEED=<seed>)");
  run_options options;
  options.recorded_messages_max = 1;
  run_stats stats;
  for (int i = 0; i < range.count; ++i) {
    const auto seed = range.first + static_cast<std::uint64_t>(i);
    const auto problem = run(seed, options, stats);
    BOOST_REQUIRE_MESSAGE(problem.empty(),
                          "seed " << seed << " (TROUPE_SEED=" << seed << "): " << problem);
  }
  report(stats);
  if (range.count > 1) {
    BOOST_TEST(stats.aborted_bound_exceeded > 0);
    BOOST_TEST(stats.completed > 0);
  }
}

BOOST_AUTO_TEST_CASE(checkpoints_that_do_not_overlap_all_complete) {
  const auto range = seeds(20'001, 200);
  BOOST_TEST_MESSAGE("seeds " << range.first << ".." << range.first + range.count - 1
                              << " (rerun one with TROUPE_SEED=<seed>)");
  run_options options;
  options.sequential = true;
  run_stats stats;
  for (int i = 0; i < range.count; ++i) {
    const auto seed = range.first + static_cast<std::uint64_t>(i);
    const auto problem = run(seed, options, stats);
    BOOST_REQUIRE_MESSAGE(problem.empty(),
                          "seed " << seed << " (TROUPE_SEED=" << seed << "): " << problem);
  }
  report(stats);
  if (range.count > 1) BOOST_TEST(stats.completed > range.count);
}

BOOST_AUTO_TEST_CASE(lost_peers_abort_the_checkpoints_in_flight_and_later_ones_complete) {
  const auto range = seeds(30'001, 200);
  BOOST_TEST_MESSAGE("seeds " << range.first << ".." << range.first + range.count - 1
                              << " (rerun one with TROUPE_SEED=<seed>)");
  run_options options;
  options.peer_losses = true;
  run_stats stats;
  for (int i = 0; i < range.count; ++i) {
    const auto seed = range.first + static_cast<std::uint64_t>(i);
    const auto problem = run(seed, options, stats);
    BOOST_REQUIRE_MESSAGE(problem.empty(),
                          "seed " << seed << " (TROUPE_SEED=" << seed << "): " << problem);
  }
  report(stats);
  if (range.count > 1) {
    BOOST_TEST(stats.aborted_peer_lost > 0);
    BOOST_TEST(stats.completed > 0);
  }
}
