// `troupe bench kv`: the etcd anchor's workload (../shared/anchors/etcd/README.md) against Troupe's
// replicated key-value service. Starts a 3-node cluster on loopback with fresh data directories
// (or attaches to one with --endpoints), then runs closed-loop clients, each with one request
// outstanding on its own connection to the leader (kv_client finds it):
//   preload   keys 0..keyspace-1 once, in order, by 16 clients (measured puts then overwrite);
//   put       256-byte values to random 8-byte keys at c = 1, 16, 64, 256 (30k/80k/120k/120k ops);
//   get       linearizable gets of random keys at c = 64 (100k ops).
// One line per level on stdout in the anchor's form:
//   troupe put c=64 conns=64 ops=... secs=... ops_s=... mean_ms=... p50_ms=... p99_ms=...
//     p999_ms=... errors=... server_cpu_pct=... bench_cpu_pct=... other_cpu_pct=...
//     server_cpu_ms_per_kop=...
// CPU: the node processes' utime+stime from /proc/<pid>/stat over the level (--server-pids when
// attaching), this process's own (getrusage), and the rest of the machine's busy time (/proc/stat:
// a high other_cpu_pct means the level was disturbed), as % of one core; server_cpu_ms_per_kop is
// the nodes' CPU milliseconds per 1,000 operations. A benchmark, not a test: never in `make test`.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <latch>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "runtime/base/host_port.hpp"
#include "runtime/client/bench/bench_options.hpp"
#include "runtime/client/bench/closed_loop.hpp"
#include "runtime/client/bench/latency_stats.hpp"
#include "runtime/client/bench/local_cluster.hpp"
#include "runtime/client/client_options.hpp"
#include "runtime/client/kv_client.hpp"

namespace troupe::client::bench {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

enum class op_kind { preload, put, get };

struct level_result {
  latency_summary latency;
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;
  std::string first_error;
  double secs = 0;
  double server_cpu_secs = 0;
  double bench_cpu_secs = 0;
  double machine_cpu_secs = 0;  ///< every core's busy time (/proc/stat)
};

std::string key_of(std::uint64_t i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08llu", static_cast<unsigned long long>(i));  // 8 bytes
  return buf;
}

/// utime + stime of `pids` in seconds (processes that are gone count 0).
double cpu_secs_of(const std::vector<pid_t>& pids) {
  static const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  double sum = 0;
  for (auto pid : pids) {
    char buf[1024];
    int fd = ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    auto n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    std::string stat(buf, static_cast<std::size_t>(n));
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string f;
    // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stoull(f);
      if (i == 15) stime = std::stoull(f);
    }
    sum += static_cast<double>(utime + stime) / tick;
  }
  return sum;
}

/// Busy time of the whole machine, all cores, in seconds (/proc/stat: user nice system irq softirq
/// steal), as the anchor's bench.sh counts it.
double machine_cpu_secs() {
  static const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  char buf[512];
  int fd = ::open("/proc/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  auto n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  std::istringstream line(std::string(buf, static_cast<std::size_t>(n)));
  std::string cpu;
  unsigned long long v[8] = {};
  line >> cpu;
  for (auto& x : v) line >> x;
  if (cpu != "cpu") return 0;
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  return static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tick;
}

double own_cpu_secs() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

class runner {
 public:
  runner(const bench_options& o, link_factory f) : options_(o), factory_(std::move(f)) {
    std::mt19937_64 rng(1);
    value_.resize(o.value_bytes);
    for (auto& ch : value_) ch = static_cast<char>('a' + rng() % 26);
  }

  kv_client_options client_options(std::uint64_t seed) const {
    kv_client_options k;
    k.endpoints = options_.endpoints;
    k.timeout = options_.timeout;
    k.seed = seed;
    return k;
  }

  /// Waits until a leader serves a linearizable read (a definite answer), or the deadline.
  status wait_for_leader(local_cluster* cluster, std::chrono::seconds deadline) {
    auto until = clock_type::now() + deadline;
    auto o = client_options(7);
    o.timeout = 2s;
    kv_client probe(o, factory_);
    std::string last;
    while (clock_type::now() < until) {
      if (cluster != nullptr) {
        if (auto st = cluster->check_alive(); !st) return st;
      }
      auto r = probe.get("bench-probe");
      if (r.outcome == kv_outcome::done || r.code == wire::client_error::no_such_key) {
        leader_ = probe.leader();
        return {};
      }
      if (r.refused) return make_error(errc::refused, r.message);
      last = r.message;
    }
    return make_error(errc::timeout, "no leader served a read within " +
                                         std::to_string(deadline.count()) + " s: " + last);
  }

  level_result run(op_kind kind, int clients, std::uint64_t ops, const char* label) {
    return options_.event_loop ? run_loop(kind, clients, ops, label) : run_threads(kind, clients, ops, label);
  }

  /// Every client on this thread's event loop (closed_loop.hpp), all connected to the leader.
  level_result run_loop(op_kind kind, int clients, std::uint64_t ops, const char* label) {
    level_result res;
    auto fail = [&](const std::string& why) {
      res.errors = ops;
      res.first_error = why;
      return res;
    };
    // Ask again before each level: an election since the last one would make every request of
    // this level a not_leader error (the loop does not retry).
    {
      auto o = client_options(11);
      o.timeout = std::chrono::seconds(10);
      kv_client probe(o, factory_);
      if (auto r = probe.get(key_of(0)); r.outcome == kv_outcome::done || r.code == wire::client_error::no_such_key) {
        leader_ = probe.leader();
      }
    }
    auto leader = leader_ ? parse_host_port(*leader_) : result<host_port>(make_error(errc::internal, "no leader known"));
    if (!leader) return fail("leader: " + leader.err().message);
    closed_loop_options lo;
    lo.host = leader->host;
    lo.port = leader->port;
    lo.cluster_id = options_.cluster_id;
    lo.client_secret = options_.client_secret;
    lo.clients = clients;
    lo.request_timeout = options_.timeout;
    auto loop = closed_loop::open(lo);
    if (!loop) return fail(loop.err().message);
    // The same keys per client as the threads driver: client t draws from its own generator.
    std::vector<std::mt19937_64> rngs;
    for (int t = 0; t < clients; ++t) rngs.emplace_back(static_cast<std::uint64_t>(t) * 7919 + 17);
    std::uniform_int_distribution<std::uint64_t> pick(0, options_.keyspace - 1);
    auto make = [&](int client, std::uint64_t i) -> decltype(wire::client_request::body) {
      switch (kind) {
        case op_kind::preload: return wire::kv_put{key_of(i % options_.keyspace), value_};
        case op_kind::put: return wire::kv_put{key_of(pick(rngs[static_cast<std::size_t>(client)])), value_};
        case op_kind::get: break;
      }
      return wire::kv_get{key_of(pick(rngs[static_cast<std::size_t>(client)])), wire::read_consistency::linearizable};
    };
    std::atomic<std::uint64_t> done{0};
    const double server0 = cpu_secs_of(options_.server_pids), bench0 = own_cpu_secs();
    const double machine0 = machine_cpu_secs();
    const auto start = clock_type::now();
    progress_display display(label, clients, done, ops);
    auto out = (*loop)->run(ops, make, &done);
    // The level ends here: measured before the display stops, whose refresh must not count.
    res.secs = std::chrono::duration<double>(clock_type::now() - start).count();
    res.server_cpu_secs = cpu_secs_of(options_.server_pids) - server0;
    res.bench_cpu_secs = own_cpu_secs() - bench0;
    res.machine_cpu_secs = machine_cpu_secs() - machine0;
    display.stop();
    res.ops = out.latency_us.size();
    res.errors = out.errors;
    res.first_error = out.first_error;
    res.latency = summarize(out.latency_us);
    return res;
  }

  /// One blocking thread per client (kv_client): finds the leader by itself.
  level_result run_threads(op_kind kind, int clients, std::uint64_t ops, const char* label) {
    std::atomic<std::uint64_t> next{0}, done{0};
    std::latch ready(clients + 1), go(1);
    std::mutex mu;
    std::vector<std::uint32_t> all;
    all.reserve(ops);
    level_result res;
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t) {
      threads.emplace_back([&, t] {
        kv_client k(client_options(0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(t + 1)), factory_);
        std::mt19937_64 rng(static_cast<std::uint64_t>(t) * 7919 + 17);
        std::uniform_int_distribution<std::uint64_t> pick(0, options_.keyspace - 1);
        (void)k.get(key_of(0));  // connect and find the leader before the clock starts
        std::vector<std::uint32_t> lat;
        std::uint64_t errors = 0;
        std::string first_error;
        ready.count_down();
        go.wait();
        for (;;) {
          auto i = next.fetch_add(1);
          if (i >= ops) break;
          auto start = clock_type::now();
          kv_result r;
          switch (kind) {
            case op_kind::preload: r = k.put(key_of(i % options_.keyspace), value_); break;
            case op_kind::put: r = k.put(key_of(pick(rng)), value_); break;
            case op_kind::get: r = k.get(key_of(pick(rng))); break;
          }
          auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start);
          lat.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(us.count(), UINT32_MAX)));
          if (r.outcome != kv_outcome::done) {
            if (errors++ == 0) first_error = std::string(to_string(r.outcome)) + ": " + r.message;
          }
          done.fetch_add(1, std::memory_order_relaxed);
        }
        std::lock_guard lock(mu);
        all.insert(all.end(), lat.begin(), lat.end());
        res.errors += errors;
        if (res.first_error.empty()) res.first_error = first_error;
      });
    }
    ready.arrive_and_wait();
    const double server0 = cpu_secs_of(options_.server_pids), bench0 = own_cpu_secs();
    const double machine0 = machine_cpu_secs();
    const auto start = clock_type::now();
    progress_display display(label, clients, done, ops);
    go.count_down();
    for (auto& th : threads) th.join();
    res.secs = std::chrono::duration<double>(clock_type::now() - start).count();
    res.server_cpu_secs = cpu_secs_of(options_.server_pids) - server0;
    res.bench_cpu_secs = own_cpu_secs() - bench0;
    res.machine_cpu_secs = machine_cpu_secs() - machine0;
    display.stop();
    res.ops = all.size();
    res.latency = summarize(all);
    return res;
  }

 private:
  /// A progress display on a terminal (stderr), until every op is done.
  /// The "label c=N: done/ops" line on a terminal, refreshed every 250 ms on its own thread until
  /// stop() (or destruction), which wakes it at once: a level's time is taken before stop(), so the
  /// refresh period never adds to it (it did, up to 250 ms per level, before session 7).
  class progress_display {
   public:
    progress_display(const char* label, int clients, const std::atomic<std::uint64_t>& done, std::uint64_t ops)
        : thread_([this, label, clients, &done, ops] { show(label, clients, done, ops); }) {}
    progress_display(const progress_display&) = delete;
    progress_display& operator=(const progress_display&) = delete;
    ~progress_display() { stop(); }
    void stop() {
      {
        std::lock_guard lock(mu_);
        stopped_ = true;
      }
      cv_.notify_all();
      if (thread_.joinable()) thread_.join();
    }

   private:
    void show(const char* label, int clients, const std::atomic<std::uint64_t>& done, std::uint64_t ops) {
      const bool tty = ::isatty(2) != 0;
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, 250ms, [this] { return stopped_; })) {
        if (tty) {
          std::fprintf(stderr, "\r  %s c=%d: %llu/%llu ops", label, clients,
                       static_cast<unsigned long long>(done.load()), static_cast<unsigned long long>(ops));
        }
      }
      if (tty) std::fprintf(stderr, "\r%60s\r", "");
    }
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopped_ = false;
    std::thread thread_;  // last: started once the members it uses exist
  };

  const bench_options& options_;
  link_factory factory_;
  std::string value_;
  std::optional<std::string> leader_;  ///< "host:port" of the node that answered the probe
};

void print_level(const char* kind, int clients, const level_result& r, bool have_server_cpu) {
  const double ops_s = r.secs > 0 ? static_cast<double>(r.ops) / r.secs : 0;
  char line[512];
  // Everything else busy on the machine during the level (other sessions, the kernel): a high
  // figure means the level was disturbed, as the anchor's other_cpu_pct says for etcd.
  std::string server = "na", per_kop = "na", other = "na";
  if (have_server_cpu && r.secs > 0) {
    char b[64];
    std::snprintf(b, sizeof b, "%.0f", 100 * r.server_cpu_secs / r.secs);
    server = b;
    std::snprintf(b, sizeof b, "%.1f", r.ops > 0 ? r.server_cpu_secs * 1000 * 1000 / static_cast<double>(r.ops) : 0);
    per_kop = b;
    std::snprintf(b, sizeof b, "%.0f",
                  std::max(0.0, 100 * (r.machine_cpu_secs - r.server_cpu_secs - r.bench_cpu_secs) / r.secs));
    other = b;
  }
  std::snprintf(line, sizeof line,
                "troupe %s c=%d conns=%d ops=%llu secs=%.2f ops_s=%.0f mean_ms=%.3f p50_ms=%.3f "
                "p99_ms=%.3f p999_ms=%.3f errors=%llu server_cpu_pct=%s bench_cpu_pct=%.0f "
                "other_cpu_pct=%s server_cpu_ms_per_kop=%s",
                kind, clients, clients, static_cast<unsigned long long>(r.ops), r.secs, ops_s,
                r.latency.mean_ms, r.latency.p50_ms, r.latency.p99_ms, r.latency.p999_ms,
                static_cast<unsigned long long>(r.errors), server.c_str(),
                r.secs > 0 ? 100 * r.bench_cpu_secs / r.secs : 0, other.c_str(), per_kop.c_str());
  std::cout << line << std::endl;
  if (r.errors > 0) std::cerr << "  first error: " << r.first_error << "\n";
}

std::string fresh_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != 0 ? tmp : "/tmp") + "/troupe-bench-kv.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back(0);
  if (::mkdtemp(buf.data()) == nullptr) return {};
  return buf.data();
}

}  // namespace
}  // namespace troupe::client::bench

namespace troupe::cli {

int bench_kv_main(const args& a) {
  namespace b = troupe::client::bench;
  auto o = b::parse_bench_options(a);
  if (!o) {
    std::cerr << "troupe bench kv: " << o.err().message
              << "\nusage: troupe bench kv [--scale=1] [--put-levels=1:30000,16:80000,64:120000,256:120000]"
                 " [--get-clients=64] [--get-ops=100000] [--keyspace=100000] [--data-dir=DIR] [--keep-data]"
                 " [--driver=loop|threads]"
                 " [--endpoints=host:port,... [--server-pids=PID,...]]\n";
    return 2;
  }
  std::unique_ptr<b::local_cluster> cluster;
  std::string dir;
  if (o->endpoints.empty()) {
    dir = o->data_dir.empty() ? b::fresh_dir() : o->data_dir;
    if (dir.empty()) {
      std::cerr << "troupe bench kv: cannot create a data directory\n";
      return 1;
    }
    auto c = b::local_cluster::start(dir);
    if (!c) {
      std::cerr << "troupe bench kv: " << c.err().message << "\n";
      return 1;
    }
    cluster = std::move(*c);
    o->endpoints = cluster->endpoints();
    o->cluster_id = cluster->cluster_id();
    o->client_secret = cluster->client_secret();
    o->server_pids = cluster->pids();
  }
  std::string where;
  for (auto& e : o->endpoints) where += (where.empty() ? "" : ",") + e;
  std::cerr << "# troupe bench kv: " << o->endpoints.size() << " nodes at " << where
            << (cluster ? " (started here, data in " + dir + ")" : std::string(" (attached)")) << ", "
            << std::thread::hardware_concurrency() << " cores\n";

  b::runner r(*o, client::connection_factory(o->cluster_id, o->client_secret));
  int code = 0;
  if (auto st = r.wait_for_leader(cluster.get(), std::chrono::seconds(60)); !st) {
    std::cerr << "troupe bench kv: " << st.err().message << "\n";
    code = 1;
  } else {
    std::cerr << "preloading " << o->keyspace << " keys with " << o->preload_clients << " clients ...\n";
    auto pre = r.run(b::op_kind::preload, o->preload_clients, o->keyspace, "preload");
    std::fprintf(stderr, "preload: %.2f s, %.0f ops/s, errors %llu\n", pre.secs,
                 pre.secs > 0 ? static_cast<double>(pre.ops) / pre.secs : 0,
                 static_cast<unsigned long long>(pre.errors));
    const bool cpu = !o->server_pids.empty();
    for (auto& l : o->puts) {
      b::print_level("put", l.clients, r.run(b::op_kind::put, l.clients, l.ops, "put"), cpu);
    }
    b::print_level("get", o->gets.clients, r.run(b::op_kind::get, o->gets.clients, o->gets.ops, "get"), cpu);
  }
  if (cluster) {
    cluster->stop();
    if (!o->keep_data && o->data_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
      if (ec) std::cerr << "troupe bench kv: could not remove " << dir << ": " << ec.message() << "\n";
    } else {
      std::cerr << "data and node logs kept in " << dir << "\n";
    }
  }
  return code;
}

}  // namespace troupe::cli
