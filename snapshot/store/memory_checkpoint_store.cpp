#include "snapshot/store/memory_checkpoint_store.hpp"

#include <algorithm>

#include <cassert>
#include <utility>

#include "snapshot/store/parts.hpp"
#include "snapshot/store/rules.hpp"

namespace troupe::checkpoint::store {

using parts::prefix;

status memory_checkpoint_store::save(const global_state& state, const checkpoint_metadata& meta) {
  if (auto s = rules::check_save(state, meta); !s) return s;
  if (entries_.contains(state.id)) {
    return make_error(errc::busy, prefix(state.id) + "already stored");
  }
  if (saves_to_fail_ > 0) {
    --saves_to_fail_;
    return make_error(errc::io,
                      prefix(state.id) + "injected I/O error while saving (memory store)");
  }
  entry e;
  e.stored.participants = rules::participants_of(state, meta);
  e.stored.summary = rules::summarize(state, meta, e.stored.participants);
  if (rules::stores_parts(meta)) e.state = state;
  assert(e.stored.participants.size() == e.stored.summary.participant_count);
  entries_.emplace(state.id, std::move(e));
  highest_ = std::max(highest_, state.id);
  apply_retention();
  return {};
}

result<std::vector<checkpoint_summary>> memory_checkpoint_store::list() {
  std::vector<checkpoint_summary> out;
  out.reserve(entries_.size());
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    out.push_back(it->second.stored.summary);
  }
  return out;
}

result<checkpoint_id> memory_checkpoint_store::highest_id() {
  return highest_;
}

result<manifest> memory_checkpoint_store::show(checkpoint_id id) {
  const auto found = entries_.find(id);
  if (found == entries_.end()) return make_error(errc::not_found, prefix(id) + "not stored");
  return found->second.stored;
}

result<global_state> memory_checkpoint_store::load(checkpoint_id id) {
  const auto found = entries_.find(id);
  if (found == entries_.end()) return make_error(errc::not_found, prefix(id) + "not stored");
  const entry& e = found->second;
  if (auto why = rules::incomplete_reason(e.stored.summary, e.stored.participants)) {
    return make_error(errc::invalid_argument, *why);
  }
  if (!e.damaged.empty()) {
    return make_error(errc::corrupt, prefix(id) + "participant " +
                                         std::to_string(*e.damaged.begin()) +
                                         ": local state fails its checksum (injected)");
  }
  return e.state;
}

status memory_checkpoint_store::remove(checkpoint_id id) {
  if (entries_.erase(id) == 0) return make_error(errc::not_found, prefix(id) + "not stored");
  return {};
}

status memory_checkpoint_store::keep_last(std::size_t complete) {
  keep_.keep_last = complete;
  apply_retention();
  return {};
}

void memory_checkpoint_store::damage(checkpoint_id id, participant_id participant) {
  auto found = entries_.find(id);
  assert(found != entries_.end() && "damage: the test names a stored checkpoint");
  found->second.damaged.insert(participant);
}

void memory_checkpoint_store::apply_retention() {
  std::vector<std::pair<checkpoint_id, bool>> newest_first;
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    newest_first.emplace_back(it->first, it->second.stored.summary.complete());
  }
  for (const auto id : rules::expired(newest_first, keep_)) entries_.erase(id);
}

}  // namespace troupe::checkpoint::store
