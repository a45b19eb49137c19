/// `troupe node`: one Troupe node process. Reads its configuration, takes its data directory,
/// serves metrics, starts the actor system with the transport, the Raft group 1 (its log in
/// <data-dir>/raft-1.db, its state machine from the caller's factory) and the node's services, and
/// runs until SIGINT or SIGTERM. On a stop signal a leader first hands leadership over (bounded),
/// then everything shuts down cleanly (goodbye to every peer, flush, close).
///
/// Exit codes: 0 clean shutdown; 1 a runtime failure (data directory, address in use, a corrupt
/// Raft log naming file and index, a failed log store, ...); 2 bad usage or configuration. Every
/// failure is one log line saying what and where.

#include <algorithm>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <map>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "consensus/actor/force_new_cluster.hpp"
#include "consensus/actor/snapshot_recovery.hpp"
#include "consensus/actor/raft_actor.hpp"
#include "consensus/actor/restore_backup.hpp"
#include "runtime/metrics/http_endpoint.hpp"
#include "runtime/metrics/node_metrics.hpp"
#include "runtime/metrics/storage_metrics.hpp"
#include "runtime/node/config.hpp"
#include "runtime/node/identity.hpp"
#include "runtime/node/node_app.hpp"
#include "runtime/node/services.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/node/status_service.hpp"
#include "runtime/transport/link/auth_proof.hpp"
#include "runtime/transport/transport.hpp"

namespace troupe::cli {

namespace {


result<std::shared_ptr<const link::secret>> load_secret(const std::string& path,
                                                        std::string_view key) {
  auto text = node::read_secret_file(path, key);
  if (!text) return text.err();
  auto s = link::secret::from_file_contents(std::string_view(*text));
  if (!s) return make_error(s.err().code, std::string(key) + ": " + s.err().message);
  return std::make_shared<const link::secret>(std::move(*s));
}

/// Set by an application's `fail` before it raises SIGTERM: the exit code of the stop.
std::atomic<int> app_exit_code{0};

/// Everything after the configuration is valid. Returns the exit code.
/// The group this node runs (one is enough to ship; the id travels in every message).
constexpr raft::group_id node_group = 1;

/// Set by the raft actor when its log store failed; the stop signal it raises then exits 1.
std::atomic<bool> raft_failed{false};

/// "1=h:p,2=h:p" with this node included: how the bootstrap configuration is stored.
std::string members_text(const node::node_config& cfg) {
  std::map<std::uint64_t, std::string> all{{cfg.id, cfg.advertise.to_string()}};
  for (auto& p : cfg.peers) all[p.id] = p.address.to_string();
  std::string out;
  for (auto& [id, address] : all) out += (out.empty() ? "" : ",") + std::to_string(id) + "=" + address;
  return out;
}

/// Once a data directory exists, the configuration stored at its first start wins over --peers and
/// --join (issue 4); a difference is logged. Returns `cfg` with `peers` / `join` as stored.
result<node::node_config> effective_membership(node::node_config cfg, storage::database& db, node::logger& log) {
  const node::bootstrap_configuration given{!cfg.join.empty(), cfg.join.empty() ? members_text(cfg) : ""};
  bool stored_now = false;
  auto stored = node::load_or_store_bootstrap(db, given, stored_now);
  if (!stored) return stored.err();
  if (stored_now) return cfg;
  if (stored->joined != given.joined || stored->members != given.members) {
    log.warn("node", std::string("the command line's ") + (given.joined ? "--join" : "--peers (" + given.members + ")") +
                         " differs from the configuration stored at this data directory's first start (" +
                         (stored->joined ? std::string("joined an existing cluster") : stored->members) +
                         "): using the stored one; the Raft log's latest configuration, once there is "
                         "one, wins over both");
  }
  auto members = node::parse_peers(stored->members, 0);
  if (!members) return make_error(errc::corrupt, cfg.data_dir + "/node.db: stored configuration: " + members.err().message);
  cfg.peers.clear();
  for (auto& m : *members) {
    if (m.id != cfg.id) cfg.peers.push_back(m);
  }
  cfg.join.clear();
  if (stored->joined) cfg.join.push_back(cfg.advertise);  // marks join mode; no bootstrap members
  return cfg;
}

std::string group_log_path(const node::node_config& cfg) {
  return cfg.data_dir + "/raft-" + std::to_string(node_group) + ".db";
}

raft::raft_actor_config make_raft_config(const node::node_config& cfg, std::uint64_t seed) {
  raft::raft_actor_config rc;
  rc.core.id = cfg.id;
  rc.core.group = node_group;
  if (cfg.join.empty()) {
    // A new cluster's bootstrap configuration; a joining node has none (it never campaigns and
    // waits for a leader to add it, consensus/core/types.hpp).
    rc.core.voters.push_back(cfg.id);
    rc.core.addresses[cfg.id] = cfg.advertise.to_string();
    for (auto& p : cfg.peers) {
      rc.core.voters.push_back(p.id);
      rc.core.addresses[p.id] = p.address.to_string();
    }
  }
  rc.core.election_timeout_ticks = static_cast<std::uint32_t>(cfg.raft.election_ticks);
  rc.core.heartbeat_interval_ticks = static_cast<std::uint32_t>(cfg.raft.heartbeat_ticks);
  rc.core.tick_duration_ns = static_cast<raft::monotonic_ns>(cfg.raft.tick_ms) * 1'000'000;
  rc.core.max_uncommitted_entries = cfg.raft.max_pending;
  rc.core.max_pending_reads = cfg.raft.max_pending;
  rc.core.random_seed = seed;
  rc.core.applied = 0;  // set by spawn_raft_actor from the latest snapshot
  rc.tick_interval = std::chrono::milliseconds(cfg.raft.tick_ms);
  rc.limits.max_pending = cfg.raft.max_pending;
  rc.limits.snapshot_entries = cfg.raft.snapshot_entries;
  rc.limits.snapshot_bytes = cfg.raft.snapshot_bytes;
  // --snapshot-rate is per second; the core budgets per tick (at least a byte, so a tiny rate
  // still makes progress).
  if (cfg.raft.snapshot_rate > 0) {
    rc.core.snapshot_bytes_per_tick = std::max<std::uint64_t>(1, cfg.raft.snapshot_rate * cfg.raft.tick_ms / 1000);
  }
  rc.log_path = group_log_path(cfg);
  return rc;
}

int run_node(const node::node_config& given_cfg, node::logger& log,
             const state_machine_factory& make_state_machine, const node::node_app* app) {
  auto fail = [&](std::string_view what, const error& e) {
    log.error("node", std::string(what) + ": " + e.message);
    return 1;
  };

  // --restore-from: the data directory must be empty and the backup whole, before anything is written.
  std::string backup_file;
  if (given_cfg.restore_from) {
    auto empty = raft::check_empty_directory(given_cfg.data_dir);
    auto bytes = empty ? raft::read_backup_file(*given_cfg.restore_from) : result<std::string>(empty.err());
    if (!bytes) return fail("cannot restore", bytes.err());
    backup_file = std::move(*bytes);
  }
  // The registry exists first so that storage and transport can report into it from the start.
  metrics::node_metrics node_metrics;
  metrics::storage_metrics node_db_metrics(*node_metrics.registry, "node");
  auto data = node::open_data_dir(given_cfg.data_dir, given_cfg.cluster_id, given_cfg.id, &node_db_metrics);
  if (!data) return fail("cannot use the data directory", data.err());
  auto& [node_db, identity] = *data;
  log.info("node", std::string(identity.created ? "initialised" : "opened") + " data directory " +
                       given_cfg.data_dir + " (start " + std::to_string(identity.starts) + ")");
  auto effective = effective_membership(given_cfg, node_db, log);
  if (!effective) return fail("cannot use the data directory", effective.err());
  const node::node_config& cfg = *effective;
  if (cfg.restore_from) {
    auto decoded = raft::decode_backup(backup_file);  // verified above; the view points into backup_file
    auto restored = decoded ? raft::restore_backup(group_log_path(cfg), node_group, cfg.id, cfg.advertise.to_string(), *decoded)
                            : result<raft::restored_cluster>(decoded.err());
    if (!restored) return fail("cannot restore", restored.err());
    log.warn("node", "--restore-from=" + *cfg.restore_from + ": a new one-node cluster (node " + std::to_string(cfg.id) +
                         " the only voter, term " + std::to_string(restored->term) + ") holding the backup's state at index " +
                         std::to_string(restored->snapshot_index) + "; remove the flag, grow it with troupe cluster add");
    backup_file.clear();
    backup_file.shrink_to_fit();
  }

  auto node_secret = load_secret(cfg.secret_file, "secret-file");
  if (!node_secret) return fail("cannot start", node_secret.err());
  std::shared_ptr<const link::secret> client_secret;
  if (cfg.client_secret_file) {
    auto s = load_secret(*cfg.client_secret_file, "client-secret-file");
    if (!s) return fail("cannot start", s.err());
    client_secret = *s;
  }
  auto incarnation = link::random_incarnation();
  if (!incarnation) return fail("cannot start", incarnation.err());

  auto endpoint = metrics::http_endpoint::start({cfg.metrics.host, cfg.metrics.port, 2},
                                                node_metrics.collectables());
  if (!endpoint) return fail("cannot serve metrics", endpoint.err());

  caf::actor_system_config system_config;
  system_config.load<caf::io::middleman>();
  system_config.set("scheduler.max-threads", 2);
  // CAF's work-stealing workers, once idle, poll their queue 500 times with a 50 us sleep in between
  // before they block on a condition variable. With 2 workers per node and 3 nodes on 2 cores those
  // sleeps were ~20% of the nodes' CPU under a put load (perf: do_nanosleep in worker::run), each
  // one a context switch. Skip that phase: after the busy poll a worker blocks and is woken by the
  // next enqueue (work_stealing::external_enqueue notifies a sleeping worker).
  system_config.set("work-stealing.moderate-poll-attempts", 0);
  // CAF reads a readable socket until recv says EAGAIN (up to 50 reads): with one request per
  // client connection that is a second, empty recv per request (perf: recvfrom ~2.3 per put on the
  // leader's multiplexer). One read per readiness; what is left, epoll reports again.
  system_config.set("middleman.max-consecutive-reads", 1);
  transport::add_message_types(system_config);
  raft::add_message_types(system_config);
  caf::actor_system system{system_config};

  transport::config tc;
  tc.self = cfg.id;
  tc.cluster_id = cfg.cluster_id;
  tc.listen = cfg.listen;
  tc.advertise = cfg.advertise;
  for (auto& p : cfg.peers) tc.peers[p.id] = p.address;
  // A joining node knows no member: it accepts any peer that proves the cluster secret until the
  // configuration that adds it arrives (the raft actor then names the members: set_peers).
  tc.accept_unknown_peers = !cfg.join.empty();
  tc.node_secret = *node_secret;
  tc.client_secret = client_secret;
  tc.lim.max_clients = cfg.max_clients;
  tc.incarnation = *incarnation;
  tc.seed = *incarnation;
  tc.registry = node_metrics.registry.get();
  tc.log = log.function();
  auto spawned = transport::spawn_transport(system, std::move(tc));
  if (!spawned) return fail("cannot start the transport", spawned.err());

  auto rc = make_raft_config(cfg, *incarnation);
  rc.transport = spawned->broker;
  rc.registry = node_metrics.registry.get();
  rc.log = log.function();
  rc.on_fatal = [](const error&) {
    raft_failed = true;
    ::kill(::getpid(), SIGTERM);  // wakes the sigwait below; the node exits 1
  };
  if (cfg.force_new_cluster) {
    // Disaster recovery: this node becomes its group's only voter before the group starts.
    auto forced = raft::force_new_cluster_files(
        rc.log_path, rc.snapshot_path.empty() ? raft::snapshot_path_for(rc.log_path) : rc.snapshot_path, cfg.id,
        cfg.advertise.to_string());
    if (!forced) {
      caf::anon_send(spawned->broker, transport::stop_atom::value);
      system.await_all_actors_done();
      return fail("cannot force a new cluster", forced.err());
    }
    log.warn("node", forced->changed
                         ? "--force-new-cluster: node " + std::to_string(cfg.id) +
                               " is now the only voter (configuration entry " +
                               std::to_string(forced->config_index) + "; was " + forced->previous_members +
                               "); " + std::to_string(forced->newly_committed) +
                               " entries never known committed are now committed. Remove the flag; add members "
                               "back with `troupe cluster add` on empty data directories"
                         : "--force-new-cluster: node " + std::to_string(cfg.id) +
                               " already is a one-node cluster with everything committed: nothing to do");
  }
  auto state_machine = make_state_machine ? make_state_machine() : nullptr;
  auto raft_actor = raft::spawn_raft_actor(system, rc, std::move(state_machine));
  if (!raft_actor) {
    caf::anon_send(spawned->broker, transport::stop_atom::value);
    system.await_all_actors_done();
    return fail("cannot start the raft group", raft_actor.err());
  }

  node::services_config sc;
  sc.raft = *raft_actor;
  sc.group = node_group;
  sc.self = cfg.id;
  sc.members.push_back({cfg.id, cfg.advertise.to_string()});
  for (auto& p : cfg.peers) sc.members.push_back({p.id, p.address.to_string()});
  sc.transport = spawned->broker;
  sc.registry = node_metrics.registry.get();
  sc.log = log.function();
  auto services = node::spawn_services(system, sc);

  // The status page (/status, /status.json, /status.txt) and /health, from a board the collector
  // keeps current.
  status_page::node_identity who{cfg.id, cfg.cluster_id, cfg.advertise.to_string(), troupe::unix_now_ms(), {}};
  for (auto& m : sc.members) who.members.emplace_back(m.id, m.address);
  auto board = std::make_shared<status_page::status_board>(std::move(who));
  board->set_metrics_address((*endpoint)->address());
  board->expect_raft("waiting for the raft actor's first status");
  if (app != nullptr) {
    // The application's actors are stopped first at shutdown (they are at the front).
    node::node_app_context context{cfg, system, spawned->broker, node_metrics.registry.get(),
                                   log.function(), [&log, name = app->name](const std::string& why) {
                                     log.error(name, why);
                                     app_exit_code = 1;
                                     ::kill(::getpid(), SIGTERM);
                                   },
                                   board};
    context.raft = *raft_actor;
    auto started = app->start(context);
    if (!started) {
      for (auto& a : services) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
      caf::anon_send(spawned->broker, transport::stop_atom::value);
      return fail("cannot start " + app->name, started.err());
    }
    services.insert(services.begin(), started->begin(), started->end());
  }
  node::status_collector_config collector{spawned->broker, *raft_actor, {}, board};
  for (auto& p : cfg.peers) collector.peers.push_back(p.id);
  services.push_back(node::spawn_status_collector(system, std::move(collector)));
  node::serve_status(**endpoint, board);

  log.info("node", "ready: peers and clients on " + cfg.listen.host + ":" +
                       std::to_string(spawned->port) + ", metrics on http://" +
                       (*endpoint)->address() + "/metrics");

  // SIGINT and SIGTERM were blocked in every thread before any was started; wait for one here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  log.info("node", std::string("shutting down (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")");

  if (!raft_failed) {
    // A leader hands over first (thesis §3.10), so that clients see a new leader within a round
    // trip instead of an election timeout. Bounded: two election timeouts.
    const auto deadline_ms = 2 * cfg.raft.election_ticks * cfg.raft.tick_ms;
    caf::scoped_actor waiter{system};
    bool handed_over = false;
    waiter->request(*raft_actor, std::chrono::milliseconds(deadline_ms + 1000),
                    raft::hand_over_atom::value, static_cast<std::uint64_t>(deadline_ms))
        .receive([&](bool done) { handed_over = done; }, [&](caf::error&) {});
    log.info("node", handed_over ? "not leading the group (handed over or was a follower)"
                                 : "leadership hand-over did not finish in time; stopping anyway");
  }

  // Services first (no new traffic), the raft group, then the transport: goodbye to every peer,
  // flush, close. Each step waits until the actors of the one before are gone: an exit message
  // waits behind what is already in the mailbox, and an actor still working sends to the
  // transport. A CAF 0.17 broker that quit never closes its mailbox (abstract_broker::cleanup
  // skips scheduled_actor's), so what reaches it after its stop stays there with a strong
  // reference to its sender; for the detached checkpoint coordinator that made ~actor_system wait
  // forever for its thread (a bank node hung after SIGTERM with checkpoints in progress).
  {
    caf::scoped_actor stopper{system};  // gone before await_all_actors_done, which counts it
    for (auto& a : services) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    stopper->wait_for(services);
    caf::anon_send_exit(*raft_actor, caf::exit_reason::user_shutdown);
    stopper->wait_for(*raft_actor);
  }
  caf::anon_send(spawned->broker, transport::stop_atom::value);
  system.await_all_actors_done();
  endpoint->reset();
  const int code = raft_failed ? 1 : app_exit_code.load();
  if (raft_failed) {
    log.error("node", "stopped: the raft log store failed");
  } else {
    log.info("node", "stopped");
  }
  return code;
}

}  // namespace

int node_main(const args& a, const state_machine_factory& make_state_machine) {
  return node_main_with(a, make_state_machine, nullptr);
}

int node_main_with(const args& a, const state_machine_factory& make_state_machine,
                   const node::node_app* app) {
  auto parsed = parse_args(a);
  if (!parsed) {
    std::cerr << "troupe node: " << parsed.err().message << "\n";
    return 2;
  }
  if (parsed->has("help")) {
    std::cout << node::node_config_usage();
    return 0;
  }
  if (auto st = parsed->check_positionals(0, 0); !st) {
    std::cerr << "troupe node: " << st.err().message << "\n";
    return 2;
  }
  std::vector<node::flag> flags;
  for (auto& o : parsed->options()) flags.push_back({o.name, o.value});
  auto cfg = node::load_node_config(flags);
  if (!cfg) {
    std::cerr << "troupe node: " << cfg.err().message << "\n";
    return 2;
  }

  // Block the stop signals before any thread exists, so that every thread inherits the mask and
  // only run_node's sigwait receives them. SIGPIPE is ignored: a peer closing mid-write is an
  // error value, not a reason to die.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  node::logger log(cfg->id, cfg->log_format, cfg->log_level);
  log.info("node", "starting: " + node::describe(*cfg));
  return run_node(*cfg, log, make_state_machine, app);
}

}  // namespace troupe::cli
