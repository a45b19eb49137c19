// kv_state_machine's read side: get, range (prefix listing) and changes (history since a revision).
#include <algorithm>
#include <utility>
#include <variant>

#include "examples/kv/kv_state_machine.hpp"
#include "examples/kv/wire_bytes.hpp"

namespace troupe::kv {

namespace {

using detail::answer;
using detail::to_bytes;
using wire::client_error;
using wire::client_reply;
using wire::client_request;

/// A requested limit, 0 meaning "the server's maximum", clamped to that maximum.
std::size_t clamp_limit(std::uint32_t requested, std::size_t maximum) {
  return requested == 0 ? maximum : std::min<std::size_t>(requested, maximum);
}

}  // namespace

std::string kv_state_machine::query(std::string_view bytes) const {
  ++queries_;
  auto request = detail::decode_request(bytes, options_.max_request_bytes);
  if (!request) return to_bytes(detail::undecodable(request.err()));
  const client_request& req = *request;
  if (auto problem = check_limits(req); !problem.empty()) {
    return to_bytes(answer(req, client_error::invalid_request, std::move(problem)));
  }
  if (const auto* get = std::get_if<wire::kv_get>(&req.body)) return to_bytes(read_get(req, *get));
  if (const auto* range = std::get_if<wire::kv_range>(&req.body)) return to_bytes(read_range(req, *range));
  if (const auto* changes = std::get_if<wire::kv_changes>(&req.body)) return to_bytes(read_changes(req, *changes));
  return to_bytes(answer(req, client_error::invalid_request,
                         std::string(detail::kind_name(req)) + " is not a read: propose it through the log"));
}

client_reply kv_state_machine::read_get(const client_request& req, const wire::kv_get& get) const {
  client_reply reply = answer(req, client_error::ok, {});
  if (const key_record* rec = store_.find(get.key)) {
    reply.body = wire::kv_value{true, rec->value};
  } else {
    reply.error = client_error::no_such_key;
    reply.error_message = "no such key";
    reply.body = wire::kv_value{false, {}};
  }
  return reply;
}

client_reply kv_state_machine::read_range(const client_request& req, const wire::kv_range& range) const {
  bool more = false;
  const auto found = store_.list({range.key, range.prefix}, range.start_after,
                                 clamp_limit(range.limit, options_.max_range_entries), options_.max_read_reply_bytes,
                                 range.keys_only, more);
  wire::kv_range_result result;
  result.more = more;
  result.revision = store_.revision();
  result.entries.reserve(found.size());
  for (const auto& [key, rec] : found) {
    result.entries.push_back(wire::kv_entry{key, rec.value, rec.create_revision, rec.mod_revision, rec.version});
  }
  client_reply reply = answer(req, client_error::ok, {});
  reply.body = std::move(result);
  return reply;
}

client_reply kv_state_machine::read_changes(const client_request& req, const wire::kv_changes& changes) const {
  const auto page = store_.changes({changes.key, changes.prefix}, changes.from_revision,
                                   clamp_limit(changes.limit, options_.max_change_events),
                                   options_.max_read_reply_bytes);
  wire::kv_changes_result result;
  result.next_revision = page.next_revision;
  result.more = page.more;
  result.revision = page.revision;
  result.compacted = page.compacted;
  result.compacted_revision = page.compacted_revision;
  result.events.reserve(page.events.size());
  for (const auto& e : page.events) {
    result.events.push_back(wire::kv_event{e.revision,
                                           e.kind == change_kind::put ? wire::kv_event_kind::put
                                                                      : wire::kv_event_kind::del,
                                           e.key, e.value, e.create_revision, e.version});
  }
  client_reply reply = answer(req, client_error::ok, {});
  if (page.compacted) {
    // A watcher that missed compacted changes cannot continue without a gap: say so plainly.
    reply.error = client_error::invalid_request;
    reply.error_message = "revision " + std::to_string(changes.from_revision) +
                          " is compacted: the history holds changes after revision " +
                          std::to_string(page.compacted_revision) + " only; read the keys again and watch from " +
                          "their revision + 1";
  }
  reply.body = std::move(result);
  return reply;
}

}  // namespace troupe::kv
