#pragma once
/// The two systems `troupe bench transport` compares, each as a parent role (measures) and a peer
/// role (runs in a second process, started by the parent through `start_peer`):
/// - raw: CAF io brokers exchanging length-prefixed bytes; a mailbox at each end (the parent's
///   measuring actor and the peer's echo actor) talks to its broker with std::vector<char>.
/// - troupe: the transport (handshake, lanes, reliable application lane, validated Cap'n Proto
///   frames); the same two mailboxes talk through `outbound` / `delivery` (the peer's echo actor,
///   which receives the one-way stream, is registered batched and gets `delivery_batch`).
/// Both use the same exchange: a window of data messages acknowledged every window/4 messages
/// (one-way throughput), then ping-pong one at a time (round trip).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "runtime/base/result.hpp"

namespace troupe::transport::bench {

enum class system_kind : std::uint8_t { raw, troupe };
std::string_view to_string(system_kind k) noexcept;

struct params {
  std::size_t messages = 200000;    ///< one-way data messages per run (rounded to window/4)
  std::size_t rtt_samples = 20000;  ///< ping-pongs per run
  std::size_t payload_bytes = 100;
  std::size_t window = 4096;        ///< data messages in flight (credit)
  /// troupe's receiving actor registers batched (one `delivery_batch` per socket read and source)
  /// or not (one `delivery` per message, as the raw system delivers): `--delivery=batched|each`.
  bool batched_delivery = true;
  std::chrono::seconds deadline{120};  ///< a run taking longer is a hang
};

struct figures {
  double messages_per_second = 0;
  double rtt_p50_us = 0;
  double rtt_p99_us = 0;
};

/// Listens on 127.0.0.1 (port 0), calls `start_peer(port)` to launch the peer process, measures.
/// Errors: errc::io (cannot listen, peer never connected), errc::timeout (a run hung).
result<figures> run_parent(system_kind kind, const params& p,
                           const std::function<status(std::uint16_t port)>& start_peer);

/// The peer process: connects to 127.0.0.1:`port`, acknowledges and echoes until `keep_running`
/// returns false (the parent closes our stdin). Returns a process exit code.
int run_peer(system_kind kind, std::uint16_t port, const params& p,
             const std::function<void()>& wait_until_parent_done);

}  // namespace troupe::transport::bench
