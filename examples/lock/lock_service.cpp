#include "examples/lock/lock_service.hpp"

namespace troupe::lock {

lock_service::lock_service(lock_options options, std::shared_ptr<lock_observer> observer)
    : table_(options), observer_(std::move(observer)) {}

result<std::string> lock_service::apply(const replicated::apply_context&, std::string_view command) {
  auto r = decode_request(command);
  if (!r) return r.err();
  if (!is_command(r->op)) {
    return make_error(errc::invalid_argument, std::string("lock: '") + to_string(r->op) + "' is a query, not a command");
  }
  auto answer = run(*r);
  if (observer_) observer_->changed(table_);
  if (!answer) return answer.err();
  return encode_answer(*answer);
}

result<lock_answer> lock_service::run(const lock_request& r) {
  lock_answer a;
  a.op = r.op;
  switch (r.op) {
    case lock_op::acquire: {
      auto got = table_.acquire(r.name, r.ttl_ms, r.wait);
      if (!got) {
        // Lack of room is an answer (a definite failure for this client); a bad request is an error.
        if (got.err().code != errc::too_large || r.name.size() > table_.options().max_name_bytes) return got.err();
        a.found = false;
        a.refusal = got.err().message;
        return a;
      }
      a.acquired = *got;
      return a;
    }
    case lock_op::keep_alive: {
      auto got = table_.keep_alive(r.lease);
      a.found = got.ok();
      if (got) a.lease = *got;
      return a;
    }
    case lock_op::release: {
      // A name, when given, must be the lease's lock: a typo must not release someone else's.
      const auto l = table_.lease(r.lease);
      if (l && !r.name.empty() && l->name != r.name) {
        a.found = false;
        a.refusal = "lease " + std::to_string(r.lease) + " is on lock '" + l->name + "', not '" + r.name + "'";
        return a;
      }
      a.found = table_.release(r.lease).ok();
      return a;
    }
    case lock_op::tick: {
      const auto t = table_.tick(r.elapsed_ms, r.restart);
      a.tick = tick_summary{t.ended.size(), t.grants.size(), table_.now_ms()};
      return a;
    }
    case lock_op::status:
    case lock_op::lease: break;
  }
  return make_error(errc::internal, "lock: not a command");
}

result<std::string> lock_service::query(std::string_view request) const {
  auto r = decode_request(request);
  if (!r) return r.err();
  lock_answer a;
  a.op = r->op;
  switch (r->op) {
    case lock_op::status: a.status = table_.status(r->name); break;
    case lock_op::lease: {
      auto l = table_.lease(r->lease);
      a.found = l.has_value();
      if (l) a.lease = *l;
      break;
    }
    default:
      return make_error(errc::invalid_argument, std::string("lock: '") + to_string(r->op) + "' is a command, not a query");
  }
  return encode_answer(a);
}

troupe::status lock_service::restore(std::string_view image) {
  auto st = table_.restore(image);
  if (st && observer_) observer_->changed(table_);
  return st;
}

}  // namespace troupe::lock
