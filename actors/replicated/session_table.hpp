#pragma once
/// Client sessions (Raft thesis section 6.3, "implementing linearizable semantics"): the state
/// machine remembers, per client, the sequence number of the last command it applied and the reply
/// it gave, so that a client retrying after a timeout gets that reply again instead of having its
/// command applied a second time.
///
/// Rules, for a request (client, sequence) reaching apply:
/// - known client, sequence == last: a duplicate (a retry, or a copy the network made): the cached
///   reply, nothing applied.
/// - known client, sequence > last: new; applied, its reply replaces the cached one. Gaps are
///   allowed (a client that gave up on a request moves on).
/// - known client, sequence < last: stale. Its reply was discarded when a later request was applied,
///   and it must not be applied now (it would take effect after a later command of the same
///   client). Answered with invalidRequest, not sessionExpired: the session is alive and the
///   client's latest request is still answered from it; only a client that broke the protocol (a
///   request retried after a newer one was sent) or a stale network copy can send this.
/// - unknown client, sequence == 1 and not recently evicted: opens a session.
/// - unknown client otherwise (sequence > 1, or its id is among the recently evicted): the session
///   is gone (evicted, or the client's first request never reached us and we cannot tell which),
///   so whether an earlier request was applied can no longer be told: sessionExpired. The client
///   must start a new session with a new client id.
///
/// The table is bounded by a number of sessions and by the bytes of cached replies. Beyond either,
/// the session used least recently (by log index of its last request, which is the same on every
/// replica) is evicted: eviction is deterministic, as the thesis requires. Evicted ids are
/// remembered in a bounded FIFO so that a client retrying its first request after eviction gets
/// sessionExpired rather than a second application. What remains: a client whose id fell out of
/// that FIFO too (after `remembered_evictions` further evictions) and then retries sequence 1 would
/// have it applied again; with the defaults that needs 200,000 other clients to be active between
/// its attempt and its retry.
///
/// Thread-safety: none; one owner (the state machine) calls it.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace troupe::replicated {

struct session_limits {
  std::size_t max_sessions = 100'000;
  /// Bytes of cached replies summed over all sessions.
  std::size_t max_reply_bytes = 64u << 20;
  /// Evicted client ids remembered, so that they get sessionExpired.
  std::size_t remembered_evictions = 100'000;
};

enum class session_verdict : std::uint8_t {
  fresh,      ///< apply it, then record()
  duplicate,  ///< answer with the cached reply
  stale,      ///< older than the last applied: invalidRequest
  expired,    ///< session unknown or evicted: sessionExpired
};

class session_table {
 public:
  explicit session_table(session_limits limits = {});

  /// What to do with (client, sequence). client and sequence are non-zero (the caller checks).
  session_verdict check(std::uint64_t client, std::uint64_t sequence) const;

  /// The cached reply of `client`'s last applied request. Precondition: check() said duplicate.
  std::string_view cached_reply(std::uint64_t client) const;

  /// The last applied sequence of `client`, 0 if unknown.
  std::uint64_t last_sequence(std::uint64_t client) const;

  /// Records that `sequence` of `client` was applied at log `index` with `reply` (opening the
  /// session if needed), then evicts least recently used sessions while over a limit (never the
  /// one just recorded). Precondition: check() said fresh; `index` is larger than any before.
  void record(std::uint64_t client, std::uint64_t sequence, std::string reply, std::uint64_t index);

  /// Marks `client`'s session as used at log `index` (a duplicate), for least-recently-used order.
  void touch(std::uint64_t client, std::uint64_t index);

  /// One session as a snapshot records it (kv_snapshot.hpp).
  struct entry {
    std::uint64_t client = 0;
    std::uint64_t sequence = 0;
    std::uint64_t last_index = 0;
    std::string reply;
  };
  /// An entry as for_each shows it: the reply is a view into the table (no copy per session).
  struct entry_view {
    std::uint64_t client = 0;
    std::uint64_t sequence = 0;
    std::uint64_t last_index = 0;
    std::string_view reply;
  };
  /// Calls `visit(const entry_view&)` for every session, least recently used first (the eviction
  /// order, the same on every replica, so the visit order is deterministic). The views are valid
  /// during the call.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (const auto& [index, client] : by_last_index_) {
      const session& s = sessions_.at(client);
      visit(entry_view{client, s.sequence, index, s.reply});
    }
  }
  /// Evicted client ids still remembered, oldest eviction first.
  const std::deque<std::uint64_t>& evicted_order() const { return evicted_order_; }

  /// Replaces the table by recorded parts: returns an empty string on success, else what is wrong
  /// (zero client or sequence, a client or last index twice, an evicted id twice or also live), the
  /// table unchanged. No eviction runs, even above the limits: the parts are what every replica held.
  std::string assign(std::vector<entry> sessions, std::deque<std::uint64_t> evicted_order,
                     std::uint64_t evictions);

  const session_limits& limits() const { return limits_; }
  std::size_t size() const { return sessions_.size(); }
  std::size_t reply_bytes() const { return reply_bytes_; }
  std::uint64_t evictions() const { return evictions_; }

 private:
  struct session {
    std::uint64_t sequence = 0;
    std::string reply;
    std::uint64_t last_index = 0;
  };
  void evict_oldest();

  session_limits limits_;
  std::unordered_map<std::uint64_t, session> sessions_;
  std::map<std::uint64_t, std::uint64_t> by_last_index_;  ///< last_index -> client (LRU order)
  std::size_t reply_bytes_ = 0;
  std::deque<std::uint64_t> evicted_order_;
  std::unordered_set<std::uint64_t> evicted_;
  std::uint64_t evictions_ = 0;
};

}  // namespace troupe::replicated
