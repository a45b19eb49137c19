#include "examples/lock/lock_command.hpp"

#include <algorithm>
#include <csignal>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "examples/lock/lock_codec.hpp"
#include "runtime/client/kv_command.hpp"

namespace troupe::lock {

namespace {

using std::chrono::milliseconds;
using clock_time = std::chrono::steady_clock::time_point;

error usage(std::string message) { return make_error(errc::invalid_argument, std::move(message)); }

/// One call: the decoded answer, or the exit code and a message already written to `err`.
struct call {
  std::optional<lock_answer> answer;
  int code = 0;
};

call run_call(replicated::replicated_client& client, const lock_request& r, std::ostream& err, const std::string& prefix) {
  auto res = is_command(r.op) ? client.command(encode_request(r)) : client.query(encode_request(r));
  if (res.outcome != client::kv_outcome::done) {
    err << prefix << (res.outcome == client::kv_outcome::invalid ? "the node rejected the request: " : "")
        << res.message << "\n";
    return {std::nullopt, client::exit_code_for(res.outcome)};
  }
  auto a = decode_answer(res.payload);
  if (!a) {
    err << prefix << "the node's answer does not decode: " << a.err().message << "\n";
    return {std::nullopt, 3};
  }
  return {std::move(*a), 0};
}

class acquirer {
 public:
  acquirer(const lock_command& c, replicated::replicated_client& client, std::ostream& out, std::ostream& err,
           const acquire_pacing& pacing)
      : c_(c), client_(client), out_(out), err_(err), pacing_(pacing) {}

  int run() {
    lock_request r{lock_op::acquire, c_.name, static_cast<std::uint64_t>(c_.ttl.count()), c_.wait, 0, 0, false};
    const auto sent = now();
    auto got = run_call(client_, r, err_, prefix_);
    if (!got.answer) {
      if (got.code == 3) err_ << prefix_ << "a lease may have been created; it expires after its TTL\n";
      return got.code;
    }
    const auto& a = *got.answer;
    if (!a.found) {
      err_ << prefix_ << a.refusal << "\n";
      return 1;
    }
    lease_ = a.acquired.lease.id;
    switch (a.acquired.outcome) {
      case acquire_outcome::held:
        err_ << prefix_ << "'" << c_.name << "' is held by lease " << a.acquired.holder << " (token "
             << a.acquired.holder_token << "); use --wait to wait in line\n";
        return 1;
      case acquire_outcome::granted:
        confirmed_ = sent;
        holding(a.acquired.lease.token);
        break;
      case acquire_outcome::queued:
        confirmed_ = sent;
        out_ << "waiting lease=" << lease_ << " position=" << a.acquired.lease.position << std::endl;
        break;
    }
    return loop();
  }

 private:
  clock_time now() const { return pacing_.clock.now(); }

  void holding(std::uint64_t token) {
    if (token_ != 0) return;
    token_ = token;
    out_ << "token=" << token << " lease=" << lease_ << std::endl;
  }

  /// Keeps the lease alive (every TTL/3) and, while waiting, polls for the grant; until a signal.
  int loop() {
    const milliseconds every = std::max(c_.ttl / 3, milliseconds(1));
    auto next_keep_alive = confirmed_ + every;
    while (!pacing_.stopped()) {
      // What a holder may rely on (README.md, "Time"): the lease lasts at least a TTL from the send
      // time of the last keep-alive that succeeded. Past that we no longer claim the lock.
      if (now() - confirmed_ >= c_.ttl) {
        err_ << "troupe lock acquire: lost lease=" << lease_ << ": no keep-alive succeeded within the TTL\n";
        return 1;
      }
      if (now() >= next_keep_alive) {
        const auto sent = now();
        auto got = run_call(client_, {lock_op::keep_alive, "", 0, false, lease_, 0, false}, err_, prefix_);
        if (got.answer && !got.answer->found) return lost();
        if (got.answer) {
          confirmed_ = sent;
          if (got.answer->lease.state == lease_state::holding) holding(got.answer->lease.token);
          next_keep_alive = sent + every;
        } else {
          next_keep_alive = now() + pacing_.poll;  // try again soon; the TTL check above bounds it
        }
        continue;
      }
      if (token_ == 0) {
        auto got = run_call(client_, {lock_op::lease, "", 0, false, lease_, 0, false}, err_, prefix_);
        if (got.answer && !got.answer->found) return lost();
        if (got.answer && got.answer->lease.state == lease_state::holding) holding(got.answer->lease.token);
      }
      const auto pause = token_ == 0 ? pacing_.poll : std::chrono::duration_cast<milliseconds>(next_keep_alive - now());
      if (pause.count() > 0) pacing_.clock.sleep(std::min(pause, pacing_.poll));
    }
    return release();
  }

  int lost() {
    err_ << "troupe lock acquire: lost lease=" << lease_ << ": it expired (the TTL passed without a keep-alive)\n";
    return 1;
  }

  int release() {
    auto got = run_call(client_, {lock_op::release, c_.name, 0, false, lease_, 0, false}, err_,
                        "troupe lock acquire: release: ");
    if (!got.answer) return got.code;
    err_ << "troupe lock acquire: " << (got.answer->found ? "released" : "already ended") << " lease=" << lease_ << "\n";
    return 0;
  }

  const lock_command& c_;
  replicated::replicated_client& client_;
  std::ostream& out_;
  std::ostream& err_;
  const acquire_pacing& pacing_;
  const std::string prefix_ = "troupe lock acquire: ";
  lease_id lease_ = 0;
  std::uint64_t token_ = 0;
  clock_time confirmed_{};
};

int run_status(const lock_command& c, replicated::replicated_client& client, std::ostream& out, std::ostream& err) {
  auto got = run_call(client, {lock_op::status, c.name, 0, false, 0, 0, false}, err, "troupe lock status: ");
  if (!got.answer) return got.code;
  const auto& s = got.answer->status;
  auto left = [&](const lease_info& l) { return l.expiry_ms > s.now_ms ? l.expiry_ms - s.now_ms : 0; };
  if (s.holder) {
    out << "holder lease=" << s.holder->id << " token=" << s.holder->token << " expires_in=" << left(*s.holder)
        << "ms ttl=" << s.holder->ttl_ms << "ms\n";
  } else {
    out << "free\n";
  }
  for (const auto& w : s.waiters) {
    out << "waiter lease=" << w.id << " position=" << w.position << " expires_in=" << left(w) << "ms\n";
  }
  out << "lock_time=" << s.now_ms << "ms\n";
  out.flush();
  return 0;
}

int run_release(const lock_command& c, replicated::replicated_client& client, std::ostream& out, std::ostream& err) {
  auto got = run_call(client, {lock_op::release, c.name, 0, false, c.lease, 0, false}, err, "troupe lock release: ");
  if (!got.answer) return got.code;
  if (!got.answer->found) {
    err << "troupe lock release: "
        << (got.answer->refusal.empty() ? "lease " + std::to_string(c.lease) + " has already ended" : got.answer->refusal)
        << "\n";
    return 1;
  }
  out << "released lease=" << c.lease << "\n";
  return 0;
}

}  // namespace

result<lock_command> parse_lock_command(const std::vector<std::string>& words) {
  auto parsed = cli::parse_args(words);
  if (!parsed) return parsed.err();
  const auto& pos = parsed->positionals();
  if (pos.empty()) return usage("missing operation: acquire, release or status");
  lock_command c;
  auto known = client::common_option_names();
  if (pos[0] == "acquire") {
    c.op = lock_cli_op::acquire;
    known.insert(known.end(), {"ttl", "wait"});
  } else if (pos[0] == "release") {
    c.op = lock_cli_op::release;
    known.push_back("lease");
  } else if (pos[0] == "status") {
    c.op = lock_cli_op::status;
  } else {
    return usage("unknown operation '" + pos[0] + "': acquire, release or status");
  }
  if (auto st = parsed->check(known); !st) return st.err();
  if (auto st = parsed->check_positionals(2, 2); !st) return usage(pos[0] + " takes one lock NAME");
  c.name = pos[1];
  if (c.op == lock_cli_op::acquire) {
    auto ttl = parsed->get_duration("ttl", milliseconds(10'000));
    if (!ttl) return ttl.err();
    if (ttl->count() < 100) return usage("--ttl: at least 100ms");
    c.ttl = *ttl;
    auto wait = parsed->get_flag("wait");
    if (!wait) return wait.err();
    c.wait = *wait;
  }
  if (c.op == lock_cli_op::release) {
    auto lease = parsed->get_uint("lease");
    if (!lease) return lease.err();
    if (*lease == 0) return usage("--lease: lease ids start at 1");
    c.lease = *lease;
  }
  auto common = client::read_common_options(*parsed);
  if (!common) return common.err();
  c.common = std::move(*common);
  return c;
}

int run_lock_command(const lock_command& c, replicated::replicated_client& client, std::ostream& out,
                     std::ostream& err, const acquire_pacing& pacing) {
  switch (c.op) {
    case lock_cli_op::acquire: return acquirer(c, client, out, err, pacing).run();
    case lock_cli_op::release: return run_release(c, client, out, err);
    case lock_cli_op::status: return run_status(c, client, out, err);
  }
  return 2;
}

}  // namespace troupe::lock

namespace troupe::cli {

namespace {
volatile std::sig_atomic_t lock_stop = 0;
extern "C" void on_lock_signal(int) { lock_stop = 1; }
}  // namespace

int lock_main(const args& a) {
  auto c = lock::parse_lock_command(a);
  if (!c) {
    std::cerr << "troupe lock: " << c.err().message
              << "\nusage: troupe lock acquire NAME [--ttl=10s] [--wait] | release NAME --lease=ID | status NAME"
                 " --endpoints=host:port,... [--timeout=5s]\n"
                 "  acquire prints 'token=N lease=ID' once it holds the lock and keeps it alive until"
                 " SIGINT/SIGTERM, then releases it\n";
    return 2;
  }
  auto o = client::kv_options_for(c->common);
  if (c->op == lock::lock_cli_op::acquire) {
    // A keep-alive that takes longer than a third of the TTL is as good as lost: give up on it in
    // time to try again before the lease runs out.
    o.timeout = std::min(o.timeout, std::max(c->ttl / 3, std::chrono::milliseconds(100)));
    o.attempt_timeout = std::min(o.attempt_timeout, o.timeout);
  }
  replicated::replicated_client client(std::string(lock::service_name), o,
                                       client::connection_factory(c->common.cluster_id, c->common.client_secret));
  lock::acquire_pacing pacing;
  if (c->op == lock::lock_cli_op::acquire) {
    std::signal(SIGINT, on_lock_signal);
    std::signal(SIGTERM, on_lock_signal);
    pacing.stopped = [] { return lock_stop != 0; };
    auto real = client::client_clock::real();
    pacing.clock.sleep = [real](std::chrono::milliseconds d) {
      // In slices, so that a signal ends the pause soon.
      for (auto left = d; left.count() > 0 && lock_stop == 0; left -= std::chrono::milliseconds(20)) {
        real.sleep(std::min(left, std::chrono::milliseconds(20)));
      }
    };
  }
  return lock::run_lock_command(*c, client, std::cout, std::cerr, pacing);
}

}  // namespace troupe::cli
