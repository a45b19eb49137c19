// kv_snapshot_bench: CPU cost of the state machine's snapshot image at the kv bench's state (a
// benchmark, not a test: it asserts nothing about speed). It builds the state the node holds when
// `troupe bench kv` crosses a log compaction (a service_host with a kv_state_machine fallback and
// the counter service, as cli/main.cpp builds it less the lock service; 100,000 keys of 256-byte values preloaded in order by 16 clients, then
// random puts by 4 x 64 clients, so the history holds its 10,000 revisions and the session table a
// few hundred clients), then times, on this thread's CPU clock, what the raft actor runs at a
// compaction (service_host::snapshot: the image handed to the saver) and its parts, and restore.
//
// Usage: kv_snapshot_bench [--keys=100000] [--value-bytes=256] [--puts=100000] [--reps=7]
// Prints one line per measurement: median and min CPU ms over the repetitions.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "actors/replicated/service_host.hpp"
#include "examples/counter/counter_service.hpp"
#include "examples/kv/kv_snapshot.hpp"
#include "examples/kv/kv_state_machine.hpp"
#include "runtime/base/crc32c.hpp"
#include "runtime/wire/client_codec.hpp"

namespace {

using namespace troupe;

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::uint64_t flag(int argc, char** argv, const char* name, std::uint64_t fallback) {
  const std::size_t n = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return std::strtoull(argv[i] + n + 1, nullptr, 10);
  }
  return fallback;
}

std::string key_of(std::uint64_t i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08llu", static_cast<unsigned long long>(i));
  return buf;
}

std::string encoded(std::uint64_t client, std::uint64_t seq, decltype(wire::client_request::body) body) {
  wire::client_request r;
  r.client_id = client;
  r.sequence = seq;
  r.group_id = 1;
  r.body = std::move(body);
  const auto m = wire::encode(r);
  const auto b = m.bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string request(std::uint64_t client, std::uint64_t seq, std::string key, const std::string& value) {
  return encoded(client, seq, wire::kv_put{std::move(key), value});
}

/// Runs `body` `reps` times and prints the median and min thread CPU ms.
template <class Body>
void measure(const char* name, std::uint64_t reps, Body&& body) {
  std::vector<double> ms;
  std::size_t sink = 0;
  for (std::uint64_t i = 0; i < reps; ++i) {
    const double t0 = thread_cpu_ms();
    sink += body();
    ms.push_back(thread_cpu_ms() - t0);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-44s median %7.2f ms  min %7.2f ms  (check %zu)\n", name, ms[ms.size() / 2], ms.front(), sink);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t keys = flag(argc, argv, "--keys", 100000);
  const std::uint64_t value_bytes = flag(argc, argv, "--value-bytes", 256);
  const std::uint64_t puts = flag(argc, argv, "--puts", 100000);
  const std::uint64_t reps = std::max<std::uint64_t>(1, flag(argc, argv, "--reps", 7));

  std::string value(value_bytes, 'v');
  std::mt19937_64 rng(20261127);
  for (auto& ch : value) ch = static_cast<char>('a' + rng() % 26);

  auto kv = std::make_unique<kv::kv_state_machine>();
  const kv::kv_state_machine* sm = kv.get();
  replicated::service_host host(std::move(kv));
  host.add("counter", std::make_unique<counter::counter_service>());
  std::uint64_t index = 0;
  // A few counter commands: the host's own sessions and a service image.
  for (std::uint64_t i = 1; i <= 100; ++i) {
    (void)host.apply(++index, encoded(1000 + i % 4, 1 + (i - 1) / 4,
                                      wire::app_request{"counter", wire::app_call::command,
                                                        counter::incr_command("c" + std::to_string(i % 10), 1),
                                                        wire::read_consistency::linearizable, 0}));
  }
  std::vector<std::uint64_t> seq(1 + 16 + 4 * 64, 0);
  // Preload: keys in order, 16 clients round robin (ids 1..16).
  for (std::uint64_t i = 0; i < keys; ++i) {
    const std::uint64_t c = 1 + i % 16;
    (void)host.apply(++index, request(c, ++seq[c], key_of(i), value));
  }
  // Measured puts: random keys, four levels of 64 clients (ids 17..272).
  for (std::uint64_t i = 0; i < puts; ++i) {
    const std::uint64_t c = 17 + (i * 4 / std::max<std::uint64_t>(puts, 1)) * 64 + rng() % 64;
    (void)host.apply(++index, request(c, ++seq[c], key_of(rng() % keys), value));
  }
  const auto& store = sm->store();
  std::printf("state: %zu keys, %zu bytes of keys and values; history %zu events, %zu bytes; %zu sessions, "
              "%zu reply bytes; applied index %llu\n",
              store.size(), store.data_bytes(), store.history_events(), store.history_bytes(), sm->sessions().size(),
              sm->sessions().reply_bytes(), static_cast<unsigned long long>(index));
  const std::string kv_image = sm->snapshot();
  const std::string host_image = host.snapshot();
  std::printf("images: kv %zu bytes, host %zu bytes (capacity %zu), the kv part at offset %zu mod 8\n",
              kv_image.size(), host_image.size(), host_image.capacity(), (host_image.size() - kv_image.size()) % 8);

  measure("service_host::snapshot (the actor's cost)", reps, [&] { return host.snapshot().size(); });
  measure("kv encode_snapshot", reps, [&] { return kv::encode_snapshot(store, sm->sessions(), index).size(); });
  // The kv part's place in the host image: its alignment changes the encoder's copies' cost.
  for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{4}}) {
    const std::string label = "kv image appended at offset " + std::to_string(k) + " mod 8";
    measure(label.c_str(), reps, [&] {
      std::string out(k, 'x');
      out.reserve(k + kv_image.size());
      kv::append_snapshot(out, store, sm->sessions(), index);
      return out.size();
    });
  }
  measure("floor: walk the map, touch each value", reps, [&] {
    std::size_t sum = 0;
    for (const auto& [k, rec] : store.data()) sum += k.size() + rec.value.size() + static_cast<unsigned char>(rec.value.back());
    return sum;
  });
  measure("floor: crc32c of the kv image", reps, [&] { return std::size_t{crc32c(kv_image)}; });
  measure("floor: copy the kv image to a new string", reps, [&] {
    std::string copy(kv_image);
    return copy.size();
  });
  measure("restore (service_host, full decode)", std::max<std::uint64_t>(1, reps / 2), [&] {
    replicated::service_host fresh(std::make_unique<kv::kv_state_machine>());
    fresh.add("counter", std::make_unique<counter::counter_service>());
    auto st = fresh.restore(index, host_image);
    return static_cast<std::size_t>(st.ok());
  });
  return 0;
}
