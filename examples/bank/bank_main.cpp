/// `troupe bank`: a `troupe node` that also hosts bank accounts (examples/bank/README.md). Node
/// options as for `troupe node`; the bank's own options below. Every node of the cluster runs it
/// with the same bank options; the node with the lowest id also runs the checkpoint coordinator and
/// keeps the checkpoints in <data-dir>/checkpoints.db.

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "examples/bank/account.hpp"
#include "runtime/node/node_app.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/node/status_service.hpp"
#include "snapshot/actor/coordinator_actor.hpp"
#include "snapshot/actor/participant_host.hpp"
#include "snapshot/store/sqlite_checkpoint_store.hpp"

namespace troupe::cli {

namespace {

constexpr const char* bank_usage =
    "usage: troupe bank <troupe node options> [bank options]\n"
    "\n"
    "Every node runs the same bank options. Node i (in ascending id order) hosts accounts\n"
    "(i-1)*K+1 .. i*K; the lowest node id runs the checkpoint coordinator.\n"
    "\n"
    "bank options:\n"
    "  --accounts-per-node=K      accounts on each node (default 10)\n"
    "  --initial-balance=N        each account's starting balance (default 1000)\n"
    "  --transfer-per-mille=P     chance per tick that an account sends a transfer (default 300)\n"
    "  --max-amount=N             largest transfer (default 100)\n"
    "  --fanout=N                 each account sends to N fixed others only (default 0: anyone)\n"
    "  --tick=D                   period of the accounts' ticks (default 5ms)\n"
    "  --seed=N                   seeds the accounts' generators (default 1)\n"
    "  --checkpoint-every=D       take checkpoints by themselves every D (default 0: never)\n"
    "  --checkpoint-burst=N       checkpoints started together each time (default 1)\n"
    "  --checkpoint-limit=N       stop taking them after N (default 0: no limit)\n"
    "  --checkpoint-timeout=D     abort a checkpoint not complete after D (default 10s)\n"
    "  --keep=N                   complete checkpoints kept (default 5)\n"
    "  --flow-window=N            frames handed to the transport unacknowledged, per peer; the\n"
    "                             rest wait in the host and the accounts pause (default 256;\n"
    "                             a frame is a batch of up to 4096 messages)\n"
    "  --restore=latest|ID        start from a stored checkpoint instead of initial balances\n"
    "                             (every node must be started with it)\n";

const std::vector<std::string_view> bank_options = {
    "accounts-per-node", "initial-balance",  "transfer-per-mille", "max-amount",
    "tick",              "seed",             "checkpoint-every",   "checkpoint-burst",
    "checkpoint-limit",  "checkpoint-timeout", "keep",             "restore",
    "fanout",            "flow-window"};

struct bank_settings {
  std::uint64_t per_node = 10;
  bank::account_config account;
  std::chrono::milliseconds tick{5};
  std::chrono::milliseconds every{0};
  std::uint64_t burst = 1;
  std::uint64_t limit = 0;
  std::chrono::milliseconds timeout{10'000};
  std::uint64_t keep = 5;
  std::uint64_t flow_window = 256;
  std::optional<checkpoint::checkpoint_id> restore;
};

result<bank_settings> read_settings(const parsed_args& p) {
  bank_settings s;
  auto uint = [&](std::string_view name, std::uint64_t fallback, std::uint64_t min,
                  std::uint64_t max) -> result<std::uint64_t> {
    auto v = p.get_uint(name, fallback);
    if (!v) return v.err();
    if (*v < min || *v > max) {
      return make_error(errc::invalid_argument, "--" + std::string(name) + ": must be in [" +
                                                    std::to_string(min) + ", " +
                                                    std::to_string(max) + "]");
    }
    return *v;
  };
  auto per_node = uint("accounts-per-node", 10, 1, 1'000'000);
  auto initial = uint("initial-balance", 1000, 1, 1'000'000'000);
  auto per_mille = uint("transfer-per-mille", 300, 0, 1000);
  auto max_amount = uint("max-amount", 100, 1, 1'000'000'000);
  auto seed = uint("seed", 1, 0, UINT64_MAX);
  auto burst = uint("checkpoint-burst", 1, 1, 8);
  auto limit = uint("checkpoint-limit", 0, 0, UINT64_MAX);
  auto keep = uint("keep", 5, 0, 1'000'000);
  auto fanout = uint("fanout", 0, 0, 1'000'000);
  // Below the transport's application lane bound (65,536), which the coordinator's frames share.
  auto flow_window = uint("flow-window", 256, 1, 32'768);
  for (auto* r : {&per_node, &initial, &per_mille, &max_amount, &seed, &burst, &limit, &keep,
                  &fanout, &flow_window}) {
    if (!*r) return r->err();
  }
  auto tick = p.get_duration("tick", std::chrono::milliseconds(5));
  auto every = p.get_duration("checkpoint-every", std::chrono::milliseconds(0));
  auto timeout = p.get_duration("checkpoint-timeout", std::chrono::milliseconds(10'000));
  for (auto* r : {&tick, &every, &timeout}) {
    if (!*r) return r->err();
  }
  if (tick->count() <= 0) return make_error(errc::invalid_argument, "--tick: must be positive");
  if (timeout->count() <= 0) {
    return make_error(errc::invalid_argument, "--checkpoint-timeout: must be positive");
  }
  s.per_node = *per_node;
  s.account.initial_balance = static_cast<std::int64_t>(*initial);
  s.account.transfer_per_mille = static_cast<std::uint32_t>(*per_mille);
  s.account.max_amount = static_cast<std::int64_t>(*max_amount);
  s.account.seed = *seed;
  s.account.fanout = static_cast<std::uint32_t>(*fanout);
  s.burst = *burst;
  s.limit = *limit;
  s.keep = *keep;
  s.flow_window = *flow_window;
  s.tick = *tick;
  s.every = *every;
  s.timeout = *timeout;
  if (p.has("restore")) {
    auto text = p.get_string("restore");
    if (!text) return text.err();
    if (*text == "latest") {
      s.restore = 0;
    } else {
      auto id = p.get_uint("restore", 0);
      if (!id || *id == 0) {
        return make_error(errc::invalid_argument,
                          "--restore: expected 'latest' or a checkpoint id, got '" + *text + "'");
      }
      s.restore = *id;
    }
  }
  return s;
}

/// Logs, for each stored checkpoint, whether it conserves money: the bank's own check of the
/// global state (the tests check the stored ones again, independently).
struct conservation_report {
  std::int64_t expected = 0;
  std::shared_ptr<std::atomic<std::uint64_t>> received_here;
  std::map<checkpoint::checkpoint_id, std::uint64_t> received_at_start;
  log_function log;

  void started(checkpoint::checkpoint_id id) { received_at_start[id] = received_here->load(); }

  void finished(const checkpoint::checkpoint_outcome& o) {
    auto during = received_here->load() - received_at_start[o.id];
    received_at_start.erase(o.id);
    if (o.status != checkpoint::checkpoint_status::ok) return;
    auto t = bank::totals(o.state);
    if (!t) {
      log(log_level::error, "bank", "checkpoint " + std::to_string(o.id) + ": " + t.err().message);
      return;
    }
    bool ok = t->total() == expected;
    log(ok ? log_level::info : log_level::error, "bank",
        "checkpoint " + std::to_string(o.id) + (ok ? " conserves money" : " DOES NOT conserve money") +
            ": balances " + std::to_string(t->balances) + " + in channels " +
            std::to_string(t->in_channels) + " (" + std::to_string(t->in_flight) +
            " transfers) = " + std::to_string(t->total()) + " of " + std::to_string(expected) +
            "; transfers received on this node while it ran: " + std::to_string(during));
  }
};

result<std::vector<caf::actor>> start_bank(node::node_app_context& ctx, const bank_settings& s) {
  std::set<std::uint64_t> ids{ctx.config.id};
  for (auto& p : ctx.config.peers) ids.insert(p.id);
  std::vector<std::uint64_t> nodes(ids.begin(), ids.end());
  auto members = checkpoint::channel::directory::blocks(nodes, s.per_node);
  if (!members) return members.err();
  const auto coordinator_node = nodes.front();
  auto received_here = std::make_shared<std::atomic<std::uint64_t>>(0);

  bank::account_config account = s.account;
  account.accounts = members->size();
  account.received_here = received_here;
  checkpoint::actor::host_config hc;
  hc.layer.self = ctx.config.id;
  hc.layer.coordinator = coordinator_node;
  hc.layer.members = *members;
  hc.layer.await_restore = s.restore.has_value();
  hc.make = actors::hosted([account](checkpoint::participant_id id) {
    return std::make_unique<bank::account>(id, account);
  });
  hc.transport = ctx.transport;
  hc.tick_interval = s.tick;
  hc.window = s.flow_window;
  hc.registry = ctx.registry;
  hc.log = ctx.log;
  std::vector<caf::actor> started;
  // The coordinator first, so that its restore orders are on their way before any host ticks.
  if (ctx.config.id == coordinator_node) {
    checkpoint::store::store_options so;
    so.keep.keep_last = s.keep;
    auto store = checkpoint::store::sqlite_checkpoint_store::open(
        ctx.config.data_dir + "/checkpoints.db", so);
    if (!store) return store.err();
    auto report = std::make_shared<conservation_report>();
    report->expected = s.account.initial_balance * static_cast<std::int64_t>(members->size());
    report->received_here = received_here;
    report->log = ctx.log;
    checkpoint::actor::coordinator_actor_config cc;
    cc.self = ctx.config.id;
    cc.members = *members;
    cc.transport = ctx.transport;
    cc.core.timeout_ticks = static_cast<std::uint64_t>(s.timeout.count());
    cc.store = std::make_shared<checkpoint::store::sqlite_checkpoint_store>(std::move(*store));
    cc.every = s.every;
    cc.burst = s.burst;
    cc.limit = s.limit;
    cc.restore_from = s.restore;
    cc.on_started = [report, board = ctx.status](checkpoint::checkpoint_id id) {
      report->started(id);
      if (board) board->record_checkpoint({id, troupe::unix_now_ms(), std::nullopt, "in_progress", 0, 0});
    };
    cc.on_finished = [report, board = ctx.status](const checkpoint::checkpoint_outcome& o) {
      report->finished(o);
      if (!board) return;
      // The status page's recent checkpoints (runtime/status); ticks are milliseconds here.
      const bool ok = o.status == checkpoint::checkpoint_status::ok;
      board->record_checkpoint(
          {o.id, 0, static_cast<double>(o.finished_tick - o.started_tick) / 1000.0,
           ok ? std::string("completed")
              : std::string("aborted: ") + checkpoint::to_string(o.status) +
                    (o.detail.empty() ? "" : " (" + o.detail + ")"),
           ok ? o.byte_count : 0, ok ? o.recorded_messages : 0});
    };
    cc.fail = ctx.fail;
    cc.registry = ctx.registry;
    cc.log = ctx.log;
    started.push_back(checkpoint::actor::spawn_coordinator(ctx.system, std::move(cc)));
  }
  started.push_back(checkpoint::actor::spawn_participant_host(ctx.system, std::move(hc)));
  ctx.log(log_level::info, "bank",
          "hosting accounts " + std::to_string(members->on_node(ctx.config.id).front()) + ".." +
              std::to_string(members->on_node(ctx.config.id).back()) + " of " +
              std::to_string(members->size()) +
              (s.restore ? " (awaiting restore)" : "") +
              (ctx.config.id == coordinator_node ? "; coordinator here" : ""));
  return started;
}

}  // namespace

int bank_main(const args& a, const state_machine_factory& make_state_machine) {
  auto parsed = parse_args(a);
  if (!parsed) {
    std::cerr << "troupe bank: " << parsed.err().message << "\n";
    return 2;
  }
  if (parsed->has("help")) {
    std::cout << bank_usage;
    return 0;
  }
  auto settings = read_settings(*parsed);
  if (!settings) {
    std::cerr << "troupe bank: " << settings.err().message << "\n";
    return 2;
  }
  // The rest are the node's options, handed over as written.
  args node_args;
  for (auto& o : parsed->options()) {
    if (std::find(bank_options.begin(), bank_options.end(), o.name) != bank_options.end()) continue;
    node_args.push_back("--" + o.name + (o.value ? "=" + *o.value : ""));
  }
  for (auto& p : parsed->positionals()) node_args.push_back(p);
  node::node_app app;
  app.name = "bank";
  app.start = [s = *settings](node::node_app_context& ctx) { return start_bank(ctx, s); };
  return node_main_with(node_args, make_state_machine, &app);
}

}  // namespace troupe::cli
