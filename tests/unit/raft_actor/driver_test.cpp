// The raft actor's pure half: three drivers over memory_log_storage, a hand-run network and
// hand-completed syncs, so each test decides exactly when a sync finishes and a message arrives.
#define BOOST_TEST_MODULE raft_driver
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consensus/actor/backup_file.hpp"
#include "consensus/actor/driver.hpp"
#include "consensus/core/memory_log_storage.hpp"
#include "consensus/core/memory_snapshot_store.hpp"
#include "consensus/core/snapshot_bytes.hpp"

using namespace troupe::raft;

namespace {

/// Applies commands by recording them; replies "applied <index>:<command>"; a query returns the
/// number of commands applied followed by the request.
class recording_machine final : public state_machine {
 public:
  std::string apply(std::uint64_t index, std::string_view command) override {
    applied.emplace_back(command);
    last = index;
    return "applied " + std::to_string(index) + ":" + std::string(command);
  }
  std::string query(std::string_view request) const override {
    return std::to_string(applied.size()) + " " + std::string(request);
  }
  std::uint64_t applied_index() const override { return last; }
  std::string snapshot() const override {
    snapshot_writer w;
    w.u64(applied.size());
    for (const auto& c : applied) w.bytes(c);
    return w.take();
  }
  troupe::status restore(std::uint64_t index, std::string_view image) override {
    snapshot_reader r(image);
    std::vector<std::string> got(r.count(8));
    for (auto& c : got) c = r.bytes();
    if (!r.ok() || !r.at_end()) return troupe::make_error(troupe::errc::corrupt, "recording_machine: bad image");
    applied = std::move(got);
    last = index;
    return {};
  }
  std::vector<std::string> applied;
  std::uint64_t last = 0;
};

struct harness;

struct member final : driver_io {
  harness* h = nullptr;
  node_id id = no_node;
  memory_log_storage store;
  memory_snapshot_store snapshots;
  recording_machine sm;
  std::unique_ptr<driver> d;
  bool sync_pending = false;
  std::map<ticket, outcome> answers;
  std::vector<snapshot_chunk> staged;  ///< chunks the pending sync makes durable first
  std::optional<memory_snapshot_store::image> save_pending;
  bool fail_saves = false;  ///< complete_save reports an I/O error (a full disk) instead of saving
  int saves_started = 0;

  void send(std::vector<raft_message>&& messages) override;
  void start_sync() override {
    sync_pending = true;
    applied_at_sync_start = sm.applied.size();
    if (sync_inline) complete_sync(sync_inline_now);
  }
  std::size_t applied_at_sync_start = 0;  ///< sm.applied.size() when the last sync started
  bool sync_inline = false;               ///< start_sync completes the sync before it returns
  monotonic_ns sync_inline_now = 0;
  void answer(ticket t, outcome o) override {
    BOOST_REQUIRE_MESSAGE(answers.count(t) == 0, "ticket " << t << " answered twice");
    answers[t] = std::move(o);
  }
  void stage_snapshot_chunks(std::vector<snapshot_chunk>&& chunks) override {
    BOOST_REQUIRE(!chunks.empty());
    staged.insert(staged.end(), chunks.begin(), chunks.end());
  }
  troupe::result<std::string> snapshot_image(const snapshot_metadata& meta) override {
    if (!snapshots.latest() || snapshots.latest()->metadata != meta) {
      return troupe::make_error(troupe::errc::not_found, "no such snapshot");
    }
    return snapshots.latest()->bytes;
  }
  void start_snapshot_save(const snapshot_metadata& meta, std::string image) override {
    BOOST_REQUIRE_MESSAGE(!save_pending, "two snapshot saves in flight");
    save_pending = memory_snapshot_store::image{meta, std::move(image)};
    ++saves_started;
  }
  /// Runs the pending sync on the store (the staged chunks first) and reports it.
  void complete_sync(monotonic_ns now) {
    BOOST_REQUIRE(sync_pending);
    sync_pending = false;
    for (const auto& c : staged) BOOST_REQUIRE(snapshots.write_chunk(c).ok());
    staged.clear();
    d->sync_done(store.sync(), now);
  }
  /// Stores the pending compaction snapshot and reports it.
  void complete_save(monotonic_ns now) {
    BOOST_REQUIRE(save_pending.has_value());
    auto img = std::move(*save_pending);
    save_pending.reset();
    if (fail_saves) {
      d->snapshot_saved(img.metadata, troupe::make_error(troupe::errc::io, "disk full"), now);
      return;
    }
    snapshots.save(img.metadata, img.bytes);
    d->snapshot_saved(img.metadata, true, now);
  }
};

config base_config(node_id id) {
  config c;
  c.id = id;
  c.group = 1;
  c.voters = {1, 2, 3};
  c.election_timeout_ticks = 10;
  c.heartbeat_interval_ticks = 1;
  c.random_seed = id;
  c.tick_duration_ns = 1'000'000;
  return c;
}

struct harness {
  std::map<node_id, std::unique_ptr<member>> members;
  std::deque<raft_message> network;
  std::set<node_id> isolated;  ///< messages from or to these are dropped
  monotonic_ns now = 1'000'000'000;

  explicit harness(driver_options opts = {}) {
    for (node_id id : {1, 2, 3}) start(id, opts);
  }

  void start(node_id id, driver_options opts = {}) {
    auto m = std::make_unique<member>();
    m->h = this;
    m->id = id;
    auto core = node::create(base_config(id), m->store, &m->snapshots);
    BOOST_REQUIRE(core.ok());
    m->d = std::make_unique<driver>(std::move(*core), m->store, m->sm, *m, opts);
    members[id] = std::move(m);
  }

  member& at(node_id id) { return *members.at(id); }

  /// Delivers messages and completes syncs until nothing moves (bounded, to catch livelocks).
  void settle() {
    for (int round = 0; round < 10'000; ++round) {
      bool moved = false;
      for (auto& [id, m] : members) {
        if (m->sync_pending) {
          m->complete_sync(now);
          moved = true;
        }
        if (m->save_pending) {
          m->complete_save(now);
          moved = true;
        }
      }
      if (!network.empty()) {
        auto msg = std::move(network.front());
        network.pop_front();
        if (!isolated.count(msg.from) && !isolated.count(msg.to)) at(msg.to).d->step(std::move(msg), now);
        moved = true;
      }
      if (!moved) return;
    }
    BOOST_FAIL("the cluster never settled");
  }

  /// Delivers the network's messages (completing every sync but `held`'s at once) except those to
  /// `held`, which are returned in order instead (bounded, to catch livelocks).
  std::deque<raft_message> deliver_all_but_to(node_id held) {
    std::deque<raft_message> out;
    for (int round = 0; round < 1'000 && !network.empty(); ++round) {
      auto msg = std::move(network.front());
      network.pop_front();
      if (msg.to == held) {
        out.push_back(std::move(msg));
        continue;
      }
      at(msg.to).d->step(std::move(msg), now);
      for (auto& [id, m] : members) {
        if (id != held && m->sync_pending) m->complete_sync(now);
      }
    }
    BOOST_REQUIRE_MESSAGE(network.empty(), "the network never drained");
    return out;
  }

  /// Ticks every member (settling in between) until one leads; returns its id.
  node_id elect() {
    for (int t = 0; t < 500; ++t) {
      for (auto& [id, m] : members) {
        if (m->d->status().role == role::leader && !isolated.count(id)) return id;
      }
      now += 1'000'000;
      for (auto& [id, m] : members) m->d->tick(now);
      settle();
    }
    BOOST_FAIL("no leader within 500 ticks");
    return no_node;
  }
};

void member::send(std::vector<raft_message>&& messages) {
  for (auto& m : messages) h->network.push_back(std::move(m));
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_proposal_commits_applies_everywhere_and_answers_with_the_reply) {
  harness h;
  const node_id leader = h.elect();
  h.at(leader).d->propose(7, "x=1", h.now);
  h.settle();
  auto& answers = h.at(leader).answers;
  BOOST_REQUIRE(answers.count(7) == 1);
  BOOST_TEST((answers[7].code == outcome_code::ok));
  BOOST_TEST(answers[7].reply == "applied 2:x=1");  // index 1 is the leader's no-op
  for (node_id id : {1, 2, 3}) {
    h.now += 1'000'000;
    for (node_id t : {1, 2, 3}) h.at(t).d->tick(h.now);  // a heartbeat carries the commit index
    h.settle();
    BOOST_TEST(h.at(id).sm.applied == std::vector<std::string>{"x=1"}, "node " << id);
    BOOST_TEST(h.at(id).d->status().applied == 2u);
  }
  BOOST_TEST(h.at(leader).d->counters().entries_applied == 1u);
}

BOOST_AUTO_TEST_CASE(a_follower_answers_not_leader_naming_the_leader) {
  harness h;
  const node_id leader = h.elect();
  const node_id follower = leader == 1 ? 2 : 1;
  h.at(follower).d->propose(1, "x", h.now);
  h.at(follower).d->read(2, "q", read_mode::linearizable, h.now);
  auto& a = h.at(follower).answers;
  BOOST_REQUIRE(a.size() == 2u);
  for (ticket t : {1, 2}) {
    BOOST_TEST((a[t].code == outcome_code::not_leader));
    BOOST_TEST(a[t].leader == leader);
  }
  BOOST_TEST(h.at(follower).d->counters().failed_not_leader == 2u);
}

BOOST_AUTO_TEST_CASE(with_no_leader_requests_are_unavailable) {
  harness h;
  h.at(1).d->propose(1, "x", h.now);
  BOOST_TEST((h.at(1).answers[1].code == outcome_code::unavailable));
}

BOOST_AUTO_TEST_CASE(proposals_arriving_during_a_sync_become_one_batch) {
  harness h;
  const node_id leader = h.elect();
  auto& l = h.at(leader);
  const auto syncs_before = l.d->counters().syncs;
  l.d->propose(1, "first", h.now);
  BOOST_REQUIRE(l.sync_pending);  // the first proposal's entry is being made durable
  for (ticket t = 2; t <= 11; ++t) l.d->propose(t, "p" + std::to_string(t), h.now);
  BOOST_TEST(l.d->pending_proposals() == 11u);
  const auto entries_before = l.store.visible_entries().size();
  l.complete_sync(h.now);  // the ten queued proposals enter the core together: one more sync
  BOOST_REQUIRE(l.sync_pending);
  BOOST_TEST(l.store.visible_entries().size() == entries_before + 10);
  BOOST_TEST(l.d->counters().syncs == syncs_before + 2);
  // The status is current while a sync runs (under load one nearly always does).
  BOOST_TEST(l.d->status().last_index == l.store.visible_entries().size());
  h.settle();
  for (ticket t = 1; t <= 11; ++t) BOOST_TEST((l.answers[t].code == outcome_code::ok), "ticket " << t);
}

BOOST_AUTO_TEST_CASE(beyond_the_admission_bound_requests_are_busy_at_once) {
  driver_options opts;
  opts.max_pending = 3;
  harness h(opts);
  const node_id leader = h.elect();
  auto& l = h.at(leader);
  l.d->propose(1, "a", h.now);  // in the core, its sync held
  l.d->propose(2, "b", h.now);  // queued
  l.d->read(3, "r", read_mode::linearizable, h.now);  // queued
  l.d->propose(4, "c", h.now);
  l.d->read(5, "s", read_mode::linearizable, h.now);
  BOOST_REQUIRE(l.answers.size() == 2u);
  BOOST_TEST((l.answers[4].code == outcome_code::busy));
  BOOST_TEST((l.answers[5].code == outcome_code::busy));
  BOOST_TEST(l.d->counters().busy_proposals == 1u);
  BOOST_TEST(l.d->counters().busy_reads == 1u);
  h.settle();
  h.now += 1'000'000;
  for (node_id t : {1, 2, 3}) h.at(t).d->tick(h.now);  // the read's heartbeat round
  h.settle();
  for (ticket t : {1, 2, 3}) BOOST_TEST((l.answers[t].code == outcome_code::ok), "ticket " << t);
  // Linearizable: at least what was committed when the read was registered ("a", maybe "b").
  BOOST_TEST((l.answers[3].reply == "1 r" || l.answers[3].reply == "2 r"), l.answers[3].reply);
  l.d->propose(6, "d", h.now);  // room again
  h.settle();
  BOOST_TEST((l.answers[6].code == outcome_code::ok));
}

BOOST_AUTO_TEST_CASE(reads_are_served_once_their_index_is_applied) {
  harness h;
  const node_id leader = h.elect();
  const node_id follower = leader == 3 ? 2 : 3;
  h.at(leader).d->propose(1, "w", h.now);
  h.settle();
  h.at(leader).d->read(2, "lin", read_mode::linearizable, h.now);
  h.at(leader).d->read(3, "lease", read_mode::lease, h.now);
  h.at(follower).d->read(4, "fol", read_mode::follower, h.now);
  h.now += 1'000'000;
  for (node_id t : {1, 2, 3}) h.at(t).d->tick(h.now);
  h.settle();
  BOOST_TEST(h.at(leader).answers[2].reply == "1 lin");
  BOOST_TEST(h.at(leader).answers[3].reply == "1 lease");
  BOOST_REQUIRE(h.at(follower).answers.count(4) == 1u);
  BOOST_TEST((h.at(follower).answers[4].code == outcome_code::ok));
  BOOST_TEST(h.at(follower).answers[4].reply == "1 fol");  // the follower applied the write first
}

BOOST_AUTO_TEST_CASE(a_backup_is_taken_by_the_leader_at_a_confirmed_applied_index_with_its_term_and_configuration) {
  harness h;
  const node_id leader = h.elect();
  const node_id follower = leader == 3 ? 2 : 3;
  h.at(leader).d->propose(1, "w1", h.now);
  h.at(leader).d->propose(2, "w2", h.now);
  h.settle();
  h.at(follower).d->backup(3, h.now);
  BOOST_TEST((h.at(follower).answers[3].code == outcome_code::not_leader));
  BOOST_TEST(h.at(follower).answers[3].leader == leader);
  h.at(leader).d->backup(4, h.now);
  BOOST_TEST(h.at(leader).answers.count(4) == 0u);  // waits for its heartbeat round (thesis §6.4)
  h.now += 1'000'000;
  for (node_id t : {1, 2, 3}) h.at(t).d->tick(h.now);
  h.settle();
  BOOST_REQUIRE(h.at(leader).answers.count(4) == 1u);
  BOOST_REQUIRE((h.at(leader).answers[4].code == outcome_code::ok));
  const std::string file = h.at(leader).answers[4].reply;
  auto b = decode_backup(file);
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(b->header.group == 1u);
  BOOST_TEST(b->header.metadata.last_index == 3u);  // the no-op and both writes
  BOOST_TEST(b->header.metadata.last_term == h.at(leader).d->status().term);
  BOOST_TEST((b->header.metadata.membership.voters == std::vector<node_id>{1, 2, 3}));
  recording_machine restored;
  BOOST_REQUIRE(restored.restore(b->header.metadata.last_index, b->image).ok());
  BOOST_TEST(restored.applied == (std::vector<std::string>{"w1", "w2"}));
}

BOOST_AUTO_TEST_CASE(a_leader_that_steps_down_answers_its_proposals_outcome_unknown) {
  harness h;
  const node_id leader = h.elect();
  std::set<node_id> others;
  for (node_id id : {1, 2, 3}) if (id != leader) others.insert(id);
  h.isolated.insert(leader);  // the entry reaches nobody: it cannot commit
  h.at(leader).d->propose(1, "lost?", h.now);
  h.settle();
  BOOST_TEST(h.at(leader).answers.empty());
  // A heartbeat of a higher term makes the leader step down (Raft §5.1).
  raft_message m{*others.begin(), leader, h.at(leader).d->status().term + 5, heartbeat{1, 0, 0}};
  h.at(leader).d->step(m, h.now);
  h.settle();
  BOOST_REQUIRE(h.at(leader).answers.count(1) == 1u);
  BOOST_TEST((h.at(leader).answers[1].code == outcome_code::outcome_unknown));
  BOOST_TEST(h.at(leader).d->counters().failed_outcome_unknown == 1u);
}

BOOST_AUTO_TEST_CASE(a_failed_sync_stops_the_group_and_answers_everything_stopped) {
  harness h;
  const node_id leader = h.elect();
  auto& l = h.at(leader);
  l.store.fail_next_syncs(1);
  l.d->propose(1, "a", h.now);
  l.d->propose(2, "b", h.now);  // queued behind the failing sync
  l.complete_sync(h.now);
  BOOST_TEST(l.d->failed());
  BOOST_TEST((l.answers[1].code == outcome_code::stopped));
  BOOST_TEST((l.answers[2].code == outcome_code::stopped));
  l.d->propose(3, "c", h.now);
  BOOST_TEST((l.answers[3].code == outcome_code::stopped));
}

BOOST_AUTO_TEST_CASE(hand_over_moves_leadership_to_a_follower) {
  harness h;
  const node_id leader = h.elect();
  h.at(leader).d->propose(1, "a", h.now);
  h.settle();
  h.at(leader).d->hand_over(h.now);
  BOOST_TEST((h.at(leader).d->hand_over_progress() == driver::hand_over_state::running));
  for (int t = 0; t < 50 && h.at(leader).d->hand_over_progress() == driver::hand_over_state::running; ++t) {
    h.now += 1'000'000;
    for (node_id id : {1, 2, 3}) h.at(id).d->tick(h.now);
    h.settle();
  }
  BOOST_TEST((h.at(leader).d->hand_over_progress() == driver::hand_over_state::done));
  BOOST_TEST((h.at(leader).d->status().role != role::leader));
  const node_id next = h.elect();
  BOOST_TEST(next != leader);
}

BOOST_AUTO_TEST_CASE(a_restarted_member_rebuilds_its_state_machine_from_the_log) {
  harness h;
  const node_id leader = h.elect();
  for (ticket t = 1; t <= 5; ++t) h.at(leader).d->propose(t, "c" + std::to_string(t), h.now);
  h.settle();
  h.now += 1'000'000;
  for (node_id id : {1, 2, 3}) h.at(id).d->tick(h.now);
  h.settle();
  // Same store, fresh core, driver and state machine: the committed log is applied again.
  auto& l = h.at(leader);
  l.sm = recording_machine{};
  auto core = node::create(base_config(leader), l.store);
  BOOST_REQUIRE(core.ok());
  l.d = std::make_unique<driver>(std::move(*core), l.store, l.sm, l, driver_options{});
  l.d->tick(h.now);
  h.settle();
  BOOST_TEST(l.sm.applied == (std::vector<std::string>{"c1", "c2", "c3", "c4", "c5"}));
}

BOOST_AUTO_TEST_CASE(an_entry_committed_before_a_batch_is_applied_without_waiting_for_its_fsync) {
  harness h;
  const node_id leader = h.elect();
  auto& l = h.at(leader);
  l.d->propose(1, "a", h.now);
  BOOST_REQUIRE(l.sync_pending);
  // The followers store "a" and acknowledge it while the leader's own fsync still runs.
  std::deque<raft_message> to_leader = h.deliver_all_but_to(leader);
  BOOST_REQUIRE(!to_leader.empty());
  for (auto& m : to_leader) l.d->step(std::move(m), h.now);  // queued behind the sync
  l.d->propose(2, "b", h.now);                                 // queued too
  l.complete_sync(h.now);
  // "a" committed with the acknowledgements; "b" is in a new batch whose fsync runs now. "a" was
  // durable before that batch, so it is applied and answered without waiting for it.
  BOOST_REQUIRE(l.sync_pending);
  BOOST_REQUIRE(l.answers.count(1) == 1u);
  BOOST_TEST((l.answers[1].code == outcome_code::ok));
  BOOST_TEST(l.answers.count(2) == 0u);
  BOOST_TEST(l.sm.applied == std::vector<std::string>{"a"});
  // ... and only after that fsync was handed to the storage thread: the state machine's work and
  // the answers overlap the fsync instead of delaying its start.
  BOOST_TEST(l.applied_at_sync_start == 0u);
  h.settle();
  BOOST_TEST((l.answers[2].code == outcome_code::ok));
}

BOOST_AUTO_TEST_CASE(acknowledgements_arriving_during_the_leaders_sync_commit_and_answer_at_once) {
  // thesis §10.2.1: the followers' acknowledgements of "a" commit it whatever the leader's disk is
  // doing; they need not wait behind the fsync of the next batch.
  harness h;
  const node_id leader = h.elect();
  auto& l = h.at(leader);
  l.d->propose(1, "a", h.now);
  std::deque<raft_message> acks = h.deliver_all_but_to(leader);  // the followers store "a"
  BOOST_REQUIRE(!acks.empty());
  l.complete_sync(h.now);                                         // "a" durable on the leader
  BOOST_REQUIRE(l.answers.count(1) == 0u);
  l.d->propose(2, "b", h.now);
  BOOST_REQUIRE(l.sync_pending);                                  // "b"'s fsync runs
  for (auto& m : acks) l.d->step(std::move(m), h.now);
  BOOST_REQUIRE(l.sync_pending);
  BOOST_REQUIRE(l.answers.count(1) == 1u);
  BOOST_TEST((l.answers[1].code == outcome_code::ok));
  BOOST_TEST(l.sm.applied == std::vector<std::string>{"a"});
  BOOST_TEST(l.answers.count(2) == 0u);
  h.settle();
  BOOST_TEST((l.answers[2].code == outcome_code::ok));
  BOOST_TEST(l.sm.applied == (std::vector<std::string>{"a", "b"}));
  BOOST_TEST(l.d->core_counters().acknowledgements_during_persist > 0u);
}

BOOST_AUTO_TEST_CASE(entries_applied_during_syncs_are_applied_once_in_order_and_still_compacted) {
  driver_options opts;
  opts.snapshot_entries = 4;
  harness h(opts);
  const node_id leader = h.elect();
  auto& l = h.at(leader);
  std::vector<std::string> expected{"v1"};
  l.d->propose(1, "v1", h.now);
  for (ticket t = 2; t <= 30; ++t) {
    std::deque<raft_message> acks = h.deliver_all_but_to(leader);  // followers store what is in flight
    if (l.sync_pending) l.complete_sync(h.now);
    if (l.save_pending) l.complete_save(h.now);
    l.d->propose(t, "v" + std::to_string(t), h.now);  // the next batch's fsync starts
    expected.push_back("v" + std::to_string(t));
    for (auto& m : acks) l.d->step(std::move(m), h.now);  // and the acknowledgements arrive during it
  }
  h.settle();
  h.now += 1'000'000;
  l.d->tick(h.now);  // a heartbeat tells the followers the last commit index
  h.settle();
  for (ticket t = 1; t <= 30; ++t) {
    BOOST_REQUIRE(l.answers.count(t) == 1u);
    BOOST_TEST((l.answers[t].code == outcome_code::ok));
  }
  BOOST_TEST(l.sm.applied == expected);
  BOOST_TEST(l.d->core_counters().acknowledgements_during_persist > 0u);
  BOOST_TEST(l.d->counters().snapshots_saved > 0u);
  BOOST_TEST(l.store.first_index() > 1u);  // compacted
  BOOST_TEST(l.d->status().snapshot_index + 1 == l.store.first_index());
  for (auto& [id, m] : h.members) {
    if (id != leader) BOOST_TEST(m->sm.applied == expected, "member " << id);
  }
}

BOOST_AUTO_TEST_CASE(syncs_that_complete_within_start_sync_still_apply_in_order_and_answer_once) {
  // driver_io::start_sync may report the sync before it returns; the entries applied after the
  // sync started must then not be applied again nor out of order.
  harness h;
  const node_id leader = h.elect();
  auto& l = h.at(leader);
  l.sync_inline = true;
  l.sync_inline_now = h.now;
  std::vector<std::string> expected;
  for (ticket t = 1; t <= 12; ++t) {
    l.d->propose(t, "v" + std::to_string(t), h.now);
    expected.push_back("v" + std::to_string(t));
    if (t % 3 == 0) h.settle();  // acknowledgements arrive between groups of proposals
  }
  h.settle();
  h.now += 1'000'000;
  l.sync_inline_now = h.now;
  l.d->tick(h.now);  // a heartbeat tells the followers the last commit index
  h.settle();
  for (ticket t = 1; t <= 12; ++t) {
    BOOST_REQUIRE(l.answers.count(t) == 1u);
    BOOST_TEST((l.answers[t].code == outcome_code::ok));
  }
  for (auto& [id, m] : h.members) BOOST_TEST(m->sm.applied == expected, "member " << id << " applied " << m->sm.applied.size());
}

BOOST_AUTO_TEST_CASE(the_admission_bound_counts_bytes_too_and_releases_them_on_answer) {
  driver_options opts;
  opts.max_pending_bytes = 100;
  harness h(opts);
  const node_id leader = h.elect();
  auto& l = h.at(leader);
  l.d->propose(1, std::string(60, 'a'), h.now);
  l.d->propose(2, std::string(60, 'b'), h.now);  // 120 > 100: refused at once
  BOOST_TEST(l.d->pending_bytes() == 60u);
  BOOST_TEST((l.answers[2].code == outcome_code::busy));
  h.settle();
  BOOST_TEST((l.answers[1].code == outcome_code::ok));
  BOOST_TEST(l.d->pending_bytes() == 0u);
  l.d->propose(3, std::string(90, 'c'), h.now);
  h.settle();
  BOOST_TEST((l.answers[3].code == outcome_code::ok));
}

BOOST_AUTO_TEST_CASE(inputs_queued_during_a_sync_keep_their_order_so_a_heartbeat_resets_the_timer) {
  harness h;
  const node_id leader = h.elect();
  const node_id follower = leader == 1 ? 2 : 1;
  auto& f = h.at(follower);
  h.at(leader).d->propose(1, "a", h.now);
  // Deliver only the leader's append to the follower: its sync stays pending.
  for (auto it = h.network.begin(); it != h.network.end(); ++it) {
    if (it->to == follower && std::holds_alternative<append_entries>(it->body)) {
      auto m = std::move(*it);
      h.network.erase(it);
      f.d->step(std::move(m), h.now);
      break;
    }
  }
  BOOST_REQUIRE(f.sync_pending);
  const term_t term = f.d->status().term;
  for (int i = 0; i < 5; ++i) f.d->tick(h.now);
  f.d->step({leader, follower, term, heartbeat{1, 0, 1}}, h.now);
  for (int i = 0; i < 9; ++i) f.d->tick(h.now);  // 9 < election timeout (10): no campaign
  h.network.clear();
  f.complete_sync(h.now);
  for (const auto& m : h.network) {
    BOOST_TEST(!(m.from == follower && std::holds_alternative<vote_request>(m.body)),
               "the follower campaigned although it heard from its leader 9 ticks ago");
  }
  BOOST_TEST((f.d->status().role == role::follower));
  BOOST_TEST(f.d->status().leader == leader);
}

BOOST_AUTO_TEST_CASE(a_stale_read_is_served_at_once_by_any_node_from_what_it_applied) {
  harness h;
  const node_id leader = h.elect();
  const node_id follower = leader == 3 ? 2 : 3;
  h.isolated.insert(follower);  // the follower will not see the write
  h.at(leader).d->propose(1, "w", h.now);
  h.settle();
  h.at(follower).d->read(2, "st", read_mode::stale, h.now);
  BOOST_REQUIRE(h.at(follower).answers.count(2) == 1u);  // no round, no waiting
  BOOST_TEST((h.at(follower).answers[2].code == outcome_code::ok));
  BOOST_TEST(h.at(follower).answers[2].reply == "0 st");  // stale: the write is missing, as documented
  h.at(leader).d->read(3, "st", read_mode::stale, h.now);
  BOOST_TEST(h.at(leader).answers[3].reply == "1 st");
}

BOOST_AUTO_TEST_CASE(a_session_read_on_a_follower_waits_until_it_applied_the_sessions_index) {
  harness h;
  const node_id leader = h.elect();
  const node_id follower = leader == 3 ? 2 : 3;
  h.isolated.insert(follower);
  h.at(leader).d->propose(1, "w", h.now);
  h.settle();
  BOOST_REQUIRE((h.at(leader).answers[1].code == outcome_code::ok));
  const index_t written = 2;  // after the leader's no-op
  // The session saw index 2; the follower has not applied it: the read waits, unanswered.
  h.at(follower).d->read(2, "se", read_mode::session, h.now, written);
  BOOST_TEST(h.at(follower).answers.empty());
  BOOST_TEST(h.at(follower).d->pending_reads() == 1u);
  // Reconnected, the follower catches up and serves it: the session reads its own write.
  h.isolated.clear();
  for (int i = 0; i < 3; ++i) {
    h.now += 1'000'000;
    for (node_id t : {1, 2, 3}) h.at(t).d->tick(h.now);
    h.settle();
  }
  BOOST_REQUIRE(h.at(follower).answers.count(2) == 1u);
  BOOST_TEST((h.at(follower).answers[2].code == outcome_code::ok));
  BOOST_TEST(h.at(follower).answers[2].reply == "1 se");
  // A bound already applied: served at once.
  h.at(follower).d->read(3, "se", read_mode::session, h.now, written);
  BOOST_TEST(h.at(follower).answers[3].reply == "1 se");
}

BOOST_AUTO_TEST_CASE(a_session_read_that_cannot_be_served_in_time_is_unavailable) {
  driver_options opts;
  opts.session_read_wait_ns = 5'000'000;  // 5 ticks
  harness h(opts);
  const node_id leader = h.elect();
  const node_id follower = leader == 3 ? 2 : 3;
  h.isolated.insert(follower);
  h.at(follower).d->read(1, "se", read_mode::session, h.now, 1'000);
  for (int i = 0; i < 4; ++i) {
    h.now += 1'000'000;
    h.at(follower).d->tick(h.now);
  }
  BOOST_TEST(h.at(follower).answers.empty());  // still within its wait
  h.now += 2'000'000;
  h.at(follower).d->tick(h.now);
  BOOST_REQUIRE(h.at(follower).answers.count(1) == 1u);
  BOOST_TEST((h.at(follower).answers[1].code == outcome_code::unavailable));
  BOOST_TEST(h.at(follower).d->pending_reads() == 0u);
}

// ---- membership requests (driver_membership.cpp) ---------------------------------------------------

namespace {

/// Ticks everyone and settles until `done` holds; fails after `ticks` ticks.
template <class Pred>
void run_until(harness& h, Pred done, int ticks = 500) {
  for (int t = 0; t < ticks; ++t) {
    h.settle();
    if (done()) return;
    h.now += 1'000'000;
    for (auto& [id, m] : h.members) m->d->tick(h.now);
  }
  BOOST_FAIL("condition not reached within " << ticks << " ticks");
}

/// A node that joins: no bootstrap configuration, so it never campaigns (consensus/core/types.hpp).
void start_joining(harness& h, node_id id) {
  auto m = std::make_unique<member>();
  m->h = &h;
  m->id = id;
  config c = base_config(id);
  c.voters.clear();
  auto core = node::create(c, m->store);
  BOOST_REQUIRE(core.ok());
  m->d = std::make_unique<driver>(std::move(*core), m->store, m->sm, *m);
  h.members[id] = std::move(m);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_joining_node_is_added_as_learner_promoted_and_the_leader_removes_itself) {
  harness h;
  const node_id leader = h.elect();
  auto& l = h.at(leader);
  l.d->propose(1, "before", h.now);
  h.settle();
  start_joining(h, 4);
  BOOST_TEST(h.at(4).d->status().membership.voters.empty());

  // A follower refuses and names the leader; an invalid change is rejected with the reason.
  const node_id follower = leader == 1 ? 2 : 1;
  h.at(follower).d->change_membership(10, {{conf_change::kind::add_learner, 4, "h4:1"}}, h.now);
  BOOST_TEST((h.at(follower).answers.at(10).code == outcome_code::not_leader));
  BOOST_TEST(h.at(follower).answers.at(10).leader == leader);
  l.d->change_membership(11, {{conf_change::kind::add_voter, follower, ""}}, h.now);
  BOOST_TEST((l.answers.at(11).code == outcome_code::rejected));
  BOOST_TEST(l.answers.at(11).reply.find("is a voter") != std::string::npos);

  // Add node 4 as a learner: answered once committed; node 4 learns the log and the addresses.
  l.d->change_membership(12, {{conf_change::kind::add_learner, 4, "h4:1"}}, h.now);
  run_until(h, [&] { return l.answers.count(12) == 1 && h.at(4).sm.applied.size() == 1; });
  BOOST_TEST((l.answers.at(12).code == outcome_code::ok));
  BOOST_TEST(h.at(4).d->status().learner);
  BOOST_REQUIRE(address_of(h.at(4).d->status().membership, 4) != nullptr);
  BOOST_TEST(*address_of(h.at(4).d->status().membership, 4) == "h4:1");
  BOOST_TEST(h.at(4).sm.applied.front() == "before");

  // Promote it (C_old,new then C_new): ok only once C_new is committed.
  l.d->change_membership(13, {{conf_change::kind::add_voter, 4, ""}}, h.now);
  // A second change while this one runs (queued behind the leader's sync): busy.
  l.d->change_membership(14, {{conf_change::kind::remove, 4, ""}}, h.now);
  run_until(h, [&] { return l.answers.count(14) == 1; });
  BOOST_TEST((l.answers.at(14).code == outcome_code::busy));
  run_until(h, [&] { return l.answers.count(13) == 1; });
  BOOST_TEST((l.answers.at(13).code == outcome_code::ok));
  BOOST_TEST(!l.d->status().conf_change_pending);
  BOOST_TEST((l.d->status().membership.voters == std::vector<node_id>{1, 2, 3, 4}));

  // The leader removes itself: ok once C_new commits, then it hands over (thesis §4.2.2).
  l.d->change_membership(15, {{conf_change::kind::remove, leader, ""}}, h.now);
  run_until(h, [&] { return l.answers.count(15) == 1; });
  BOOST_TEST((l.answers.at(15).code == outcome_code::ok));
  node_id next = no_node;
  run_until(h, [&] {
    for (node_id id : {1, 2, 3, 4}) {
      if (id != leader && h.at(id).d->status().role == role::leader) next = id;
    }
    return next != no_node;
  });
  BOOST_TEST((l.d->status().role != role::leader));
  const auto& conf = h.at(next).d->status().membership;
  BOOST_TEST((std::find(conf.voters.begin(), conf.voters.end(), leader) == conf.voters.end()));

  // Leadership transfer to another voter: ok once it leads; to a non-voter: rejected.
  node_id target = no_node;
  for (node_id id : conf.voters) {
    if (id != next) target = id;
  }
  auto& n = h.at(next);
  n.d->transfer_leadership(20, leader, h.now);
  BOOST_TEST((n.answers.at(20).code == outcome_code::rejected));
  n.d->transfer_leadership(21, target, h.now);
  run_until(h, [&] { return n.answers.count(21) == 1; });
  BOOST_TEST((n.answers.at(21).code == outcome_code::ok));
  BOOST_TEST((h.at(target).d->status().role == role::leader));
}

// While the leader syncs, the acknowledgement that commits one change and a second change request
// are queued together and fed to the core back to back. The first change must still be answered
// (it was overwritten by the second and never answered: its client saw a timeout).
BOOST_AUTO_TEST_CASE(a_change_queued_right_behind_the_ack_completing_the_previous_one_answers_both) {
  harness h;
  const node_id leader = h.elect();
  auto& l = h.at(leader);
  start_joining(h, 4);
  l.d->change_membership(1, {{conf_change::kind::add_learner, 4, "h4:1"}}, h.now);
  BOOST_REQUIRE(l.sync_pending);
  l.complete_sync(h.now);  // the entry is durable on the leader; its AppendEntries are out
  // The others take it in and acknowledge; the acknowledgements to the leader are held back.
  std::deque<raft_message> to_leader = h.deliver_all_but_to(leader);
  BOOST_REQUIRE(!to_leader.empty());
  l.d->propose(2, "during", h.now);  // the leader is in a sync when they arrive
  BOOST_REQUIRE(l.sync_pending);
  for (auto& m : to_leader) l.d->step(std::move(m), h.now);
  l.d->change_membership(3, {{conf_change::kind::remove, 4, ""}}, h.now);
  BOOST_REQUIRE(l.answers.count(1) == 0);
  h.settle();
  BOOST_REQUIRE_MESSAGE(l.answers.count(1) == 1, "the first change was never answered");
  BOOST_TEST((l.answers.at(1).code == outcome_code::ok));
  run_until(h, [&] { return l.answers.count(3) == 1; });
  BOOST_TEST((l.answers.at(3).code == outcome_code::ok));
}

// Raft §7: the driver compacts by its thresholds (snapshot taken, stored, then the log prefix
// dropped), and a follower that missed the compacted entries is brought up by InstallSnapshot:
// chunks made durable by its sync before it acknowledges, the state machine restored, the entries
// after the snapshot applied.
BOOST_AUTO_TEST_CASE(a_leader_compacts_by_entry_count_and_a_lagging_follower_catches_up_through_its_snapshot) {
  driver_options opts;
  opts.snapshot_entries = 5;
  harness h(opts);
  const node_id leader = h.elect();
  const node_id lagging = leader == 3 ? 2 : 3;
  h.isolated.insert(lagging);
  auto& l = h.at(leader);
  for (ticket t = 1; t <= 20; ++t) {
    l.d->propose(t, "c" + std::to_string(t), h.now);
    h.settle();
    BOOST_REQUIRE_MESSAGE((l.answers[t].code == outcome_code::ok), "proposal " << t);
  }
  BOOST_TEST(l.d->counters().snapshots_saved >= 3u);
  BOOST_TEST(l.store.first_index() > 15u);
  BOOST_TEST(l.d->status().snapshot_index + 1 == l.store.first_index());
  BOOST_REQUIRE(l.snapshots.latest().has_value());
  BOOST_TEST(l.snapshots.latest()->metadata.last_index == l.d->status().snapshot_index);

  h.isolated.clear();
  auto& f = h.at(lagging);
  for (int t = 0; t < 200 && f.d->status().applied < l.d->status().applied; ++t) {
    h.now += 1'000'000;
    for (auto& [id, m] : h.members) m->d->tick(h.now);
    h.settle();
  }
  BOOST_REQUIRE(f.d->status().applied == l.d->status().applied);
  BOOST_TEST(f.sm.applied == l.sm.applied);
  BOOST_TEST(f.d->counters().snapshots_restored == 1u);
  BOOST_TEST(f.d->core_counters().snapshots_installed == 1u);
  BOOST_TEST(f.store.first_index() > 1u);
  BOOST_TEST(l.d->core_counters().snapshot_sends_started >= 1u);
  // Replication carries on by AppendEntries afterwards.
  l.d->propose(100, "after", h.now);
  h.settle();
  h.now += 1'000'000;
  for (auto& [id, m] : h.members) m->d->tick(h.now);
  h.settle();
  BOOST_TEST((l.answers[100].code == outcome_code::ok));
  BOOST_TEST(f.sm.applied.back() == "after");
}

BOOST_AUTO_TEST_CASE(compaction_by_bytes_and_never_without_a_threshold) {
  {
    driver_options opts;
    opts.snapshot_bytes = 100;
    harness h(opts);
    auto& l = h.at(h.elect());
    for (ticket t = 1; t <= 3; ++t) {
      l.d->propose(t, std::string(40, 'x'), h.now);
      h.settle();
    }
    BOOST_TEST(l.d->counters().snapshots_saved == 1u);  // after 120 bytes, not after 80
    BOOST_TEST(l.store.first_index() > 1u);
  }
  harness h;  // both thresholds 0
  auto& l = h.at(h.elect());
  for (ticket t = 1; t <= 30; ++t) l.d->propose(t, std::string(40, 'x'), h.now);
  h.settle();
  BOOST_TEST(l.d->counters().snapshots_saved == 0u);
  BOOST_TEST(l.store.first_index() == 1u);
}

// A compaction while the leader sends a snapshot would replace it and restart the transfer from 0:
// the driver waits while a transfer runs, up to four thresholds' worth of log.
BOOST_AUTO_TEST_CASE(compaction_waits_while_a_snapshot_transfer_runs_up_to_four_thresholds) {
  driver_options opts;
  opts.snapshot_entries = 5;
  harness h(opts);
  const node_id leader = h.elect();
  const node_id lagging = leader == 3 ? 2 : 3;
  auto& l = h.at(leader);
  h.isolated.insert(lagging);
  ticket t = 1;
  auto propose = [&](int n) {
    for (int i = 0; i < n; ++i, ++t) {
      l.d->propose(t, "c" + std::to_string(t), h.now);
      h.settle();
      BOOST_REQUIRE((l.answers[t].code == outcome_code::ok));
    }
  };
  propose(6);
  const auto saved = l.d->counters().snapshots_saved;
  BOOST_REQUIRE(saved >= 1u);
  // Let the lagging follower back until the leader starts sending it the snapshot, then cut it
  // off again: the transfer stays in progress.
  h.isolated.clear();
  auto sending = [&] {
    for (const auto& p : l.d->peers()) {
      if (p.id == lagging && p.snapshot) return true;
    }
    return false;
  };
  for (int round = 0; round < 200 && !sending(); ++round) {
    h.now += 1'000'000;
    for (auto& [id, m] : h.members) m->d->tick(h.now);
    while (!h.network.empty() && !sending()) {
      auto msg = std::move(h.network.front());
      h.network.pop_front();
      h.at(msg.to).d->step(std::move(msg), h.now);
      for (auto& [id, m] : h.members) {
        if (m->sync_pending) m->complete_sync(h.now);
      }
    }
  }
  BOOST_REQUIRE(sending());
  h.isolated.insert(lagging);
  h.settle();
  propose(10);  // past one threshold, below four
  BOOST_TEST(l.d->counters().snapshots_saved == saved);
  BOOST_TEST(l.d->counters().snapshot_saves_deferred > 0u);
  BOOST_TEST(sending());
  propose(12);  // past four thresholds: compacts anyway (the log must not grow without bound)
  BOOST_TEST(l.d->counters().snapshots_saved == saved + 1);
}

// A save that fails (the snapshot file's disk is full) leaves the log uncompacted; the next attempt
// waits for another threshold's worth of entries. Retrying after every batch serialized the whole
// state machine on the actor's thread each time, for as long as the disk stayed full.
BOOST_AUTO_TEST_CASE(a_failed_snapshot_save_is_retried_a_threshold_later_not_after_every_batch) {
  driver_options opts;
  opts.snapshot_entries = 5;
  harness h(opts);
  auto& l = h.at(h.elect());
  l.fail_saves = true;
  ticket t = 1;
  for (; t <= 20; ++t) {
    l.d->propose(t, "c" + std::to_string(t), h.now);
    h.settle();
    BOOST_REQUIRE((l.answers[t].code == outcome_code::ok));
  }
  // 21 entries applied (the no-op and 20 commands): attempts at 5, 10, 15 and 20 at the most.
  BOOST_TEST(l.saves_started >= 3);
  BOOST_TEST(l.saves_started <= 4);
  BOOST_TEST(l.d->counters().snapshot_saves_failed == static_cast<std::uint64_t>(l.saves_started));
  BOOST_TEST(l.d->counters().snapshots_saved == 0u);
  BOOST_TEST(l.store.first_index() == 1u);
  // Once the disk has room again, the next threshold compacts.
  l.fail_saves = false;
  for (const ticket end = t + 5; t < end; ++t) {
    l.d->propose(t, "c" + std::to_string(t), h.now);
    h.settle();
  }
  BOOST_TEST(l.d->counters().snapshots_saved == 1u);
  BOOST_TEST(l.store.first_index() > 20u);
}
