#pragma once
/// Closed-loop clients multiplexed on one thread, for `troupe bench kv`: each client has its own
/// TCP connection, its own handshake and session (client id, sequence numbers, Raft thesis 6.3) and
/// at most one request outstanding, as with one blocking thread per client (the etcd anchor's
/// workload), but one epoll loop drives them all: the load generator shares the machine's cores
/// with the nodes it measures, and 256 blocking threads cost a wake-up and a context switch per
/// request that the nodes then lack.
///
/// Every client talks to one node (the leader, found beforehand). A request that fails (an error
/// reply, a lost connection) counts as an error; the loop goes on with the other clients. No
/// retries: this measures a steady leader. Not thread-safe; one owner.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/transport/link/auth_proof.hpp"
#include "runtime/wire/client_types.hpp"

namespace troupe::client::bench {

struct closed_loop_options {
  std::string host;
  std::uint16_t port = 0;
  std::string cluster_id;
  std::shared_ptr<const link::secret> client_secret;
  int clients = 1;
  std::chrono::milliseconds connect_timeout{10'000};
  /// A request without a reply this long counts as an error (its client then stops).
  std::chrono::milliseconds request_timeout{10'000};
};

/// One request body for operation number `i` of a level, made by client `client`.
using make_request = std::function<decltype(wire::client_request::body)(int client, std::uint64_t i)>;

struct closed_loop_result {
  std::vector<std::uint32_t> latency_us;  ///< one per operation answered, ok or not
  std::uint64_t errors = 0;
  std::string first_error;
};

class closed_loop {
 public:
  /// Connects every client and completes their handshakes (in parallel). Errors: the first
  /// client that could not connect, as connection::open says it.
  static result<std::unique_ptr<closed_loop>> open(const closed_loop_options& options);
  ~closed_loop();
  closed_loop(const closed_loop&) = delete;
  closed_loop& operator=(const closed_loop&) = delete;

  /// Runs operations 0..ops-1: each client takes the next number when its previous request was
  /// answered, until every number was taken and answered. `done` counts answered operations (for a
  /// progress display on another thread).
  closed_loop_result run(std::uint64_t ops, const make_request& make,
                         std::atomic<std::uint64_t>* done = nullptr);

 private:
  struct impl;
  explicit closed_loop(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace troupe::client::bench
