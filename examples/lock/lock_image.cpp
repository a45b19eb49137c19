// lock_table::snapshot / restore: the table as bytes (consensus/core/snapshot_bytes.hpp encoding).
//
// Layout (integers u64 little-endian, strings length-prefixed):
//   magic "troupe-lock-1", now_ms, next_lease, last_token,
//   lease count, then per lease in id order: id, name, ttl_ms, expiry_ms, token, provisional (0/1),
//   lock count, then per lock in name order: name, holder, waiter count, waiters (oldest first).
// The expiry index is rebuilt from the leases. restore checks every cross-reference
// (check_invariants) before it replaces anything.

#include "consensus/core/snapshot_bytes.hpp"
#include "examples/lock/lock_table.hpp"

namespace troupe::lock {

namespace {
constexpr std::string_view image_magic = "troupe-lock-1";

error corrupt(std::string why) { return make_error(errc::corrupt, "lock image: " + std::move(why)); }
}  // namespace

std::string lock_table::snapshot() const {
  raft::snapshot_writer out;
  out.bytes(image_magic);
  out.u64(now_ms_);
  out.u64(next_lease_);
  out.u64(last_token_);
  out.u64(leases_.size());
  for (const auto& [id, rec] : leases_) {
    out.u64(id);
    out.bytes(rec.name);
    out.u64(rec.ttl_ms);
    out.u64(rec.expiry_ms);
    out.u64(rec.token);
    out.u64(pending_.count(id));
  }
  out.u64(locks_.size());
  for (const auto& [name, lock] : locks_) {
    out.bytes(name);
    out.u64(lock.holder);
    out.u64(lock.waiters.size());
    for (const lease_id w : lock.waiters) out.u64(w);
  }
  return out.take();
}

troupe::status lock_table::restore(std::string_view image) {
  raft::snapshot_reader in(image);
  if (in.bytes() != image_magic || !in.ok()) return corrupt("not a lock service image");
  lock_table t(options_);
  t.now_ms_ = in.u64();
  t.next_lease_ = in.u64();
  t.last_token_ = in.u64();
  // A lease takes at least 6 u64 fields; a lock at least 3; a waiter 1.
  const std::uint64_t leases = in.count(6 * 8);
  for (std::uint64_t i = 0; i < leases && in.ok(); ++i) {
    const lease_id id = in.u64();
    lease_rec rec;
    rec.name = in.bytes();
    rec.ttl_ms = in.u64();
    rec.expiry_ms = in.u64();
    rec.token = in.u64();
    const std::uint64_t provisional = in.u64();
    if (!in.ok()) break;
    if (provisional > 1) return corrupt("a lease's provisional flag is neither 0 nor 1");
    if (provisional == 1) t.pending_.insert(id);
    t.by_expiry_.insert({rec.expiry_ms, id});
    if (!t.leases_.emplace(id, std::move(rec)).second) return corrupt("lease " + std::to_string(id) + " appears twice");
  }
  const std::uint64_t locks = in.count(3 * 8);
  for (std::uint64_t i = 0; i < locks && in.ok(); ++i) {
    std::string name = in.bytes();
    lock_rec lock{in.u64(), {}};
    const std::uint64_t waiters = in.count(8);
    for (std::uint64_t w = 0; w < waiters && in.ok(); ++w) lock.waiters.push_back(in.u64());
    if (!in.ok()) break;
    if (!t.locks_.emplace(name, std::move(lock)).second) return corrupt("lock '" + name + "' appears twice");
  }
  if (!in.ok()) return corrupt("it ends early or holds a count larger than its bytes");
  if (!in.at_end()) return corrupt("it has bytes after its end");
  if (auto broken = t.check_invariants(); !broken.empty()) return corrupt("inconsistent: " + broken);
  t.stats_ = stats_;
  *this = std::move(t);
  return troupe::status::success();
}

}  // namespace troupe::lock
