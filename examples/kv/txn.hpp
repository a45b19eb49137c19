#pragma once
/// Multi-key transactions of the config center (issue 6): compare, then write, atomically, as one
/// revision (in the manner of etcd's Txn). Pure functions over kv_store; the state machine checks
/// the limits first (check_txn) and runs it (run_txn) in apply.
///
/// Semantics: every compare must hold for `success` to run, else `failure` runs. Compares on an
/// absent key see version, createRevision and modRevision 0 and no value (a value compare on an
/// absent key is false whatever the operator). The branch's operations run in order; a get sees
/// the writes before it in the branch. All writes of the branch take one revision (none if nothing
/// changed). A key may be written at most once per branch (a second write would make the history
/// of that revision ambiguous for a watcher).

#include <cstddef>
#include <string>

#include "examples/kv/kv_store.hpp"
#include "runtime/wire/client_types.hpp"

namespace troupe::kv {

struct txn_limits {
  std::size_t max_compares = 128;
  std::size_t max_operations = 128;  ///< per branch
  std::size_t max_key_bytes = 4096;
  std::size_t max_value_bytes = 1u << 20;
  std::size_t max_read_bytes = 4u << 20;  ///< values the branch's gets may return, together
};

/// Empty if `txn` is within the limits and well-formed; else what is wrong (for invalidRequest).
/// The gets' read size depends on the store, so the check needs it.
std::string check_txn(const kv_store& store, const wire::kv_txn& txn, const txn_limits& limits);

/// Whether every compare holds against the current store.
bool compares_hold(const kv_store& store, const std::vector<wire::kv_compare>& compares);

/// Runs `txn`: evaluates the compares, runs the chosen branch as one batch. Precondition:
/// check_txn() returned empty.
wire::kv_txn_result run_txn(kv_store& store, const wire::kv_txn& txn);

}  // namespace troupe::kv
