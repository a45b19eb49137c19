#include "actors/replicated/session_table.hpp"

#include <cassert>

namespace troupe::replicated {

session_table::session_table(session_limits limits) : limits_(limits) {
  if (limits_.max_sessions == 0) limits_.max_sessions = 1;
}

session_verdict session_table::check(std::uint64_t client, std::uint64_t sequence) const {
  auto it = sessions_.find(client);
  if (it == sessions_.end()) {
    // Thesis 6.3: without its session we cannot tell whether an earlier request of this client was
    // applied; only a client's very first request may open a session.
    if (sequence != 1 || evicted_.count(client) != 0) return session_verdict::expired;
    return session_verdict::fresh;
  }
  if (sequence == it->second.sequence) return session_verdict::duplicate;
  return sequence > it->second.sequence ? session_verdict::fresh : session_verdict::stale;
}

std::string_view session_table::cached_reply(std::uint64_t client) const {
  auto it = sessions_.find(client);
  assert(it != sessions_.end());
  return it->second.reply;
}

std::uint64_t session_table::last_sequence(std::uint64_t client) const {
  auto it = sessions_.find(client);
  return it == sessions_.end() ? 0 : it->second.sequence;
}

void session_table::record(std::uint64_t client, std::uint64_t sequence, std::string reply,
                           std::uint64_t index) {
  auto [it, inserted] = sessions_.try_emplace(client);
  session& s = it->second;
  assert(inserted || sequence > s.sequence);
  if (!inserted) by_last_index_.erase(s.last_index);
  reply_bytes_ = reply_bytes_ - s.reply.size() + reply.size();
  s.sequence = sequence;
  s.reply = std::move(reply);
  s.last_index = index;
  const bool fresh_index = by_last_index_.emplace(index, client).second;
  assert(fresh_index);
  (void)fresh_index;
  while (sessions_.size() > limits_.max_sessions ||
         (reply_bytes_ > limits_.max_reply_bytes && sessions_.size() > 1)) {
    evict_oldest();
  }
}

void session_table::touch(std::uint64_t client, std::uint64_t index) {
  auto it = sessions_.find(client);
  if (it == sessions_.end() || it->second.last_index >= index) return;
  by_last_index_.erase(it->second.last_index);
  it->second.last_index = index;
  by_last_index_.emplace(index, client);
}

std::string session_table::assign(std::vector<entry> sessions, std::deque<std::uint64_t> evicted_order,
                                  std::uint64_t evictions) {
  std::unordered_map<std::uint64_t, session> table;
  std::map<std::uint64_t, std::uint64_t> by_last_index;
  std::size_t reply_bytes = 0;
  table.reserve(sessions.size());
  for (auto& e : sessions) {
    if (e.client == 0 || e.sequence == 0 || e.last_index == 0) return "a session with a zero field";
    if (!by_last_index.emplace(e.last_index, e.client).second) return "two sessions at one log index";
    reply_bytes += e.reply.size();
    if (!table.emplace(e.client, session{e.sequence, std::move(e.reply), e.last_index}).second) {
      return "a client with two sessions";
    }
  }
  std::unordered_set<std::uint64_t> evicted;
  for (std::uint64_t client : evicted_order) {
    if (!evicted.insert(client).second) return "an evicted client listed twice";
    // check() never reopens an evicted id, so no client is both live and evicted.
    if (table.count(client) != 0) return "an evicted client with a live session";
  }
  sessions_ = std::move(table);
  by_last_index_ = std::move(by_last_index);
  reply_bytes_ = reply_bytes;
  evicted_order_ = std::move(evicted_order);
  evicted_ = std::move(evicted);
  evictions_ = evictions;
  return {};
}

void session_table::evict_oldest() {
  // The oldest is never the one just recorded: that one has the largest index.
  auto oldest = by_last_index_.begin();
  assert(oldest != by_last_index_.end());
  const std::uint64_t client = oldest->second;
  by_last_index_.erase(oldest);
  auto it = sessions_.find(client);
  reply_bytes_ -= it->second.reply.size();
  sessions_.erase(it);
  ++evictions_;
  if (limits_.remembered_evictions == 0) return;
  if (evicted_.insert(client).second) evicted_order_.push_back(client);
  while (evicted_order_.size() > limits_.remembered_evictions) {
    evicted_.erase(evicted_order_.front());
    evicted_order_.pop_front();
  }
}

}  // namespace troupe::replicated
