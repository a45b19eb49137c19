#pragma once
/// The simulation's replicated state machine: a key-value map with client sessions (thesis §6.3: a
/// (client, sequence) pair is applied at most once; a retry gets the first answer again).

#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "consensus/core/snapshot_bytes.hpp"

namespace troupe::raft::testing {

/// put: key=value; cas: if key==expected then key=value. Encoded with '|' (keys and values in the
/// simulation never contain it).
struct kv_command {
  char kind = 'P';  ///< 'P' put, 'C' cas
  std::uint64_t client = 0;
  std::uint64_t seq = 0;
  std::string key;
  std::string value;
  std::string expected;

  std::string encode() const {
    return std::string(1, kind) + "|" + std::to_string(client) + "|" + std::to_string(seq) + "|" + key +
           "|" + value + "|" + expected;
  }
  static kv_command decode(const std::string& s) {
    kv_command c;
    std::istringstream in(s);
    std::string field;
    std::getline(in, field, '|');
    c.kind = field.empty() ? '?' : field[0];
    std::getline(in, field, '|');
    c.client = std::stoull(field);
    std::getline(in, field, '|');
    c.seq = std::stoull(field);
    std::getline(in, c.key, '|');
    std::getline(in, c.value, '|');
    std::getline(in, c.expected, '|');
    return c;
  }
};

struct kv_result {
  bool ok = true;  ///< cas: swapped
  friend bool operator==(const kv_result&, const kv_result&) = default;
};

class kv_machine {
 public:
  kv_result apply(const kv_command& c) {
    auto& session = sessions_[c.client];
    if (c.seq <= session.first) return session.second;  // a retry: at most once (thesis §6.3)
    kv_result r;
    if (c.kind == 'P') {
      data_[c.key] = c.value;
    } else {
      auto it = data_.find(c.key);
      r.ok = it != data_.end() && it->second == c.expected;
      if (r.ok) it->second = c.value;
    }
    session = {c.seq, r};
    return r;
  }
  std::optional<std::string> get(const std::string& key) const {
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  const std::map<std::string, std::string>& data() const { return data_; }

  /// The whole state, sessions included (Raft §7); deterministic (ordered maps).
  std::string snapshot() const {
    snapshot_writer w;
    w.u64(data_.size());
    for (const auto& [k, v] : data_) {
      w.bytes(k);
      w.bytes(v);
    }
    w.u64(sessions_.size());
    for (const auto& [client, s] : sessions_) {
      w.u64(client);
      w.u64(s.first);
      w.u8(s.second.ok ? 1 : 0);
    }
    return w.take();
  }
  /// Replaces the state by a snapshot() image; false (state unchanged) if it does not decode.
  bool restore(const std::string& image) {
    snapshot_reader r(image);
    std::map<std::string, std::string> data;
    for (auto n = r.count(16); n > 0 && r.ok(); --n) {
      auto k = r.bytes();
      data[k] = r.bytes();
    }
    std::map<std::uint64_t, std::pair<std::uint64_t, kv_result>> sessions;
    for (auto n = r.count(17); n > 0 && r.ok(); --n) {
      const auto client = r.u64();
      const auto seq = r.u64();
      sessions[client] = {seq, kv_result{r.u8() == 1}};
    }
    if (!r.ok() || !r.at_end()) return false;
    data_ = std::move(data);
    sessions_ = std::move(sessions);
    return true;
  }

 private:
  std::map<std::string, std::string> data_;
  std::map<std::uint64_t, std::pair<std::uint64_t, kv_result>> sessions_;
};

}  // namespace troupe::raft::testing
