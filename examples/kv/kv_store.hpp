#pragma once
/// The replicated key-value data of examples/kv: a map of keys to values with revisions, and a
/// bounded history of changes (the basis of watch). Pure C++: no CAF, no I/O, no clock, no
/// randomness; every replica that performs the same writes in the same order holds the same store.
///
/// Revisions (in the manner of etcd's MVCC store): the store has one global revision, 0 when empty,
/// raised by one for every write batch that changes something (a put, a delete of a present key, a
/// transaction's writes together). Each key records the revision that created it, the revision that
/// last modified it and its version (writes since it was created). A delete of an absent key changes
/// nothing and takes no revision.
///
/// History: every change is recorded as an event carrying its revision. The history keeps the
/// changes of the last `retention_revisions` revisions and at most `max_history_bytes` of keys and
/// values; older events are compacted away, whole revisions at a time, so `compacted_revision()` is
/// a clean boundary: every change with a larger revision is still there. Compaction depends only on
/// the writes, so it happens at the same revision on every replica.
///
/// Thread-safety: none; one owner (the state machine) calls it.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace troupe::kv {

using revision_t = std::uint64_t;

/// One key's current state.
struct key_record {
  std::string value;
  revision_t create_revision = 0;
  revision_t mod_revision = 0;
  std::uint64_t version = 0;  ///< 1 after the put that created the key, +1 for every later put
  friend bool operator==(const key_record&, const key_record&) = default;
};

enum class change_kind : std::uint8_t { put, del };

/// One change, as recorded in the history.
struct change_event {
  revision_t revision = 0;
  change_kind kind = change_kind::put;
  std::string key;
  std::string value;  ///< the new value (put); empty for del
  revision_t create_revision = 0;  ///< of the key after a put; of the deleted key for del
  std::uint64_t version = 0;       ///< of the key after a put; 0 for del
  friend bool operator==(const change_event&, const change_event&) = default;
};

/// A write of a batch: put `value` at `key`, or delete `key`.
struct write_op {
  change_kind kind = change_kind::put;
  std::string key;
  std::string value;
};

struct history_limits {
  /// Changes of this many most recent revisions are kept (at least 1).
  std::uint64_t retention_revisions = 10'000;
  /// Keys and values in the history beyond this are compacted, oldest revision first.
  std::size_t max_history_bytes = 64u << 20;
};

/// What a scan of the history found.
struct changes_page {
  bool compacted = false;       ///< the requested revision is no longer in the history
  revision_t compacted_revision = 0;  ///< every change up to this one is gone
  revision_t revision = 0;      ///< the store's revision at the time of the scan
  std::vector<change_event> events;
  revision_t next_revision = 0;  ///< ask again from here to continue without gap or duplicate
  bool more = false;             ///< the page stopped at a limit, not at the end of the history
};

/// A selection of keys: one key, or every key starting with a prefix.
struct key_selector {
  std::string key;
  bool prefix = false;
  bool matches(std::string_view k) const {
    return prefix ? k.substr(0, key.size()) == key : k == key;
  }
};

class kv_store {
 public:
  explicit kv_store(history_limits limits = {});
  // The index points into data_'s nodes: a copy rebuilds it, a move keeps it (std::map's nodes move).
  kv_store(const kv_store& other);
  kv_store& operator=(const kv_store& other);
  kv_store(kv_store&&) noexcept = default;
  kv_store& operator=(kv_store&&) noexcept = default;

  /// The current record of `key`, nullptr if absent. Valid until the next write.
  const key_record* find(std::string_view key) const;

  /// Applies `writes` in order as one revision (atomically: a reader never sees part of a batch).
  /// Returns the new revision, or std::nullopt if nothing changed (only deletes of absent keys).
  /// Deleting a key reports whether it existed through `existed` (one flag per write, in order).
  std::optional<revision_t> write(const std::vector<write_op>& writes, std::vector<bool>* existed = nullptr);

  /// The same step by step, for a transaction that reads between its writes: begin_batch(), then
  /// put() and erase() (each change carries revision() + 1 and is visible to find() at once), then
  /// end_batch(), which commits the revision if anything changed. Batches do not nest; the caller
  /// runs the whole batch without returning to anyone in between (apply is single-threaded).
  void begin_batch();
  void put(const std::string& key, const std::string& value);
  /// Returns whether the key existed.
  bool erase(const std::string& key);
  std::optional<revision_t> end_batch();

  const history_limits& limits() const { return limits_; }
  revision_t revision() const { return revision_; }
  revision_t compacted_revision() const { return compacted_revision_; }
  std::size_t size() const { return data_.size(); }
  /// Key and value bytes currently stored (not counting the history).
  std::size_t data_bytes() const { return data_bytes_; }
  std::size_t history_events() const { return history_.size(); }
  std::size_t history_bytes() const { return history_bytes_; }
  const std::map<std::string, key_record, std::less<>>& data() const { return data_; }
  /// The retained changes, revisions ascending, all above compacted_revision().
  const std::deque<change_event>& history() const { return history_; }

  /// Rebuilds a store from the parts a snapshot recorded (kv_snapshot.hpp), recomputing the byte
  /// counts. Returns an empty string and replaces *this if the parts are consistent (every record's
  /// revisions within `revision`, history ascending and above `compacted_revision`, a put's event
  /// naming a created key); else what is wrong, leaving *this unchanged. No compaction runs: the
  /// recorded history is what every replica held at that revision.
  std::string assign(std::map<std::string, key_record, std::less<>> data, std::deque<change_event> history,
                     revision_t revision, revision_t compacted_revision);

  /// Keys selected by `selector` in key order, after `start_after` (exclusive; empty: from the
  /// first), at most `limit` of them and about `max_bytes` of keys and values (at least one entry);
  /// `more` is set when keys were left out. With `keys_only` the values are left empty.
  std::vector<std::pair<std::string, key_record>> list(const key_selector& selector, std::string_view start_after,
                                                      std::size_t limit, std::size_t max_bytes, bool keys_only,
                                                      bool& more) const;

  /// Changes to keys selected by `selector` with revision >= `from` in revision order, whole
  /// revisions at a time, stopping before a revision that would exceed `max_events` or `max_bytes`
  /// (but always returning at least one revision's events when there are any). `from` == 0 means
  /// "from now": no events, next_revision = revision() + 1. A `from` at or below
  /// compacted_revision() (when something was compacted) gives `compacted`.
  changes_page changes(const key_selector& selector, revision_t from, std::size_t max_events,
                       std::size_t max_bytes) const;

 private:
  using data_map = std::map<std::string, key_record, std::less<>>;
  void record(change_event event);
  void compact();
  void rebuild_index();

  history_limits limits_;
  data_map data_;
  /// Every key of data_ (a view of the node's own key) to its node: a put to an existing key, the
  /// common case, costs one hash lookup instead of a walk down a tree of every key (perf under a
  /// put load with 100,000 keys: the walk was ~5% of the three nodes' CPU, all of it cache misses
  /// on the apply path). The ordered map stays for ranges, lists and snapshots.
  std::unordered_map<std::string_view, data_map::iterator> index_;
  std::size_t data_bytes_ = 0;
  revision_t revision_ = 0;
  revision_t compacted_revision_ = 0;
  bool in_batch_ = false;
  bool batch_changed_ = false;
  std::deque<change_event> history_;  ///< revisions ascending, all > compacted_revision_
  std::size_t history_bytes_ = 0;
};

}  // namespace troupe::kv
