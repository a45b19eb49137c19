#include "examples/kv/kv_store.hpp"

#include <algorithm>
#include <cassert>

namespace troupe::kv {

namespace {
std::size_t event_bytes(const change_event& e) { return e.key.size() + e.value.size(); }
}  // namespace

kv_store::kv_store(history_limits limits) : limits_(limits) {
  if (limits_.retention_revisions == 0) limits_.retention_revisions = 1;
}

kv_store::kv_store(const kv_store& other)
    : limits_(other.limits_),
      data_(other.data_),
      data_bytes_(other.data_bytes_),
      revision_(other.revision_),
      compacted_revision_(other.compacted_revision_),
      in_batch_(other.in_batch_),
      batch_changed_(other.batch_changed_),
      history_(other.history_),
      history_bytes_(other.history_bytes_) {
  rebuild_index();
}

kv_store& kv_store::operator=(const kv_store& other) {
  if (this != &other) {
    kv_store copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void kv_store::rebuild_index() {
  index_.clear();
  index_.reserve(data_.size());
  for (auto it = data_.begin(); it != data_.end(); ++it) index_.emplace(it->first, it);
}

const key_record* kv_store::find(std::string_view key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &it->second->second;
}

std::optional<revision_t> kv_store::write(const std::vector<write_op>& writes, std::vector<bool>* existed) {
  if (existed) existed->assign(writes.size(), false);
  begin_batch();
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const auto& w = writes[i];
    if (w.kind == change_kind::del) {
      const bool was = erase(w.key);
      if (existed) (*existed)[i] = was;
    } else {
      if (existed) (*existed)[i] = find(w.key) != nullptr;
      put(w.key, w.value);
    }
  }
  return end_batch();
}

void kv_store::begin_batch() {
  assert(!in_batch_);
  in_batch_ = true;
  batch_changed_ = false;
}

void kv_store::put(const std::string& key, const std::string& value) {
  assert(in_batch_);
  const revision_t next = revision_ + 1;
  auto hit = index_.find(std::string_view(key));
  data_map::iterator it;
  if (hit != index_.end()) {
    it = hit->second;
  } else {
    it = data_.emplace(key, key_record{{}, next, next, 0}).first;
    index_.emplace(it->first, it);
    data_bytes_ += key.size();
  }
  key_record& rec = it->second;
  data_bytes_ = data_bytes_ - rec.value.size() + value.size();
  rec.value = value;
  rec.mod_revision = next;
  ++rec.version;
  record(change_event{next, change_kind::put, key, value, rec.create_revision, rec.version});
  batch_changed_ = true;
}

bool kv_store::erase(const std::string& key) {
  assert(in_batch_);
  auto hit = index_.find(std::string_view(key));
  if (hit == index_.end()) return false;  // nothing to delete: no change, no event
  const auto it = hit->second;
  const revision_t created = it->second.create_revision;
  data_bytes_ -= it->first.size() + it->second.value.size();
  index_.erase(hit);  // before the node (and the key it views) goes
  data_.erase(it);
  record(change_event{revision_ + 1, change_kind::del, key, {}, created, 0});
  batch_changed_ = true;
  return true;
}

std::optional<revision_t> kv_store::end_batch() {
  assert(in_batch_);
  in_batch_ = false;
  if (!batch_changed_) return std::nullopt;
  ++revision_;
  compact();
  return revision_;
}

void kv_store::record(change_event event) {
  history_bytes_ += event_bytes(event);
  history_.push_back(std::move(event));
}

void kv_store::compact() {
  // Whole revisions at a time, oldest first, so compacted_revision_ stays a clean boundary.
  auto too_old = [this] {
    return !history_.empty() && history_.front().revision + limits_.retention_revisions <= revision_;
  };
  auto too_big = [this] { return !history_.empty() && history_bytes_ > limits_.max_history_bytes; };
  while (too_old() || too_big()) {
    const revision_t oldest = history_.front().revision;
    while (!history_.empty() && history_.front().revision == oldest) {
      history_bytes_ -= event_bytes(history_.front());
      history_.pop_front();
    }
    compacted_revision_ = oldest;
  }
  assert(history_.empty() || history_.front().revision > compacted_revision_);
}

std::string kv_store::assign(std::map<std::string, key_record, std::less<>> data, std::deque<change_event> history,
                             revision_t revision, revision_t compacted_revision) {
  if (compacted_revision > revision) return "compacted revision above the store's revision";
  std::size_t data_bytes = 0;
  for (const auto& [key, rec] : data) {
    if (key.empty()) return "an empty key";
    if (rec.create_revision == 0 || rec.create_revision > rec.mod_revision || rec.mod_revision > revision ||
        rec.version == 0) {
      return "key record with impossible revisions or version";
    }
    data_bytes += key.size() + rec.value.size();
  }
  std::size_t history_bytes = 0;
  revision_t previous = compacted_revision;
  for (const auto& e : history) {
    if (e.revision <= compacted_revision || e.revision < previous || e.revision > revision) {
      return "history event out of revision order";
    }
    if (e.kind != change_kind::put && e.kind != change_kind::del) return "history event of unknown kind";
    if (e.key.empty()) return "history event with an empty key";
    previous = e.revision;
    history_bytes += event_bytes(e);
  }
  if (in_batch_) return "a batch is open";
  data_ = std::move(data);
  rebuild_index();
  history_ = std::move(history);
  revision_ = revision;
  compacted_revision_ = compacted_revision;
  data_bytes_ = data_bytes;
  history_bytes_ = history_bytes;
  return {};
}

std::vector<std::pair<std::string, key_record>> kv_store::list(const key_selector& selector,
                                                              std::string_view start_after, std::size_t limit,
                                                              std::size_t max_bytes, bool keys_only,
                                                              bool& more) const {
  more = false;
  std::vector<std::pair<std::string, key_record>> out;
  auto take = [&](const std::string& key, const key_record& rec) {
    out.emplace_back(key, rec);
    if (keys_only) out.back().second.value.clear();
  };
  if (!selector.prefix) {
    if (const auto* rec = find(selector.key); rec && (start_after.empty() || selector.key > start_after)) {
      take(selector.key, *rec);
    }
    return out;
  }
  auto it = start_after.empty() || start_after < std::string_view(selector.key) ? data_.lower_bound(selector.key)
                                                                             : data_.upper_bound(start_after);
  std::size_t bytes = 0;
  for (; it != data_.end() && selector.matches(it->first); ++it) {
    const std::size_t size = it->first.size() + (keys_only ? 0 : it->second.value.size());
    if (out.size() >= limit || (!out.empty() && bytes + size > max_bytes)) {
      more = true;
      break;
    }
    bytes += size;
    take(it->first, it->second);
  }
  return out;
}

changes_page kv_store::changes(const key_selector& selector, revision_t from, std::size_t max_events,
                               std::size_t max_bytes) const {
  changes_page page;
  page.revision = revision_;
  page.compacted_revision = compacted_revision_;
  if (from == 0) {
    page.next_revision = revision_ + 1;
    return page;
  }
  if (compacted_revision_ > 0 && from <= compacted_revision_) {
    page.compacted = true;
    page.next_revision = compacted_revision_ + 1;
    return page;
  }
  auto it = std::lower_bound(history_.begin(), history_.end(), from,
                             [](const change_event& e, revision_t r) { return e.revision < r; });
  std::size_t bytes = 0;
  page.next_revision = std::max(from, revision_ + 1);
  while (it != history_.end()) {
    // One revision: take all its matching events, or stop before it.
    const revision_t rev = it->revision;
    auto end = it;
    std::size_t rev_events = 0, rev_bytes = 0;
    for (; end != history_.end() && end->revision == rev; ++end) {
      if (!selector.matches(end->key)) continue;
      ++rev_events;
      rev_bytes += event_bytes(*end);
    }
    if (!page.events.empty() &&
        (page.events.size() + rev_events > max_events || bytes + rev_bytes > max_bytes)) {
      page.more = true;
      page.next_revision = rev;
      return page;
    }
    for (; it != end; ++it) {
      if (selector.matches(it->key)) page.events.push_back(*it);
    }
    bytes += rev_bytes;
  }
  return page;
}

}  // namespace troupe::kv
