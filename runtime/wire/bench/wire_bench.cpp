// wire_bench: rates of the hot-path operations of runtime/wire on small frames (a benchmark, not a
// test: it asserts nothing about speed). Usage: wire_bench [iterations]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/wire/client_codec.hpp"
#include "runtime/wire/message.hpp"
#include "runtime/wire/raft_codec.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

template <class F>
void measure(const char* name, std::size_t iterations, F&& body) {
  const auto start = clock_type::now();
  std::size_t sink = 0;
  for (std::size_t i = 0; i < iterations; ++i) sink += body(i);
  const std::chrono::duration<double> elapsed = clock_type::now() - start;
  std::printf("%-40s %12.0f ops/s  %8.1f ns/op  (check %zu)\n", name,
              static_cast<double>(iterations) / elapsed.count(),
              elapsed.count() * 1e9 / static_cast<double>(iterations), sink);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace troupe;
  const std::size_t iterations = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;

  const raft::raft_message heartbeat{1, 2, 7, raft::heartbeat{1, 100, 55}};
  wire::client_request put{1, 1, 1, wire::kv_put{"key", std::string(100, 'v')}};
  const wire::message put_message = wire::encode(put);
  const std::vector<std::byte> put_bytes(put_message.bytes().begin(), put_message.bytes().end());
  std::printf("frame sizes: heartbeat %zu bytes, put(100 B value) %zu bytes\n",
              wire::encode(heartbeat).size_bytes(), put_bytes.size());

  measure("encode raft heartbeat", iterations,
          [&](std::size_t) { return wire::encode(heartbeat).size_bytes(); });
  measure("encode client put (100 B)", iterations,
          [&](std::size_t) { return wire::encode(put).size_bytes(); });
  measure("parse + validate put frame", iterations, [&](std::size_t) {
    return wire::message::parse(put_bytes).ok() ? std::size_t{1} : std::size_t{0};
  });
  measure("decode put (already parsed)", iterations, [&](std::size_t) {
    return wire::decode_client_request(put_message).ok() ? std::size_t{1} : std::size_t{0};
  });

  // A stream of put frames fed in 64 KiB reads, as a socket would deliver them.
  std::vector<std::byte> stream;
  const std::size_t frames_per_stream = 10000;
  for (std::size_t i = 0; i < frames_per_stream; ++i) {
    stream.insert(stream.end(), put_bytes.begin(), put_bytes.end());
  }
  const std::size_t rounds = iterations / frames_per_stream + 1;
  wire::frame_assembler assembler;
  std::size_t at = 0;
  measure("assembler: frames out of 64 KiB reads", rounds * frames_per_stream,
          [&](std::size_t) -> std::size_t {
            for (;;) {
              auto next = assembler.next();
              if (!next) return 0;
              if (next->has_value()) return 1;
              const std::size_t chunk = std::min<std::size_t>(65536, stream.size() - at);
              assembler.append(std::span<const std::byte>(stream).subspan(at, chunk));
              at = (at + chunk) % stream.size();
            }
          });
  return 0;
}
