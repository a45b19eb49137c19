// `troupe bench transport`: actor-to-actor messaging between two processes on loopback, the
// transport next to raw CAF brokers exchanging length-prefixed bytes (runtime/transport/bench/).
// Runs the systems interleaved (raw, troupe, raw, troupe, ...) and prints the medians and ratios.
// The second process is this binary again (/proc/self/exe) with the hidden --bench-peer option; it
// stops when its stdin closes, so it never outlives the benchmark. For profiling the peer, set
// TROUPE_BENCH_PEER_WRAPPER to a program that runs its arguments (e.g. a script doing
// `exec valgrind --tool=callgrind "$@"`): the peer is then started as `wrapper <this binary> ...`.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "runtime/transport/bench/bench_systems.hpp"

extern char** environ;

namespace troupe::cli {

namespace {

namespace tb = troupe::transport::bench;

/// The peer process of one run: started with a pipe as its stdin, stopped by closing it.
class peer_process {
 public:
  ~peer_process() { stop(); }

  status start(tb::system_kind kind, std::uint16_t port, const tb::params& p) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      return make_error(errc::io, "bench: pipe failed");
    std::string program = "/proc/self/exe";
    std::vector<std::string> argv{program, "bench", "transport",
                                  "--bench-peer=" + std::string(tb::to_string(kind)),
                                  "--port=" + std::to_string(port),
                                  "--window=" + std::to_string(p.window),
                                  "--payload-bytes=" + std::to_string(p.payload_bytes),
                                  std::string("--delivery=") + (p.batched_delivery ? "batched" : "each")};
    if (const char* wrapper = std::getenv("TROUPE_BENCH_PEER_WRAPPER"); wrapper != nullptr && *wrapper != 0) {
      // The wrapper sees the real path: /proc/self/exe would name the wrapper's own binary.
      std::vector<char> exe(4096);
      const auto n = ::readlink("/proc/self/exe", exe.data(), exe.size() - 1);
      if (n > 0)
        argv[0] = std::string(exe.data(), static_cast<std::size_t>(n));
      argv.insert(argv.begin(), wrapper);
      program = wrapper;
    }
    std::vector<char*> cargv;
    for (auto& a : argv)
      cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
    const int rc = ::posix_spawnp(&pid_, program.c_str(), &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[0]);
    if (rc != 0) {
      ::close(fds[1]);
      return make_error(errc::io, "bench: cannot start the peer process");
    }
    stdin_ = fds[1];
    return status::success();
  }

  void stop() {
    if (stdin_ >= 0) {
      ::close(stdin_);
      stdin_ = -1;
    }
    if (pid_ > 0) {
      int st = 0;
      // The peer exits on EOF; a peer that hangs is killed rather than waited for forever.
      for (int i = 0; i < 100 && ::waitpid(pid_, &st, WNOHANG) == 0; ++i)
        ::usleep(50'000);
      if (::waitpid(pid_, &st, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
      }
      pid_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void print(const char* label, const tb::figures& f) {
  std::printf("%-7s %12.0f msg/s   rtt p50 %8.1f us   p99 %8.1f us\n", label, f.messages_per_second,
              f.rtt_p50_us, f.rtt_p99_us);
  std::fflush(stdout);
}

}  // namespace

int bench_transport_main(const args& a) {
  auto parsed = parse_args(a);
  if (!parsed) {
    std::cerr << "troupe bench transport: " << parsed.err().message << "\n";
    return 2;
  }
  if (auto s = parsed->check({"runs", "messages", "rtt-samples", "payload-bytes", "window",
                              "bench-peer", "port", "only", "delivery"});
      !s) {
    std::cerr << "troupe bench transport: " << s.err().message << "\n";
    return 2;
  }
  tb::params p;
  auto runs = parsed->get_uint("runs", 3);
  auto messages = parsed->get_uint("messages", p.messages);
  auto samples = parsed->get_uint("rtt-samples", p.rtt_samples);
  auto payload = parsed->get_uint("payload-bytes", p.payload_bytes);
  auto window = parsed->get_uint("window", p.window);
  for (auto* r : {&runs, &messages, &samples, &payload, &window})
    if (!*r) {
      std::cerr << "troupe bench transport: " << r->err().message << "\n";
      return 2;
    }
  if (*runs == 0 || *window < 4 || *payload < 9 || *payload > (1u << 20)) {
    std::cerr << "troupe bench transport: need --runs >= 1, --window >= 4, 9 <= --payload-bytes <= 1MiB\n";
    return 2;
  }
  p.messages = *messages;
  p.rtt_samples = *samples;
  p.payload_bytes = *payload;
  p.window = *window;
  auto delivery = parsed->get_string("delivery", "batched");
  if (!delivery || (*delivery != "batched" && *delivery != "each")) {
    std::cerr << "troupe bench transport: --delivery is batched (default: a mailbox element per socket "
                 "read) or each (one per message)\n";
    return 2;
  }
  p.batched_delivery = *delivery == "batched";

  if (parsed->has("bench-peer")) {  // hidden: the second process of a run
    auto kind = parsed->get_string("bench-peer");
    auto port = parsed->get_uint("port");
    if (!kind || !port || *port == 0 || *port > 65535 || (*kind != "raw" && *kind != "troupe"))
      return 2;
    return tb::run_peer(*kind == "raw" ? tb::system_kind::raw : tb::system_kind::troupe,
                        static_cast<std::uint16_t>(*port), p, [] {
                          char buf[64];
                          while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
                          }
                        });
  }

  std::printf("troupe bench transport: %zu runs, %zu one-way messages and %zu round trips of %zu bytes "
              "per run, window %zu, %s delivery\n",
              static_cast<std::size_t>(*runs), p.messages, p.rtt_samples, p.payload_bytes, p.window,
              p.batched_delivery ? "batched" : "per-message");
  std::fflush(stdout);
  // --only=raw|troupe: profile one system; no summary ratios then.
  auto only = parsed->get_string("only", "");
  if (!only || (!only->empty() && *only != "raw" && *only != "troupe")) {
    std::cerr << "troupe bench transport: --only must be raw or troupe\n";
    return 2;
  }
  std::vector<tb::system_kind> kinds;
  if (*only != "troupe")
    kinds.push_back(tb::system_kind::raw);
  if (*only != "raw")
    kinds.push_back(tb::system_kind::troupe);
  std::vector<tb::figures> raw, troupe;
  for (std::uint64_t run = 1; run <= *runs; ++run) {
    for (auto kind : kinds) {
      peer_process peer;
      auto f = tb::run_parent(kind, p, [&](std::uint16_t port) { return peer.start(kind, port, p); });
      peer.stop();
      if (!f) {
        std::cerr << "troupe bench transport: " << tb::to_string(kind) << " run " << run
                  << " failed: " << f.err().message << "\n";
        return 1;
      }
      const auto label = std::string(tb::to_string(kind)) + " #" + std::to_string(run);
      print(label.c_str(), *f);
      (kind == tb::system_kind::raw ? raw : troupe).push_back(*f);
    }
  }
  auto summary = [](const std::vector<tb::figures>& v) {
    std::vector<double> t, p50, p99;
    for (const auto& f : v) {
      t.push_back(f.messages_per_second);
      p50.push_back(f.rtt_p50_us);
      p99.push_back(f.rtt_p99_us);
    }
    return tb::figures{median(t), median(p50), median(p99)};
  };
  if (kinds.size() < 2)
    return 0;
  const auto r = summary(raw);
  const auto t = summary(troupe);
  std::printf("median of %zu runs:\n", raw.size());
  print("raw", r);
  print("troupe", t);
  const double throughput_ratio = r.messages_per_second > 0 ? t.messages_per_second / r.messages_per_second : 0;
  const double rtt_ratio = r.rtt_p50_us > 0 ? t.rtt_p50_us / r.rtt_p50_us : 0;
  std::printf("ratio   throughput troupe/raw %.2f (goal >= 0.70)   rtt p50 troupe/raw %.2f (goal <= 1.50)\n",
              throughput_ratio, rtt_ratio);
  return 0;
}

}  // namespace troupe::cli
