// Stand-ins for subcommands whose library is not in this tree yet, so that `troupe` links while the
// node and the transport benchmark are being written. cli/CMakeLists.txt defines TROUPE_HAVE_NODE
// and TROUPE_HAVE_TRANSPORT_BENCH when the real targets exist; each stand-in then disappears.

#include <cstdio>

#include "cli/commands.hpp"

namespace troupe::cli {
namespace {

[[maybe_unused]] int unavailable(const char* command) {
  std::fprintf(stderr, "troupe: '%s' is not built in this tree\n", command);
  return 2;
}

}  // namespace

#ifndef TROUPE_HAVE_NODE
int node_main(const args&, const state_machine_factory&) {
  return unavailable("node");
}
int ping_main(const args&) {
  return unavailable("ping");
}
int kv_main(const args&) {
  return unavailable("kv");
}
int bench_kv_main(const args&) {
  return unavailable("bench kv");
}
int cluster_main(const args&) {
  return unavailable("cluster");
}
int backup_main(const args&) {
  return unavailable("backup");
}
#endif

#ifndef TROUPE_HAVE_TRANSPORT_BENCH
int bench_transport_main(const args&) {
  return unavailable("bench transport");
}
#endif

}  // namespace troupe::cli
