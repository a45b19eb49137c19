#pragma once
/// The bank example's account: a checkpointed participant (actors/checkpoint) that, on each host
/// tick, with a configured probability, transfers a random amount of its balance to a random other
/// account, anywhere in the cluster; and `totals`, the conservation check of a global state. Pure:
/// no CAF; the randomness is a generator seeded per account.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>

#include "actors/checkpoint/checkpointed.hpp"
#include "runtime/base/result.hpp"
#include "snapshot/core/global_state.hpp"

namespace troupe::bank {

using checkpoint::bytes;
using checkpoint::participant_id;

/// An account's state: 24 bytes on the wire (balance, transfers sent, transfers received; each
/// 8 bytes little-endian).
struct account_state {
  std::int64_t balance = 0;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  friend bool operator==(const account_state&, const account_state&) = default;
};
bytes encode(const account_state& s);
/// malformed unless exactly 24 bytes with a non-negative balance.
result<account_state> decode_state(const bytes& b);

/// A transfer: 8 bytes, the amount (> 0) little-endian.
bytes encode_transfer(std::int64_t amount);
/// malformed unless exactly 8 bytes holding an amount > 0.
result<std::int64_t> decode_transfer(const bytes& b);

struct account_config {
  std::int64_t initial_balance = 1000;
  participant_id accounts = 0;         ///< ids 1..accounts exist
  std::uint32_t transfer_per_mille = 300;  ///< chance per tick of sending a transfer
  std::int64_t max_amount = 100;
  /// Each account sends only to this many fixed others, spread over the id range (0: to anyone):
  /// bounds its outgoing channels (the benchmark's "4 outgoing channels each").
  std::uint32_t fanout = 0;
  std::uint64_t seed = 1;
  /// Counts transfers received on this node (shared by the node's accounts; read by the bank's
  /// checkpoint report from another thread, hence atomic). May be null.
  std::shared_ptr<std::atomic<std::uint64_t>> received_here;
};

class account final : public actors::checkpointed {
 public:
  account(participant_id id, const account_config& config);
  bytes capture() const override { return encode(state_); }
  status restore(const bytes& state) override;
  void on_message(participant_id from, const bytes& payload) override;
  void on_tick() override;
  const account_state& state() const noexcept { return state_; }

 private:
  account_config config_;
  account_state state_;
  std::mt19937_64 rng_;
};

/// What a global state of the bank holds.
struct bank_totals {
  std::int64_t balances = 0;    ///< sum of recorded balances
  std::int64_t in_channels = 0; ///< sum of recorded in-flight transfers
  std::uint64_t in_flight = 0;  ///< recorded in-flight transfers
  std::int64_t total() const noexcept { return balances + in_channels; }
};
/// Sums a bank checkpoint. malformed naming the participant or channel whose bytes do not decode.
result<bank_totals> totals(const checkpoint::global_state& state);

}  // namespace troupe::bank
