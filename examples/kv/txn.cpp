#include "examples/kv/txn.hpp"

#include <set>
#include <string_view>

namespace troupe::kv {

namespace {

template <class T>
bool compare(const T& actual, wire::compare_op op, const T& wanted) {
  switch (op) {
    case wire::compare_op::equal: return actual == wanted;
    case wire::compare_op::not_equal: return actual != wanted;
    case wire::compare_op::less: return actual < wanted;
    case wire::compare_op::greater: return actual > wanted;
  }
  return false;
}

bool holds(const kv_store& store, const wire::kv_compare& c) {
  const key_record* rec = store.find(c.key);
  switch (c.target) {
    case wire::compare_target::value: return rec != nullptr && compare(rec->value, c.op, c.value);
    case wire::compare_target::version: return compare<std::uint64_t>(rec ? rec->version : 0, c.op, c.number);
    case wire::compare_target::create_revision:
      return compare<std::uint64_t>(rec ? rec->create_revision : 0, c.op, c.number);
    case wire::compare_target::mod_revision:
      return compare<std::uint64_t>(rec ? rec->mod_revision : 0, c.op, c.number);
  }
  return false;
}

const std::string& key_of(const wire::kv_txn_op& op) {
  if (const auto* p = std::get_if<wire::kv_put>(&op)) return p->key;
  if (const auto* d = std::get_if<wire::kv_del>(&op)) return d->key;
  return std::get<wire::kv_get>(op).key;
}

std::string check_key(const std::string& key, const txn_limits& limits) {
  if (key.empty()) return "a key is empty";
  if (key.size() > limits.max_key_bytes) {
    return "a key of " + std::to_string(key.size()) + " bytes is over the limit of " +
           std::to_string(limits.max_key_bytes);
  }
  return {};
}

std::string check_branch(const kv_store& store, const std::vector<wire::kv_txn_op>& ops, const txn_limits& limits,
                         const char* name) {
  if (ops.size() > limits.max_operations) {
    return std::string(name) + " has " + std::to_string(ops.size()) + " operations, over the limit of " +
           std::to_string(limits.max_operations);
  }
  std::set<std::string_view> written;
  std::size_t read_bytes = 0;
  for (const auto& op : ops) {
    const std::string& key = key_of(op);
    if (auto p = check_key(key, limits); !p.empty()) return p;
    if (const auto* put = std::get_if<wire::kv_put>(&op); put && put->value.size() > limits.max_value_bytes) {
      return "a value of " + std::to_string(put->value.size()) + " bytes is over the limit of " +
             std::to_string(limits.max_value_bytes);
    }
    if (std::holds_alternative<wire::kv_get>(op)) {
      // What this get will see: the branch's own earlier write of the key, else the store.
      std::size_t size = 0;
      bool found = false;
      for (const auto& before : ops) {
        if (&before == &op) break;
        if (key_of(before) != key) continue;
        if (const auto* p = std::get_if<wire::kv_put>(&before)) size = p->value.size(), found = true;
        if (std::holds_alternative<wire::kv_del>(before)) size = 0, found = true;
      }
      if (!found) {
        const key_record* rec = store.find(key);
        size = rec ? rec->value.size() : 0;
      }
      read_bytes += key.size() + size;
      continue;
    }
    if (!written.insert(key).second) return std::string(name) + " writes the key " + key + " twice";
  }
  if (read_bytes > limits.max_read_bytes) {
    return std::string(name) + " would read " + std::to_string(read_bytes) + " bytes, over the limit of " +
           std::to_string(limits.max_read_bytes);
  }
  return {};
}

}  // namespace

std::string check_txn(const kv_store& store, const wire::kv_txn& txn, const txn_limits& limits) {
  if (txn.compares.size() > limits.max_compares) {
    return "the transaction has " + std::to_string(txn.compares.size()) + " compares, over the limit of " +
           std::to_string(limits.max_compares);
  }
  for (const auto& c : txn.compares) {
    if (auto p = check_key(c.key, limits); !p.empty()) return p;
    if (c.value.size() > limits.max_value_bytes) return "a compared value is over the value limit";
  }
  if (auto p = check_branch(store, txn.success, limits, "success"); !p.empty()) return p;
  return check_branch(store, txn.failure, limits, "failure");
}

bool compares_hold(const kv_store& store, const std::vector<wire::kv_compare>& compares) {
  for (const auto& c : compares) {
    if (!holds(store, c)) return false;
  }
  return true;
}

wire::kv_txn_result run_txn(kv_store& store, const wire::kv_txn& txn) {
  wire::kv_txn_result result;
  result.succeeded = compares_hold(store, txn.compares);
  const auto& ops = result.succeeded ? txn.success : txn.failure;
  result.results.reserve(ops.size());
  store.begin_batch();
  for (const auto& op : ops) {
    if (const auto* put = std::get_if<wire::kv_put>(&op)) {
      store.put(put->key, put->value);
      result.results.emplace_back(std::monostate{});
    } else if (const auto* del = std::get_if<wire::kv_del>(&op)) {
      result.results.emplace_back(wire::del_result{store.erase(del->key)});
    } else {
      const auto& key = std::get<wire::kv_get>(op).key;
      wire::kv_txn_get_result get;
      if (const key_record* rec = store.find(key)) {
        get.found = true;
        get.entry = wire::kv_entry{key, rec->value, rec->create_revision, rec->mod_revision, rec->version};
      }
      result.results.emplace_back(std::move(get));
    }
  }
  (void)store.end_batch();
  result.revision = store.revision();
  return result;
}

}  // namespace troupe::kv
