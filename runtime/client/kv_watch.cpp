#include "runtime/client/kv_watch.hpp"

namespace troupe::client {

kv_watcher::kv_watcher(kv_client& client, watch_options options)
    : client_(client), options_(std::move(options)), next_(options_.from_revision) {}

watch_poll kv_watcher::poll() {
  wire::kv_changes request;
  request.key = options_.key;
  request.prefix = options_.prefix;
  request.from_revision = next_;
  request.limit = options_.page_limit;
  // Linearizable: a node that lost leadership cannot answer from a state older than what an
  // earlier leader already showed us (Raft thesis 6.4), so nextRevision never goes backwards.
  request.consistency = wire::read_consistency::linearizable;
  auto r = client_.changes(request);
  watch_poll out;
  auto* body = std::get_if<wire::kv_changes_result>(&r.body);
  switch (r.outcome) {
    case kv_outcome::done: break;
    case kv_outcome::invalid:
      if (body != nullptr && body->compacted) {
        out.what = watch_poll::status::compacted;
        out.compacted_revision = body->compacted_revision;
        out.message = "revision " + std::to_string(next_) + " was compacted away (history kept after revision " +
                      std::to_string(body->compacted_revision) +
                      "): list the keys again (troupe kv list) and watch from the revision it read at + 1";
      } else {
        out.what = watch_poll::status::invalid;
        out.message = "the node rejected the request: " + r.message;
      }
      return out;
    case kv_outcome::failed:
    case kv_outcome::unknown:
      // A read changes nothing: whatever happened, asking again from the same revision is safe.
      out.what = r.refused ? watch_poll::status::refused : watch_poll::status::retry;
      out.message = r.message;
      return out;
  }
  if (body == nullptr) {
    out.what = watch_poll::status::retry;
    out.message = "the node's answer does not fit the request";
    return out;
  }
  // The answer must follow on from what we hold: events at or after next_ in strictly increasing
  // order, and a next revision past the last of them. Anything else is a broken node; refusing it
  // keeps the "no gap, no duplicate" promise.
  std::uint64_t last = next_ == 0 ? 0 : next_ - 1;
  for (const auto& e : body->events) {
    if (e.revision <= last) {
      out.what = watch_poll::status::invalid;
      out.message = "the node answered changes out of order (revision " + std::to_string(e.revision) +
                    " after " + std::to_string(last) + ")";
      return out;
    }
    last = e.revision;
  }
  if (body->next_revision <= last) {
    out.what = watch_poll::status::invalid;
    out.message = "the node's next revision " + std::to_string(body->next_revision) + " goes backwards";
    return out;
  }
  next_ = body->next_revision;
  out.events = std::move(body->events);
  out.more = body->more;
  return out;
}

}  // namespace troupe::client
