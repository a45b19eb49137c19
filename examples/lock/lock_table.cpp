#include "examples/lock/lock_table.hpp"

#include <algorithm>
#include <limits>

namespace troupe::lock {

namespace {

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
  return b > std::numeric_limits<std::uint64_t>::max() - a ? std::numeric_limits<std::uint64_t>::max()
                                                            : a + b;
}

}  // namespace

const char* to_string(lease_state s) noexcept {
  switch (s) {
    case lease_state::holding: return "holding";
    case lease_state::waiting: return "waiting";
  }
  return "unknown";
}

const char* to_string(acquire_outcome o) noexcept {
  switch (o) {
    case acquire_outcome::granted: return "granted";
    case acquire_outcome::queued: return "queued";
    case acquire_outcome::held: return "held";
  }
  return "unknown";
}

lock_table::lock_table(lock_options options) : options_(options) {}

std::uint64_t lock_table::lifetime_ms(std::uint64_t ttl_ms) const noexcept {
  // The drift margin, rounded up so that a small TTL still gets at least one millisecond more.
  const std::uint64_t margin = (ttl_ms * options_.drift_ppm + 999'999) / 1'000'000;
  return saturating_add(ttl_ms, margin);
}

lease_info lock_table::info(lease_id id, const lease_rec& rec) const {
  lease_info out;
  out.id = id;
  out.name = rec.name;
  out.state = rec.token != 0 ? lease_state::holding : lease_state::waiting;
  out.ttl_ms = rec.ttl_ms;
  out.expiry_ms = rec.expiry_ms;
  out.token = rec.token;
  if (out.state == lease_state::waiting) {
    const auto lock = locks_.find(rec.name);
    if (lock != locks_.end()) {
      const auto& w = lock->second.waiters;
      out.position = static_cast<std::size_t>(std::find(w.begin(), w.end(), id) - w.begin()) + 1;
    }
  }
  return out;
}

void lock_table::set_expiry(lease_id id, lease_rec& rec, std::uint64_t expiry_ms) {
  by_expiry_.erase({rec.expiry_ms, id});
  rec.expiry_ms = expiry_ms;
  by_expiry_.insert({rec.expiry_ms, id});
}

void lock_table::renew(lease_id id, lease_rec& rec) {
  // Provisional until the next tick stamps it (README.md, "Time"): lock time lags the leader's
  // clock, so a renewal is counted from the next tick's time, which is later than the moment the
  // client sent it. The provisional expiry cannot pass before that tick replaces it.
  set_expiry(id, rec, saturating_add(now_ms_, lifetime_ms(rec.ttl_ms)));
  pending_.insert(id);
}

result<acquire_result> lock_table::acquire(std::string_view name, std::uint64_t ttl_ms, bool wait) {
  if (name.empty()) return make_error(errc::invalid_argument, "the lock name is empty");
  if (name.size() > options_.max_name_bytes) {
    return make_error(errc::too_large, "the lock name has " + std::to_string(name.size()) +
                                           " bytes, more than " + std::to_string(options_.max_name_bytes));
  }
  if (ttl_ms < options_.min_ttl_ms || ttl_ms > options_.max_ttl_ms) {
    return make_error(errc::invalid_argument, "the TTL " + std::to_string(ttl_ms) + " ms is outside " +
                                                  std::to_string(options_.min_ttl_ms) + ".." +
                                                  std::to_string(options_.max_ttl_ms) + " ms");
  }
  const auto lock = locks_.find(name);
  acquire_result out;
  if (lock != locks_.end()) {
    out.holder = lock->second.holder;
    out.holder_token = leases_.at(out.holder).token;
    if (!wait) {
      out.outcome = acquire_outcome::held;
      ++stats_.refusals;
      return out;
    }
    if (lock->second.waiters.size() >= options_.max_waiters_per_lock) {
      return make_error(errc::too_large, "lock '" + std::string(name) + "' already has " +
                                             std::to_string(lock->second.waiters.size()) + " waiters");
    }
  }
  if (leases_.size() >= options_.max_leases) {
    return make_error(errc::too_large, "the lease table is full (" + std::to_string(leases_.size()) + " leases)");
  }
  const lease_id id = next_lease_++;
  lease_rec rec;
  rec.name = std::string(name);
  rec.ttl_ms = ttl_ms;
  rec.expiry_ms = saturating_add(now_ms_, lifetime_ms(ttl_ms));
  if (lock == locks_.end()) {
    rec.token = ++last_token_;
    ++stats_.grants;
    locks_.emplace(rec.name, lock_rec{id, {}});
    out.outcome = acquire_outcome::granted;
  } else {
    lock->second.waiters.push_back(id);
    out.outcome = acquire_outcome::queued;
  }
  by_expiry_.insert({rec.expiry_ms, id});
  pending_.insert(id);
  const auto& stored = leases_.emplace(id, std::move(rec)).first->second;
  out.lease = info(id, stored);
  return out;
}

result<lease_info> lock_table::keep_alive(lease_id id) {
  const auto it = leases_.find(id);
  if (it == leases_.end()) {
    return make_error(errc::not_found, "lease " + std::to_string(id) + " has ended (expired or released)");
  }
  renew(id, it->second);
  return info(id, it->second);
}

result<transition> lock_table::release(lease_id id) {
  if (leases_.find(id) == leases_.end()) {
    return make_error(errc::not_found, "lease " + std::to_string(id) + " has ended (expired or released)");
  }
  transition out;
  end_lease(id, out, /*expired=*/false);
  return out;
}

void lock_table::end_lease(lease_id id, transition& out, bool expired) {
  const auto it = leases_.find(id);
  out.ended.push_back(info(id, it->second));
  const std::string name = it->second.name;
  by_expiry_.erase({it->second.expiry_ms, id});
  pending_.erase(id);
  leases_.erase(it);
  if (expired) {
    ++stats_.expirations;
  } else {
    ++stats_.releases;
  }
  const auto lock = locks_.find(name);
  if (lock->second.holder == id) {
    lock->second.holder = 0;
    if (lock->second.waiters.empty()) {
      locks_.erase(lock);
    } else {
      promote(name, lock->second, out);
    }
  } else {
    auto& w = lock->second.waiters;
    w.erase(std::find(w.begin(), w.end(), id));
  }
}

void lock_table::promote(const std::string& name, lock_rec& lock, transition& out) {
  const lease_id next = lock.waiters.front();
  lock.waiters.pop_front();
  lock.holder = next;
  auto& rec = leases_.at(next);
  rec.token = ++last_token_;
  ++stats_.grants;
  // A waiter gets a full TTL from the moment it is granted: it may have kept alive a moment ago or
  // almost a TTL ago, and either way it has not had the lock yet.
  renew(next, rec);
  out.grants.push_back(grant{name, next, rec.token});
}

transition lock_table::tick(std::uint64_t elapsed_ms, bool restart) {
  transition out;
  if (restart) {
    // etcd's lessor does the same on a leader change (Promote): the new leader cannot know how long
    // the old one was silent, nor can holders reach anyone during the election, so every lease gets
    // at least a full lifetime from the new leader's first tick, which also stamps the provisional
    // renewals (they reached the log before this tick was proposed).
    for (auto& [id, rec] : leases_) {
      const std::uint64_t at_least = saturating_add(now_ms_, lifetime_ms(rec.ttl_ms));
      if (rec.expiry_ms < at_least) set_expiry(id, rec, at_least);
    }
    pending_.clear();
    return out;
  }
  now_ms_ = saturating_add(now_ms_, elapsed_ms);
  // Renewals since the previous tick count from this one's time.
  for (const lease_id id : pending_) {
    auto& rec = leases_.at(id);
    set_expiry(id, rec, saturating_add(now_ms_, lifetime_ms(rec.ttl_ms)));
  }
  pending_.clear();
  // End the expired leases in (expiry, id) order: the same on every replica. Waiters go too, so a
  // freed lock then goes to the oldest waiter that is still alive.
  std::vector<lease_id> expired;
  for (const auto& [expiry, id] : by_expiry_) {
    if (expiry > now_ms_) break;
    expired.push_back(id);
  }
  // Waiters first: a holder's end promotes its next waiter, which must be one still alive.
  for (const lease_id id : expired) {
    if (leases_.at(id).token == 0) end_lease(id, out, /*expired=*/true);
  }
  for (const lease_id id : expired) {
    const auto it = leases_.find(id);
    if (it != leases_.end()) end_lease(id, out, /*expired=*/true);
  }
  return out;
}

lock_status lock_table::status(std::string_view name) const {
  lock_status out;
  out.name = std::string(name);
  out.now_ms = now_ms_;
  const auto lock = locks_.find(name);
  if (lock == locks_.end()) return out;
  out.holder = info(lock->second.holder, leases_.at(lock->second.holder));
  for (const lease_id w : lock->second.waiters) out.waiters.push_back(info(w, leases_.at(w)));
  return out;
}

std::optional<lease_info> lock_table::lease(lease_id id) const {
  const auto it = leases_.find(id);
  if (it == leases_.end()) return std::nullopt;
  return info(id, it->second);
}

std::string lock_table::check_invariants() const {
  if (by_expiry_.size() != leases_.size()) return "expiry index and lease table differ in size";
  for (const lease_id id : pending_) {
    if (leases_.count(id) == 0) return "a provisional renewal of no lease";
  }
  std::size_t placed = 0;
  for (const auto& [name, lock] : locks_) {
    const auto holder = leases_.find(lock.holder);
    if (holder == leases_.end()) return "lock '" + name + "' has no live holder";
    if (holder->second.name != name || holder->second.token == 0) return "lock '" + name + "' holder mismatch";
    ++placed;
    for (const lease_id w : lock.waiters) {
      const auto it = leases_.find(w);
      if (it == leases_.end() || it->second.name != name || it->second.token != 0) {
        return "lock '" + name + "' has a bad waiter " + std::to_string(w);
      }
      ++placed;
    }
  }
  if (placed != leases_.size()) return "a lease belongs to no lock";
  for (const auto& [id, rec] : leases_) {
    if (id == 0 || id >= next_lease_) return "lease id 0 or at or above the next one";
    if (rec.token > last_token_) return "token above the last one issued";
    if (by_expiry_.count({rec.expiry_ms, id}) == 0) return "lease missing from the expiry index";
  }
  return {};
}

}  // namespace troupe::lock
