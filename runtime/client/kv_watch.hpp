#pragma once
/// Watching a key or a prefix by polling `changes` (examples/kv/README.md "Changes"): the watcher
/// holds the next revision it wants and asks every node it reaches for the changes from there, with
/// linearizable reads through kv_client (which finds the leader and retries). Pages follow each
/// other with no gap and no duplicate, so after a leader change, a lost reply or a reconnect it asks
/// again from the same revision and sees every change once, in revision order.
///
/// Not thread-safe: one watcher per thread, on its own kv_client.

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/client/kv_client.hpp"

namespace troupe::client {

struct watch_options {
  std::string key;                  ///< the key, or the prefix
  bool prefix = true;               ///< every key starting with `key`
  std::uint64_t from_revision = 0;  ///< first revision wanted; 0: from now (changes after the first poll)
  std::uint32_t page_limit = 0;     ///< events per page; 0: the server's maximum
};

/// What one poll gave.
struct watch_poll {
  enum class status {
    events,     ///< `events` holds the next changes (possibly none: nothing new yet)
    retry,      ///< no node answered definitely this time (election, outage): poll again
    compacted,  ///< the wanted revision was compacted away: the watch cannot go on from there
    refused,    ///< a node refused the handshake (secret, cluster id): no retry can help
    invalid,    ///< the node rejected the request, or answered with changes that do not follow on
  };
  status what = status::events;
  std::vector<wire::kv_event> events;  ///< in revision order, each revision once
  bool more = false;                   ///< more changes are ready: poll again at once
  std::uint64_t compacted_revision = 0;
  std::string message;  ///< for people, when not `events`
};

class kv_watcher {
 public:
  kv_watcher(kv_client& client, watch_options options);

  /// One `changes` request (linearizable) from next_revision(). On `events` the watcher moves on to
  /// the reply's next revision; on anything else it stays where it was.
  watch_poll poll();

  /// The revision the next poll asks from; 0 until the first answer when watching "from now".
  std::uint64_t next_revision() const noexcept { return next_; }

 private:
  kv_client& client_;
  watch_options options_;
  std::uint64_t next_;
};

}  // namespace troupe::client
