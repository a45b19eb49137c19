/// `troupe checkpoint take | list | show ID | restore ID | delete ID | export ID --dot
/// --endpoints=host:port`: the checkpoint coordinator's operations over the client connection. The
/// endpoint must be the node running the coordinator (troupe bank: the lowest node id).
/// Exit codes: 0 done (take: the checkpoint is complete and stored); 1 refused, not found, or the
/// checkpoint aborted (its status and reason on stderr); 2 usage; 3 no answer (connection, timeout).

#include <iostream>
#include <map>
#include <string>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "runtime/client/client_options.hpp"
#include "runtime/client/connection.hpp"

namespace troupe::cli {

namespace {

constexpr const char* checkpoint_usage =
    "usage: troupe checkpoint take | list | show ID | restore ID | delete ID | export ID --dot\n"
    "         --endpoints=host:port [--timeout=5s]\n"
    "  take      start a checkpoint and wait until it is stored (or aborted)\n"
    "  list      every stored checkpoint, newest first\n"
    "  show      a checkpoint's manifest and participants\n"
    "  restore   roll the running application back to a complete checkpoint, in place: every\n"
    "            participant restarts from its recorded state and in-flight messages; refused\n"
    "            with the reason if the checkpoint cannot be restored whole\n"
    "  delete    delete a checkpoint\n"
    "  export    the global state as Graphviz (--dot): participants and in-flight messages\n";

int usage(const std::string& why) {
  std::cerr << "troupe checkpoint: " << why << "\n\n" << checkpoint_usage;
  return 2;
}

}  // namespace

int checkpoint_main(const args& a) {
  auto parsed = parse_args(a);
  if (!parsed) return usage(parsed.err().message);
  if (parsed->has("help")) {
    std::cout << checkpoint_usage;
    return 0;
  }
  auto known = client::common_option_names();
  known.push_back("dot");
  if (auto st = parsed->check(known); !st) return usage(st.err().message);
  const auto& words = parsed->positionals();
  if (words.empty()) return usage("missing verb");
  static const std::map<std::string, std::pair<wire::checkpoint_verb, bool>> verbs = {
      {"take", {wire::checkpoint_verb::take, false}},
      {"list", {wire::checkpoint_verb::list, false}},
      {"show", {wire::checkpoint_verb::show, true}},
      {"restore", {wire::checkpoint_verb::restore, true}},
      {"delete", {wire::checkpoint_verb::remove, true}},
      {"export", {wire::checkpoint_verb::export_dot, true}},
  };
  auto verb = verbs.find(words[0]);
  if (verb == verbs.end()) return usage("unknown verb '" + words[0] + "'");
  const bool needs_id = verb->second.second;
  if (words.size() != (needs_id ? 2u : 1u)) {
    return usage(words[0] + (needs_id ? " takes a checkpoint id" : " takes no argument"));
  }
  wire::checkpoint_request request{verb->second.first, 0};
  if (needs_id) {
    try {
      std::size_t used = 0;
      request.id = std::stoull(words[1], &used);
      if (used != words[1].size() || request.id == 0) throw std::invalid_argument("id");
    } catch (const std::exception&) {
      return usage("'" + words[1] + "' is not a checkpoint id (a positive integer)");
    }
  }
  if (request.verb == wire::checkpoint_verb::export_dot && !parsed->has("dot")) {
    return usage("export needs --dot (the only format)");
  }
  auto opts = client::read_common_options(*parsed);
  if (!opts) return usage(opts.err().message);
  if (opts->endpoints.size() != 1) return usage("--endpoints: give the coordinator's node only");

  auto conn = client::connection::open(client::connection_options_for(*opts, 0));
  if (!conn) {
    std::cerr << "troupe checkpoint: " << conn.err().message << "\n";
    return conn.err().code == errc::refused ? 1 : 3;
  }
  wire::client_request req;
  req.client_id = 1;
  req.sequence = 1;
  req.body = request;
  // A take waits for the checkpoint to finish, a restore for every node's confirmation: give them
  // the coordinator's time, not a ping's.
  auto timeout = request.verb == wire::checkpoint_verb::take ||
                         request.verb == wire::checkpoint_verb::restore
                     ? std::max(opts->timeout, std::chrono::milliseconds(60'000))
                     : opts->timeout;
  auto reply = (*conn)->call(req, timeout);
  if (!reply) {
    std::cerr << "troupe checkpoint: " << reply.err().message << "\n";
    return 3;
  }
  if (reply->error != wire::client_error::ok) {
    std::cerr << "troupe checkpoint: " << wire::to_string(reply->error) << ": "
              << reply->error_message << "\n";
    return reply->error == wire::client_error::timeout ? 3 : 1;
  }
  auto* result = std::get_if<wire::checkpoint_result>(&reply->body);
  if (result == nullptr) {
    std::cerr << "troupe checkpoint: the node answered something else than a checkpoint result\n";
    return 1;
  }
  if (result->status != "ok") {
    std::cerr << "troupe checkpoint: "
              << (result->id != 0 ? "checkpoint " + std::to_string(result->id) + ": " : "")
              << result->status << ": " << result->text << "\n";
    return result->status == "timeout" && result->id == 0 ? 3 : 1;
  }
  if (request.verb == wire::checkpoint_verb::take) {
    std::cout << "checkpoint " << result->id << " complete\n";
  } else {
    std::cout << result->text;
  }
  return 0;
}

}  // namespace troupe::cli
