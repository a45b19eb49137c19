// Layouts (consensus/core/snapshot_bytes.hpp: u64 = 8 bytes little-endian, str = u64 length +
// bytes; booleans are u64 0/1):
//   request:  op, then acquire: str name, ttl_ms, wait | keep_alive, lease: lease |
//             release: lease, str name |
//             tick: elapsed_ms, restart | status: str name
//   lease_info: id, str name, state (0 holding, 1 waiting), ttl_ms, expiry_ms, token, position
//   answer:   op, found, str refusal, then acquire: outcome, lease_info, holder, holder_token |
//             keep_alive, lease: lease_info | release: nothing | tick: ended, grants, now_ms |
//             status: str name, now_ms, has_holder, [lease_info], waiter count, lease_info...

#include "examples/lock/lock_codec.hpp"

#include "consensus/core/snapshot_bytes.hpp"

namespace troupe::lock {

namespace {

using raft::snapshot_reader;
using raft::snapshot_writer;

error malformed(std::string what) { return make_error(errc::malformed, "lock payload: " + std::move(what)); }

bool read_bool(snapshot_reader& in) {
  const auto v = in.u64();
  if (v > 1) in.fail();
  return v == 1;
}

lock_op read_op(snapshot_reader& in) {
  const auto v = in.u64();
  if (v < 1 || v > 6) {
    in.fail();
    return lock_op::status;
  }
  return static_cast<lock_op>(v);
}

void put_lease(snapshot_writer& out, const lease_info& l) {
  out.u64(l.id);
  out.bytes(l.name);
  out.u64(l.state == lease_state::holding ? 0 : 1);
  out.u64(l.ttl_ms);
  out.u64(l.expiry_ms);
  out.u64(l.token);
  out.u64(l.position);
}

lease_info read_lease(snapshot_reader& in) {
  lease_info l;
  l.id = in.u64();
  l.name = in.bytes();
  l.state = read_bool(in) ? lease_state::waiting : lease_state::holding;
  l.ttl_ms = in.u64();
  l.expiry_ms = in.u64();
  l.token = in.u64();
  l.position = static_cast<std::size_t>(in.u64());
  return l;
}

}  // namespace

bool is_command(lock_op op) noexcept { return op != lock_op::status && op != lock_op::lease; }

const char* to_string(lock_op op) noexcept {
  switch (op) {
    case lock_op::acquire: return "acquire";
    case lock_op::keep_alive: return "keep_alive";
    case lock_op::release: return "release";
    case lock_op::tick: return "tick";
    case lock_op::status: return "status";
    case lock_op::lease: return "lease";
  }
  return "unknown";
}

std::string encode_request(const lock_request& r) {
  snapshot_writer out;
  out.u64(static_cast<std::uint64_t>(r.op));
  switch (r.op) {
    case lock_op::acquire:
      out.bytes(r.name);
      out.u64(r.ttl_ms);
      out.u64(r.wait ? 1 : 0);
      break;
    case lock_op::release:
      out.u64(r.lease);
      out.bytes(r.name);
      break;
    case lock_op::keep_alive:
    case lock_op::lease: out.u64(r.lease); break;
    case lock_op::tick:
      out.u64(r.elapsed_ms);
      out.u64(r.restart ? 1 : 0);
      break;
    case lock_op::status: out.bytes(r.name); break;
  }
  return out.take();
}

result<lock_request> decode_request(std::string_view bytes) {
  snapshot_reader in(bytes);
  lock_request r;
  r.op = read_op(in);
  switch (r.op) {
    case lock_op::acquire:
      r.name = in.bytes();
      r.ttl_ms = in.u64();
      r.wait = read_bool(in);
      break;
    case lock_op::release:
      r.lease = in.u64();
      r.name = in.bytes();
      break;
    case lock_op::keep_alive:
    case lock_op::lease: r.lease = in.u64(); break;
    case lock_op::tick:
      r.elapsed_ms = in.u64();
      r.restart = read_bool(in);
      break;
    case lock_op::status: r.name = in.bytes(); break;
  }
  if (!in.ok()) return malformed("a request that is cut short or holds a bad value");
  if (!in.at_end()) return malformed("bytes after the request");
  return r;
}

std::string encode_answer(const lock_answer& a) {
  snapshot_writer out;
  out.u64(static_cast<std::uint64_t>(a.op));
  out.u64(a.found ? 1 : 0);
  out.bytes(a.refusal);
  switch (a.op) {
    case lock_op::acquire:
      out.u64(static_cast<std::uint64_t>(a.acquired.outcome));
      put_lease(out, a.acquired.lease);
      out.u64(a.acquired.holder);
      out.u64(a.acquired.holder_token);
      break;
    case lock_op::keep_alive:
    case lock_op::lease: put_lease(out, a.lease); break;
    case lock_op::release: break;
    case lock_op::tick:
      out.u64(a.tick.ended);
      out.u64(a.tick.grants);
      out.u64(a.tick.now_ms);
      break;
    case lock_op::status:
      out.bytes(a.status.name);
      out.u64(a.status.now_ms);
      out.u64(a.status.holder ? 1 : 0);
      if (a.status.holder) put_lease(out, *a.status.holder);
      out.u64(a.status.waiters.size());
      for (const auto& w : a.status.waiters) put_lease(out, w);
      break;
  }
  return out.take();
}

result<lock_answer> decode_answer(std::string_view bytes) {
  snapshot_reader in(bytes);
  lock_answer a;
  a.op = read_op(in);
  a.found = read_bool(in);
  a.refusal = in.bytes();
  switch (a.op) {
    case lock_op::acquire: {
      const auto outcome = in.u64();
      if (outcome > 2) in.fail();
      a.acquired.outcome = static_cast<acquire_outcome>(outcome);
      a.acquired.lease = read_lease(in);
      a.acquired.holder = in.u64();
      a.acquired.holder_token = in.u64();
      break;
    }
    case lock_op::keep_alive:
    case lock_op::lease: a.lease = read_lease(in); break;
    case lock_op::release: break;
    case lock_op::tick:
      a.tick.ended = in.u64();
      a.tick.grants = in.u64();
      a.tick.now_ms = in.u64();
      break;
    case lock_op::status: {
      a.status.name = in.bytes();
      a.status.now_ms = in.u64();
      if (read_bool(in)) a.status.holder = read_lease(in);
      // A lease takes at least 7 u64 fields.
      const auto n = in.count(7 * 8);
      for (std::uint64_t i = 0; i < n && in.ok(); ++i) a.status.waiters.push_back(read_lease(in));
      break;
    }
  }
  if (!in.ok()) return malformed("an answer that is cut short or holds a bad value");
  if (!in.at_end()) return malformed("bytes after the answer");
  return a;
}

}  // namespace troupe::lock
