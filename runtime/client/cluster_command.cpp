/// `troupe cluster add ID ADDR [--learner] | promote ID | remove ID | transfer-leader ID |
/// change CHANGE...` with the common client options (client_options.hpp): membership changes (Raft
/// thesis §4.3) and leadership transfer (thesis §3.10), sent to the leader (found like `troupe kv`
/// finds it). add, promote and remove make one change; `change` makes several at once, in one joint
/// configuration (e.g. replace node 3 by node 4: `change promote=4 remove=3`). Add a learner first,
/// then promote it (thesis §4.2.1), as docs/operations.md describes.
///
/// Output: "OK" on stdout once the change is complete (its configuration committed: for a change of
/// voters, the C_new that follows C_old,new). Exit codes as `troupe kv`: 0 done; 1 definite failure
/// (the change does not fit the configuration, e.g. the node is already a member; another change
/// stayed in progress until the timeout; no node reachable); 2 usage or bad input; 3 outcome
/// unknown (look at `troupe cluster status`).

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "runtime/base/host_port.hpp"
#include "runtime/client/client_options.hpp"
#include "runtime/client/kv_command.hpp"

namespace troupe::cli {

namespace {

constexpr const char* cluster_usage =
    "usage: troupe cluster status [--metrics=HOST:PORT,...] [--json]\n"
    "       troupe cluster add ID HOST:PORT [--learner] --endpoints=HOST:PORT,...\n"
    "       troupe cluster promote ID --endpoints=...\n"
    "       troupe cluster remove ID --endpoints=...\n"
    "       troupe cluster transfer-leader ID --endpoints=...\n"
    "       troupe cluster change CHANGE... --endpoints=...\n"
    "  add            a new member at HOST:PORT (start it first with troupe node --join=...);\n"
    "                 --learner: a non-voting member that catches up before it is promoted\n"
    "  promote        a learner becomes a voter (through a joint configuration)\n"
    "  remove         a voter or learner leaves; the leader may remove itself (it hands over)\n"
    "  transfer-leader  the voter ID becomes the leader\n"
    "  change         several changes in one joint configuration; each CHANGE is add=ID@HOST:PORT,\n"
    "                 learner=ID@HOST:PORT, promote=ID or remove=ID (replace: promote=4 remove=3)\n"
    "  common options: --endpoints, --cluster-id, --client-secret-file, --timeout (default 5s)\n"
    "  exit: 0 done, 1 refused or failed, 2 usage, 3 outcome unknown (see troupe cluster status)\n";

int usage(const std::string& why) {
  std::cerr << "troupe cluster: " << why << "\n" << cluster_usage;
  return 2;
}

result<std::uint64_t> node_id_of(const std::string& text) {
  std::uint64_t id = 0;
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos) {
    return make_error(errc::invalid_argument, "'" + text + "' is not a node id");
  }
  id = std::stoull(text);
  if (id == 0) return make_error(errc::invalid_argument, "node id 0 is not allowed");
  return id;
}

// One CHANGE word of `troupe cluster change`: add=ID@HOST:PORT, learner=ID@HOST:PORT, promote=ID,
// remove=ID.
result<wire::member_change> member_change_of(const std::string& word) {
  const auto eq = word.find('=');
  const std::string kind = word.substr(0, eq);
  const std::string rest = eq == std::string::npos ? "" : word.substr(eq + 1);
  const bool with_address = kind == "add" || kind == "learner";
  if (eq == std::string::npos || (!with_address && kind != "promote" && kind != "remove")) {
    return make_error(errc::invalid_argument,
                      "'" + word + "' is not a change (add=ID@HOST:PORT, learner=ID@HOST:PORT, promote=ID, remove=ID)");
  }
  const auto at = rest.find('@');
  if (with_address != (at != std::string::npos)) {
    return make_error(errc::invalid_argument, "'" + word + "': " + kind +
                                                  (with_address ? " needs ID@HOST:PORT" : " takes a node id alone"));
  }
  auto id = node_id_of(rest.substr(0, at));
  if (!id) return make_error(errc::invalid_argument, "'" + word + "': " + id.err().message);
  if (!with_address) {
    return wire::member_change{kind == "promote" ? wire::member_change_kind::add_voter : wire::member_change_kind::remove,
                               *id, ""};
  }
  auto address = parse_host_port(rest.substr(at + 1));
  if (!address) return make_error(errc::invalid_argument, "'" + word + "': " + address.err().message);
  return wire::member_change{kind == "add" ? wire::member_change_kind::add_voter : wire::member_change_kind::add_learner,
                             *id, address->to_string()};
}

}  // namespace

int cluster_main(const args& a) {
  if (a.empty()) return usage("missing subcommand");
  const std::string verb = a.front();
  if (verb == "status") return status_main(args(a.begin() + 1, a.end()));
  if (verb == "help" || verb == "--help") {
    std::cout << cluster_usage;
    return 0;
  }
  auto parsed = parse_args(args(a.begin() + 1, a.end()));
  if (!parsed) return usage(parsed.err().message);
  std::vector<std::string_view> names = client::common_option_names();
  names.push_back("learner");
  if (auto st = parsed->check(names); !st) return usage(st.err().message);
  wire::cluster_request request;
  const bool add = verb == "add";
  if (!add && verb != "promote" && verb != "remove" && verb != "transfer-leader" && verb != "change") {
    return usage("unknown subcommand '" + verb + "'");
  }
  auto learner = parsed->get_flag("learner");
  if (!learner) return usage(learner.err().message);
  if (*learner && !add) return usage("--learner goes with add (change says learner=ID@HOST:PORT)");
  if (verb == "change") {
    if (parsed->positionals().empty()) return usage("change: no CHANGE given");
    std::vector<std::uint64_t> seen;
    for (const auto& word : parsed->positionals()) {
      auto change = member_change_of(word);
      if (!change) return usage("change: " + change.err().message);
      if (std::find(seen.begin(), seen.end(), change->node_id) != seen.end()) {
        return usage("change: node " + std::to_string(change->node_id) + " appears twice");
      }
      seen.push_back(change->node_id);
      request.changes.push_back(std::move(*change));
    }
  } else {
    if (auto st = parsed->check_positionals(add ? 2 : 1, add ? 2 : 1); !st) return usage(verb + ": " + st.err().message);
    auto id = node_id_of(parsed->positionals()[0]);
    if (!id) return usage(verb + ": " + id.err().message);
    if (add) {
      auto address = parse_host_port(parsed->positionals()[1]);
      if (!address) return usage("add: " + address.err().message);
      request.changes.push_back({*learner ? wire::member_change_kind::add_learner : wire::member_change_kind::add_voter,
                                 *id, address->to_string()});
    } else if (verb == "promote") {
      request.changes.push_back({wire::member_change_kind::add_voter, *id, ""});
    } else if (verb == "remove") {
      request.changes.push_back({wire::member_change_kind::remove, *id, ""});
    } else {
      request.transfer_to = *id;
    }
  }
  auto common = client::read_common_options(*parsed);
  if (!common) return usage(common.err().message);
  auto options = client::kv_options_for(*common);
  // A change takes a joint round and two commits (longer under load): resending it early only
  // makes a busy or an "already done" answer likely. One attempt may use the whole timeout.
  options.attempt_timeout = common->timeout;
  client::kv_client k(std::move(options), client::connection_factory(common->cluster_id, common->client_secret));
  auto r = k.cluster(std::move(request));
  const std::string prefix = "troupe cluster " + verb + ": ";
  switch (r.outcome) {
    case client::kv_outcome::done: std::cout << "OK\n"; return 0;
    case client::kv_outcome::invalid:
      if (r.maybe_applied) {
        // An earlier attempt may have done the change (its answer was lost, e.g. a removed leader
        // stepped down): "not a member" / "is a voter" may then mean it happened.
        std::cerr << prefix << "refused on a retry: " << r.message
                  << " (an earlier attempt may have done it: see troupe cluster status)\n";
        return 3;
      }
      // The leader understood the request; it does not fit the configuration: a definite failure.
      std::cerr << prefix << "refused: " << r.message << "\n";
      return 1;
    case client::kv_outcome::failed: std::cerr << prefix << r.message << "\n"; return 1;
    case client::kv_outcome::unknown:
      std::cerr << prefix << r.message << " (it may or may not have happened: see troupe cluster status)\n";
      return 3;
  }
  return 3;
}

}  // namespace troupe::cli
