#pragma once
/// Two peer_links joined by a simulated TCP connection: two FIFO pipes of frames, cut at will
/// (frames in flight are lost), and reconnected through a real handshake whose resume points come
/// from the peer_links. Every frame goes through the codec. Deterministic: no clock, no threads.

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "tests/unit/link/link_test_support.hpp"

namespace troupe::link::test {

struct sim_frame {
  frame_header header;
  wire::message payload;
};

/// One side: its peer_link and everything it reported.
struct sim_side {
  std::uint64_t id = 0;
  std::uint64_t incarnation = 0;
  std::unique_ptr<peer_link> link;
  std::vector<inbound_delivery> delivered;
  std::vector<lost_message> lost;
  std::vector<close_reason> closes;  ///< close verdicts the link produced
  std::string last_close_detail;
};

class link_pair {
 public:
  explicit link_pair(peer_link_config base = {}) : base_(base) {
    a.id = 1;
    b.id = 2;
    make(a, 100);
    make(b, 200);
  }

  sim_side a;
  sim_side b;
  std::deque<sim_frame> a_to_b;
  std::deque<sim_frame> b_to_a;
  std::chrono::nanoseconds now{1'000'000'000};
  std::uint8_t nonce_counter = 0;

  /// Replaces `side`'s process: a fresh peer_link with a new incarnation (state lost).
  void make(sim_side& side, std::uint64_t incarnation) {
    auto cfg = base_;
    cfg.self_incarnation = incarnation;
    side.incarnation = incarnation;
    side.link = std::make_unique<peer_link>(cfg);
  }

  bool connected() const { return a.link->attached() && b.link->attached(); }

  /// Both links' invariants; called after every step (STYLE.md: an invariants checker per core).
  void check() const {
    for (const sim_side* side : {&a, &b}) {
      auto st = side->link->check_invariants();
      if (!st) BOOST_FAIL("node " << side->id << ": " << st.err().message);
    }
  }

  /// Runs a handshake (a dials b) and attaches both sides. Returns false if the handshake failed.
  bool connect() {
    if (!prepare()) return false;
    attach_prepared();
    return connected();
  }

  /// A second connection's handshake, run now (resume points taken now) but attached later by
  /// switch_to_prepared(): what happens when both nodes dial each other at once.
  std::optional<std::pair<handshake_outcome, handshake_outcome>> prepared;

  /// The old connection breaks (keeping a prefix of what is in flight) and both sides switch to
  /// the prepared one, whose resume points may now be stale.
  void switch_to_prepared(std::size_t keep_a_to_b, std::size_t keep_b_to_a) {
    cut(keep_a_to_b, keep_b_to_a);
    attach_prepared();
  }

  bool prepare() {
    auto cfg_for = [&](sim_side& self, sim_side& other) {
      auto c = node_config(self.id, self.incarnation);
      peer_link* link = self.link.get();
      const std::uint64_t other_id = other.id;
      c.resume = [link, other_id](peer_role, std::uint64_t id) {
        BOOST_REQUIRE(id == other_id);
        return link->resume_point();
      };
      return c;
    };
    handshake d(cfg_for(a, b),
                connection_facts{handshake_side::dialer, b.id, false, make_nonce(++nonce_counter)});
    handshake acc(cfg_for(b, a), connection_facts{handshake_side::acceptor, 0, false,
                                                  make_nonce(++nonce_counter)});
    auto run = run_handshake(d, acc);
    if (!run.dialer_outcome || !run.acceptor_outcome) return false;
    prepared.emplace(*run.dialer_outcome, *run.acceptor_outcome);
    return true;
  }

  void attach_prepared() {
    BOOST_REQUIRE(prepared.has_value());
    absorb(b, b.link->attach(prepared->second, now));
    absorb(a, a.link->attach(prepared->first, now));
    prepared.reset();
    check();
  }

  /// The connection breaks: the first `keep_a_to_b` / `keep_b_to_a` frames in flight still arrive
  /// (TCP delivers a prefix), the rest is lost; both sides detach.
  void cut(std::size_t keep_a_to_b, std::size_t keep_b_to_a) {
    deliver(a_to_b, b, keep_a_to_b);
    deliver(b_to_a, a, keep_b_to_a);
    a_to_b.clear();
    b_to_a.clear();
    a.link->detach();
    b.link->detach();
    check();
  }

  /// Moves up to `max` frames from `from`'s link into its outgoing pipe.
  std::size_t pump(sim_side& from, std::size_t max) {
    auto& pipe = &from == &a ? a_to_b : b_to_a;
    std::size_t n = 0;
    while (n < max) {
      auto f = from.link->next_frame(now);
      if (!f) break;
      pipe.push_back(sim_frame{over_the_wire(f->header), std::move(f->payload)});
      ++n;
    }
    check();
    return n;
  }

  /// Hands up to `max` frames from `pipe` to `to`'s link.
  std::size_t deliver(std::deque<sim_frame>& pipe, sim_side& to, std::size_t max) {
    std::size_t n = 0;
    while (n < max && !pipe.empty()) {
      sim_frame f = std::move(pipe.front());
      pipe.pop_front();
      absorb(to, to.link->on_frame(f.header, std::move(f.payload), now));
      ++n;
    }
    check();
    return n;
  }

  void tick() {
    absorb(a, a.link->on_tick(now));
    absorb(b, b.link->on_tick(now));
    check();
  }

  /// Pumps, delivers and ticks until nothing moves (acks flushed included).
  void settle() {
    for (int round = 0; round < 100000; ++round) {
      std::size_t moved = pump(a, 64) + pump(b, 64);
      moved += deliver(a_to_b, b, 1u << 30) + deliver(b_to_a, a, 1u << 30);
      if (moved == 0) {
        tick();
        if (!a.link->wants_to_write() && !b.link->wants_to_write()) return;
      }
    }
    BOOST_FAIL("link_pair::settle did not settle");
  }

 private:
  static void absorb(sim_side& side, link_events e) {
    for (auto& d : e.deliveries) side.delivered.push_back(std::move(d));
    for (auto& l : e.lost) side.lost.push_back(std::move(l));
    if (e.close) {
      side.closes.push_back(*e.close);
      side.last_close_detail = e.close_detail;
    }
  }

  peer_link_config base_;
};

}  // namespace troupe::link::test
