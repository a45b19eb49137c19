#pragma once
/// Global states for the checkpoint store tests: several participants, channels with messages in
/// flight (and one empty recorded channel), contents from a seeded generator.

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <ostream>
#include <string>

#include "snapshot/core/global_state.hpp"
#include "snapshot/store/manifest.hpp"

namespace troupe::checkpoint {

/// Boost.Test prints statuses by name.
inline std::ostream& boost_test_print_type(std::ostream& out, checkpoint_status s) {
  return out << to_string(s);
}

}  // namespace troupe::checkpoint

namespace troupe::checkpoint::store_test {

inline std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// TROUPE_SEED or `fallback`, printed so a failing run can be replayed.
inline std::uint64_t seed_for(const char* test_name, std::uint64_t fallback) {
  const char* value = std::getenv("TROUPE_SEED");
  const std::uint64_t seed = value != nullptr ? std::strtoull(value, nullptr, 10) : fallback;
  std::cout << test_name << ": seed " << seed << " (rerun with TROUPE_SEED=" << seed << ")"
            << std::endl;
  return seed;
}

inline bytes text_bytes(const std::string& s) {
  return bytes(s.begin(), s.end());
}

inline bytes random_bytes(std::uint64_t& rng, std::size_t size) {
  bytes out(size);
  for (auto& b : out) b = static_cast<char>(splitmix(rng) & 0xFF);
  return out;
}

/// Participants 1..participants on a ring with chords; channel i -> i+1 carries `messages`
/// envelopes (with clocks), channel 1 -> participants is recorded empty. States of `state_bytes`
/// random bytes (participant 1's state is text, for the picture).
inline global_state make_state(checkpoint_id id, std::uint64_t& rng, int participants = 4,
                               int messages = 3, std::size_t state_bytes = 200) {
  global_state g;
  g.id = id;
  g.initiator = 1;
  for (int p = 1; p <= participants; ++p) {
    g.local_states[static_cast<participant_id>(p)] =
        p == 1 ? text_bytes("balance=" + std::to_string(splitmix(rng) % 1000))
               : random_bytes(rng, state_bytes);
  }
  for (int p = 1; p < participants; ++p) {
    const channel_id c{static_cast<participant_id>(p), static_cast<participant_id>(p + 1)};
    auto& channel = g.channels[c];
    std::uint64_t sequence = 1 + splitmix(rng) % 50;
    for (int m = 0; m < messages; ++m) {
      envelope e;
      e.from = c.from;
      e.to = c.to;
      e.sequence = sequence++;
      e.epoch = id - 1;
      e.lamport = splitmix(rng) % 10000;
      e.vector_clock = {{c.from, splitmix(rng) % 100}, {c.to, splitmix(rng) % 100}};
      e.payload = m == 0 ? text_bytes("transfer " + std::to_string(m)) : random_bytes(rng, 40);
      channel.push_back(std::move(e));
    }
  }
  g.channels[channel_id{1, static_cast<participant_id>(participants)}];  // recorded, empty
  return g;
}

inline store::checkpoint_metadata metadata_for(const global_state& g) {
  store::checkpoint_metadata meta;
  meta.started_unix_ms = 1'700'000'000'000 + static_cast<std::int64_t>(g.id) * 1000;
  meta.finished_unix_ms = meta.started_unix_ms + 250;
  for (const auto& [p, local] : g.local_states) {
    meta.participants[p] = {"node-" + std::to_string(p % 3), "account-" + std::to_string(p)};
  }
  return meta;
}

}  // namespace troupe::checkpoint::store_test
