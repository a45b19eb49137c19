#include "examples/bank/account.hpp"

#include <algorithm>
#include <string>

namespace troupe::bank {

namespace {

void put_u64(bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(const bytes& in, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]))
         << (8 * i);
  }
  return v;
}

}  // namespace

bytes encode(const account_state& s) {
  bytes out;
  out.reserve(24);
  put_u64(out, static_cast<std::uint64_t>(s.balance));
  put_u64(out, s.sent);
  put_u64(out, s.received);
  return out;
}

result<account_state> decode_state(const bytes& b) {
  if (b.size() != 24) {
    return make_error(errc::malformed, "account state of " + std::to_string(b.size()) + " bytes, not 24");
  }
  account_state s{static_cast<std::int64_t>(get_u64(b, 0)), get_u64(b, 8), get_u64(b, 16)};
  if (s.balance < 0) return make_error(errc::malformed, "negative balance");
  return s;
}

bytes encode_transfer(std::int64_t amount) {
  bytes out;
  put_u64(out, static_cast<std::uint64_t>(amount));
  return out;
}

result<std::int64_t> decode_transfer(const bytes& b) {
  if (b.size() != 8) {
    return make_error(errc::malformed, "transfer of " + std::to_string(b.size()) + " bytes, not 8");
  }
  auto amount = static_cast<std::int64_t>(get_u64(b, 0));
  if (amount <= 0) return make_error(errc::malformed, "transfer of a non-positive amount");
  return amount;
}

account::account(participant_id id, const account_config& config)
    : config_(config), rng_(config.seed * 0x9e3779b97f4a7c15ull + id) {
  state_.balance = config.initial_balance;
}

status account::restore(const bytes& state) {
  auto s = decode_state(state);
  if (!s) return s.err();
  state_ = *s;
  return {};
}

void account::on_message(participant_id, const bytes& payload) {
  auto amount = decode_transfer(payload);
  // Only accounts send to accounts, through the checked channel layer: a bad transfer is a bug.
  if (!amount) return;
  state_.balance += *amount;
  ++state_.received;
  if (config_.received_here) config_.received_here->fetch_add(1, std::memory_order_relaxed);
}

void account::on_tick() {
  if (state_.balance <= 0 || config_.accounts < 2) return;
  if (std::uniform_int_distribution<std::uint32_t>(0, 999)(rng_) >= config_.transfer_per_mille) return;
  participant_id to = 0;
  if (config_.fanout > 0 && config_.fanout < config_.accounts) {
    // One of `fanout` fixed others, `stride` apart: k * stride < accounts, so never itself.
    const participant_id stride = config_.accounts / (config_.fanout + 1);
    auto k = std::uniform_int_distribution<participant_id>(1, config_.fanout)(rng_);
    to = (self() - 1 + k * std::max<participant_id>(stride, 1)) % config_.accounts + 1;
  } else {
    to = std::uniform_int_distribution<participant_id>(1, config_.accounts - 1)(rng_);
    if (to >= self()) ++to;  // any account but this one
  }
  auto amount = std::uniform_int_distribution<std::int64_t>(
      1, std::min(state_.balance, config_.max_amount))(rng_);
  // The money leaves the balance as the message leaves: both are in the next captured state or
  // the transfer is in a recorded channel, never both (that is what the checkpoint must show).
  if (send(to, encode_transfer(amount))) {
    state_.balance -= amount;
    ++state_.sent;
  }
}

result<bank_totals> totals(const checkpoint::global_state& state) {
  bank_totals t;
  for (auto& [p, local] : state.local_states) {
    auto s = decode_state(local);
    if (!s) return make_error(errc::malformed, "account " + std::to_string(p) + ": " + s.err().message);
    t.balances += s->balance;
  }
  for (auto& [channel, messages] : state.channels) {
    for (auto& m : messages) {
      auto amount = decode_transfer(m.payload);
      if (!amount) {
        return make_error(errc::malformed, "channel " + std::to_string(channel.from) + "->" +
                                               std::to_string(channel.to) + ": " + amount.err().message);
      }
      t.in_channels += *amount;
      ++t.in_flight;
    }
  }
  return t;
}

}  // namespace troupe::bank
