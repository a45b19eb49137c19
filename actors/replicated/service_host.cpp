// The service host: routing by service name, generic client sessions, fallback to key-value.
#include "actors/replicated/service_host.hpp"

#include <cassert>
#include <deque>
#include <vector>
#include <span>
#include <utility>
#include <variant>

#include "consensus/core/snapshot_bytes.hpp"
#include "runtime/wire/client_codec.hpp"

namespace troupe::replicated {

namespace {

using wire::client_error;
using wire::client_reply;
using wire::client_request;

std::string to_bytes(const client_reply& reply) {
  const wire::message msg = wire::encode(reply);  // owns the bytes: keep it while copying
  const auto bytes = msg.bytes();
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

client_reply answer(std::uint64_t client, std::uint64_t sequence, client_error error, std::string message) {
  client_reply reply;
  reply.client_id = client;
  reply.sequence = sequence;
  reply.error = error;
  reply.error_message = std::move(message);
  return reply;
}

std::string refusal(const client_request* request, client_error error, std::string message) {
  return to_bytes(answer(request ? request->client_id : 0, request ? request->sequence : 0, error,
                         std::move(message)));
}

result<wire::message> parse(std::string_view bytes, std::size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return make_error(errc::too_large, "request of " + std::to_string(bytes.size()) +
                                           " bytes is over the limit of " + std::to_string(max_bytes));
  }
  wire::reader_limits limits;
  limits.max_frame_bytes = max_bytes;
  return wire::message::parse(std::as_bytes(std::span(bytes.data(), bytes.size())), limits);
}

}  // namespace

service_host::service_host(std::unique_ptr<raft::state_machine> fallback, host_options options)
    : fallback_(std::move(fallback)), options_(options), sessions_(options.sessions) {}

void service_host::add(std::string name, std::unique_ptr<service> s) {
  assert(!name.empty() && s != nullptr);
  const bool fresh = services_.emplace(std::move(name), std::move(s)).second;
  assert(fresh && "a service name is registered twice");
  (void)fresh;
}

const service* service_host::find(std::string_view name) const {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second.get();
}

std::string service_host::apply(std::uint64_t index, std::string_view command) {
  if (index <= applied_) {
    // The caller re-applied an index: doing it again could apply a command twice.
    return refusal(nullptr, client_error::internal,
                   "index " + std::to_string(index) + " is not above the applied index " +
                       std::to_string(applied_));
  }
  applied_ = index;
  auto msg = parse(command, options_.max_request_bytes);
  if (msg && !wire::is_app_request(*msg) && fallback_) {
    ++stats_.delegated;
    return fallback_->apply(index, command);
  }
  if (!msg) {
    ++stats_.invalid;
    return refusal(nullptr, client_error::invalid_request, "cannot decode the request: " + msg.err().message);
  }
  return apply_app(index, *msg);
}

std::string service_host::apply_app(std::uint64_t index, const wire::message& msg) {
  auto decoded = wire::decode_client_request(msg);
  if (!decoded) {
    ++stats_.invalid;
    return refusal(nullptr, client_error::invalid_request, "cannot decode the request: " + decoded.err().message);
  }
  const client_request& req = *decoded;
  const auto* app = std::get_if<wire::app_request>(&req.body);
  auto invalid = [&](std::string why) {
    ++stats_.invalid;
    return refusal(&req, client_error::invalid_request, std::move(why));
  };
  if (app == nullptr) return invalid("this node serves only application requests (no key-value service)");
  if (req.client_id == 0 || req.sequence == 0) return invalid("clientId and sequence must be non-zero");
  if (app->call != wire::app_call::command) return invalid("a query sent as a command: send it as a query");
  auto it = services_.find(app->service);
  if (it == services_.end()) return invalid("no service named '" + app->service + "' on this node");

  switch (sessions_.check(req.client_id, req.sequence)) {
    case session_verdict::duplicate:
      ++stats_.duplicates;
      sessions_.touch(req.client_id, index);
      return std::string(sessions_.cached_reply(req.client_id));
    case session_verdict::stale:
      ++stats_.stale;
      return refusal(&req, client_error::invalid_request,
                     "sequence " + std::to_string(req.sequence) + " is older than the session's last " +
                         std::to_string(sessions_.last_sequence(req.client_id)) +
                         ": its reply is no longer kept");
    case session_verdict::expired:
      ++stats_.expired;
      return refusal(&req, client_error::session_expired,
                     "no session for client " + std::to_string(req.client_id) + " at sequence " +
                         std::to_string(req.sequence) + ": start a new session (new client id)");
    case session_verdict::fresh: break;
  }
  // From here on the command is consumed by its session: even a refusal is recorded, so a retry
  // gets the same answer (thesis §6.3).
  ++stats_.applied;
  auto out = it->second->apply(apply_context{index, req.client_id, req.sequence}, app->payload);
  client_reply reply = answer(req.client_id, req.sequence, client_error::ok, {});
  if (out) {
    reply.body = wire::app_reply{std::move(*out), index};
  } else {
    reply.error = client_error::invalid_request;
    reply.error_message = app->service + ": " + out.err().message;
  }
  std::string bytes = to_bytes(reply);
  sessions_.record(req.client_id, req.sequence, bytes, index);
  return bytes;
}

std::string service_host::query(std::string_view request) const {
  auto msg = parse(request, options_.max_request_bytes);
  if (msg && !wire::is_app_request(*msg) && fallback_) return fallback_->query(request);
  ++queries_;
  auto decoded = msg ? wire::decode_client_request(*msg) : result<client_request>(msg.err());
  if (!decoded) {
    return refusal(nullptr, client_error::invalid_request, "cannot decode the request: " + decoded.err().message);
  }
  const client_request& req = *decoded;
  const auto* app = std::get_if<wire::app_request>(&req.body);
  if (app == nullptr) {
    return refusal(&req, client_error::invalid_request, "this node serves only application requests");
  }
  if (app->call != wire::app_call::query) {
    return refusal(&req, client_error::invalid_request, "a command sent as a query: propose it");
  }
  auto it = services_.find(app->service);
  if (it == services_.end()) {
    return refusal(&req, client_error::invalid_request, "no service named '" + app->service + "' on this node");
  }
  auto out = it->second->query(app->payload);
  if (!out) return refusal(&req, client_error::invalid_request, app->service + ": " + out.err().message);
  client_reply reply = answer(req.client_id, req.sequence, client_error::ok, {});
  // The applied index this answer reflects: a session client never accepts less later (monotonic
  // reads) and asks followers for at least its own writes' indexes (read your writes).
  reply.body = wire::app_reply{std::move(*out), applied_};
  return to_bytes(reply);
}

// ---- snapshots ------------------------------------------------------------------------------------

namespace {
constexpr std::uint64_t image_magic = 0x7472706873743031ULL;  // "trphst01": the host image, version 1
}  // namespace

std::size_t service_host::snapshot_size() const {
  using w = raft::snapshot_writer;
  std::size_t n = 8 + 8 + 8 + sessions_.size() * (3 * 8 + 8) + sessions_.reply_bytes();
  n += 8 + sessions_.evicted_order().size() * 8 + 8 + 8;
  // A service's image is small next to the key-value state; its size is not known without taking it.
  for (const auto& [name, svc] : services_) n += w::bytes_size(name.size()) + 8;
  n += 8;
  if (fallback_) n += 8 + w::bytes_size(fallback_->snapshot_size());
  return n;
}

std::string service_host::snapshot() const {
  std::string image;
  append_snapshot(image);
  return image;
}

void service_host::append_snapshot(std::string& image) const {
  // The services' images first (small; their sizes are known only once taken), so that the whole
  // image is reserved at once and the key-value part (tens of MB) written in place after them.
  std::vector<std::string> parts;
  parts.reserve(services_.size());
  std::size_t parts_bytes = 0;
  for (const auto& entry : services_) {
    parts.push_back(entry.second->snapshot());
    parts_bytes += parts.back().size();
  }
  raft::snapshot_writer out(image);
  out.reserve(image.size() + snapshot_size() + parts_bytes);
  out.u64(image_magic);
  out.u64(applied_);
  out.u64(sessions_.size());
  sessions_.for_each([&](const session_table::entry_view& e) {
    out.u64(e.client);
    out.u64(e.sequence);
    out.u64(e.last_index);
    out.bytes(e.reply);
  });
  out.u64(sessions_.evicted_order().size());
  for (std::uint64_t client : sessions_.evicted_order()) out.u64(client);
  out.u64(sessions_.evictions());
  out.u64(services_.size());
  auto part = parts.begin();
  for (const auto& entry : services_) {
    out.bytes(entry.first);
    out.bytes(*part++);
  }
  out.u64(fallback_ ? 1 : 0);
  if (fallback_) {
    // The fallback sees only its own entries: its applied index is its own, at most ours.
    out.u64(fallback_->applied_index());
    // Its image is written in place behind a length patched afterwards, never built apart and
    // copied in (kv README, "Snapshots").
    const std::size_t length_at = out.size();
    out.u64(0);
    fallback_->append_snapshot(image);
    out.patch_u64(length_at, out.size() - length_at - 8);
  }
}

status service_host::restore(std::uint64_t index, std::string_view image) {
  auto corrupt = [](std::string why) -> status {
    return make_error(errc::corrupt, "service host snapshot: " + std::move(why));
  };
  // Decode and check the whole image first: nothing changes unless all of it fits.
  raft::snapshot_reader in(image);
  if (in.u64() != image_magic || !in.ok()) return corrupt("not a service host image");
  const std::uint64_t applied = in.u64();
  // No-op entries never reach the host, so its applied index may trail the snapshot's index.
  if (in.ok() && applied > index) {
    return corrupt("taken at index " + std::to_string(applied) + ", offered as the snapshot of index " +
                   std::to_string(index));
  }
  std::vector<session_table::entry> sessions;
  for (std::uint64_t i = 0, n = in.count(32); i < n && in.ok(); ++i) {
    session_table::entry e;
    e.client = in.u64();
    e.sequence = in.u64();
    e.last_index = in.u64();
    e.reply = in.bytes();
    sessions.push_back(std::move(e));
  }
  std::deque<std::uint64_t> evicted;
  for (std::uint64_t i = 0, n = in.count(8); i < n && in.ok(); ++i) evicted.push_back(in.u64());
  const std::uint64_t evictions = in.u64();
  // The parts are views into `image` (it outlives this call): the key-value part is most of it.
  std::map<std::string, std::string_view, std::less<>> images;
  for (std::uint64_t i = 0, n = in.count(16); i < n && in.ok(); ++i) {
    std::string name = in.bytes();
    const std::string_view part = in.bytes_view();
    if (in.ok() && services_.find(name) == services_.end()) {
      return corrupt("service '" + name + "' is not registered here");
    }
    // snapshot() writes each name once; a second part of one service would otherwise be dropped
    // silently and let the image pass the count check below with another service missing.
    if (in.ok() && !images.emplace(std::move(name), part).second) {
      return corrupt("a service appears twice in the image");
    }
  }
  const bool has_fallback = in.u64() == 1;
  std::uint64_t fallback_index = 0;
  std::string_view fallback_image;
  if (in.ok() && has_fallback && fallback_) {
    fallback_index = in.u64();
    fallback_image = in.bytes_view();
  }
  if (!in.ok() || !in.at_end()) return corrupt("the image is damaged or truncated");
  if (images.size() != services_.size()) return corrupt("the image misses a registered service");
  if (has_fallback != (fallback_ != nullptr)) return corrupt("the key-value part does not match this host");
  if (fallback_index > index) return corrupt("the key-value part is beyond the image's index");
  session_table restored(options_.sessions);
  if (auto problem = restored.assign(std::move(sessions), std::move(evicted), evictions); !problem.empty()) {
    return corrupt(problem);
  }

  // Apply: each service, then the fallback; a refusal rolls back what was already replaced.
  std::vector<std::pair<service*, std::string>> done;
  auto roll_back = [&] {
    for (auto& [svc, backup] : done) (void)svc->restore(backup);
  };
  for (auto& [name, svc] : services_) {
    std::string backup = svc->snapshot();
    if (auto st = svc->restore(images.at(name)); !st) {
      (void)svc->restore(backup);
      roll_back();
      return corrupt("service '" + name + "': " + st.err().message);
    }
    done.emplace_back(svc.get(), std::move(backup));
  }
  if (fallback_) {
    if (auto st = fallback_->restore(fallback_index, fallback_image); !st) {
      roll_back();
      return corrupt("the key-value state: " + st.err().message);
    }
  }
  sessions_ = std::move(restored);
  applied_ = index;
  return {};
}

}  // namespace troupe::replicated
