#include "consensus/actor/force_new_cluster.hpp"

#include <algorithm>

#include "consensus/actor/snapshot_io.hpp"
#include "consensus/core/membership.hpp"
#include "consensus/storage/sqlite_snapshot_store.hpp"

namespace troupe::raft {

namespace {

std::string describe(const membership& m) {
  std::string out = "voters";
  for (node_id v : m.voters) out += " " + std::to_string(v);
  if (!m.voters_outgoing.empty()) {
    out += " (joint, outgoing";
    for (node_id v : m.voters_outgoing) out += " " + std::to_string(v);
    out += ")";
  }
  if (!m.learners.empty()) {
    out += ", learners";
    for (node_id v : m.learners) out += " " + std::to_string(v);
  }
  return out;
}

}  // namespace

result<forced_cluster> force_new_cluster(sqlite_log_storage& log, node_id self, const std::string& self_address) {
  if (self == no_node) return make_error(errc::invalid_argument, "force_new_cluster: node id 0");
  auto hs = log.initial_hard_state();
  if (!hs) return hs.err();
  const index_t last = log.last_index();
  forced_cluster out;
  out.previous_commit = hs->commit;

  // The configuration in effect now: the latest entry, else the snapshot's.
  auto at = log.last_config_index(last);
  if (!at) return at.err();
  membership current = log.last_snapshot().membership;
  if (*at != 0) {
    auto es = log.entries(*at, *at + 1, ~std::uint64_t{0});
    if (!es) return es.err();
    auto m = decode_membership(es->front().data);
    if (!m) return make_error(errc::corrupt, log.path() + ": configuration entry at index " + std::to_string(*at) +
                                                 ": " + m.err().message);
    current = std::move(*m);
  }
  out.previous_members = current.voters.empty() ? std::string("none recorded (the --peers of the first start)")
                                                 : describe(current);
  membership alone;
  alone.voters = {self};
  if (!self_address.empty()) set_address(alone, self, self_address);
  if (current == alone && hs->commit == last) return out;  // already done: nothing to force

  auto last_term = log.term(last);
  if (!last_term) return last_term.err();
  // A term of its own, above every term this node saw: another survivor (the old leader of the
  // current term) may hold a different entry at this index in the current term, and two entries
  // with one index and term must be the same one (Log Matching, Raft §5.3).
  const term_t term = std::max(hs->term, *last_term) + 1;
  const log_entry entry{term, last + 1, entry_type::config, encode_membership(alone)};
  if (auto s = log.append(std::span(&entry, 1)); !s) return s.err();
  hard_state next = *hs;
  next.term = term;
  next.voted_for = no_node;  // a new term: no vote cast in it yet
  next.commit = last + 1;
  if (auto s = log.set_hard_state(next); !s) return s.err();
  if (auto s = log.sync(); !s) return s.err();
  out.changed = true;
  out.config_index = last + 1;
  out.newly_committed = last - std::min(last, hs->commit);
  return out;
}

result<forced_cluster> force_new_cluster_files(const std::string& log_path, const std::string& snapshot_path,
                                               node_id self, const std::string& self_address) {
  auto log = sqlite_log_storage::open(log_path);
  if (!log) return log.err();
  auto snapshots = sqlite_snapshot_store::open(snapshot_path);
  if (!snapshots) return snapshots.err();
  if (auto installed = install_latest_in_log(**log, **snapshots); !installed) return installed.err();
  return force_new_cluster(**log, self, self_address);
}

}  // namespace troupe::raft
