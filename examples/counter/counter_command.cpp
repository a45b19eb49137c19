// `troupe counter incr NAME [--by=N] | get NAME [--consistency=...] [--min-index=N]` with the
// common client options (runtime/client/client_options.hpp). Prints the value alone on stdout
// (with --show-index also `index=N`, the log index the answer was produced at, which a later
// `get --consistency=session --min-index=N` waits for). Exit codes: 0 done; 1 definite failure;
// 2 usage or a refused request; 3 outcome unknown.
#include <iostream>

#include "actors/replicated/replicated_client.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "examples/counter/counter_service.hpp"
#include "runtime/client/client_options.hpp"
#include "runtime/client/kv_command.hpp"

namespace troupe::cli {

namespace {

constexpr const char* usage_text =
    "usage: troupe counter incr NAME [--by=N] | get NAME [--consistency=linearizable|lease|follower|"
    "session|stale] [--min-index=N]  --endpoints=host:port,... [--show-index] [--timeout=5s]\n";

int usage(const std::string& why) {
  std::cerr << "troupe counter: " << why << "\n" << usage_text;
  return 2;
}

}  // namespace

int counter_main(const args& a) {
  auto parsed = parse_args(a);
  if (!parsed) return usage(parsed.err().message);
  const auto& pos = parsed->positionals();
  if (pos.size() != 2 || (pos[0] != "incr" && pos[0] != "get")) return usage("expected incr NAME or get NAME");
  auto known = client::common_option_names();
  known.insert(known.end(), {"by", "consistency", "min-index", "show-index"});
  if (auto st = parsed->check(known); !st) return usage(st.err().message);
  auto common = client::read_common_options(*parsed);
  if (!common) return usage(common.err().message);
  auto by = parsed->get_string("by", "1");
  auto consistency = parsed->get_string("consistency", "linearizable");
  auto min_index = parsed->get_uint("min-index", 0);
  auto show_index = parsed->get_flag("show-index");
  if (!by || !consistency || !min_index || !show_index) return usage("bad option value");
  auto level = client::parse_read_consistency(*consistency);
  if (!level) return usage(level.err().message);
  std::int64_t step = 0;
  try {
    std::size_t used = 0;
    step = std::stoll(*by, &used);
    if (used != by->size()) return usage("--by: not an integer: " + *by);
  } catch (const std::exception&) {
    return usage("--by: not an integer: " + *by);
  }

  replicated::replicated_client handle("counter", client::kv_options_for(*common),
                                       client::connection_factory(common->cluster_id, common->client_secret));
  handle.observe_index(*min_index);
  auto r = pos[0] == "incr" ? handle.command(counter::incr_command(pos[1], step))
                            : handle.query(counter::get_query(pos[1]), *level);
  if (r.outcome == client::kv_outcome::done) {
    std::cout << r.payload << (*show_index ? " index=" + std::to_string(r.index) : std::string()) << "\n";
    return 0;
  }
  std::cerr << "troupe counter " << pos[0] << ": " << r.message
            << (r.outcome == client::kv_outcome::unknown && pos[0] == "incr" ? " (it may or may not have been applied)" : "")
            << "\n";
  return client::exit_code_for(r.outcome);
}

}  // namespace troupe::cli
