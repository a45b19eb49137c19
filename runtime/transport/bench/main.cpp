// A stand-alone `troupe bench transport` for working on the transport without building the whole
// troupe binary: `transport_bench [bench transport] [--runs=3 ...]`.
#include <string>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  troupe::cli::args a;
  int i = 1;
  if (argc > 2 && std::string(argv[1]) == "bench" && std::string(argv[2]) == "transport")
    i = 3;
  for (; i < argc; ++i)
    a.emplace_back(argv[i]);
  return troupe::cli::bench_transport_main(a);
}
