/// `troupe ping --endpoints=host:port,... [--count=N]`: an authenticated client round trip to each
/// node. Prints one line per reply: "pong from node 2 at 127.0.0.1:7102: 0.412 ms".
/// Exit codes: 0 every node answered every ping; 1 a node refused us (wrong secret, cluster id);
/// 2 usage; 3 a node did not answer (connection failed, timeout).

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "runtime/client/client_options.hpp"
#include "runtime/client/connection.hpp"

namespace troupe::cli {

int ping_main(const args& a) {
  auto parsed = parse_args(a);
  if (!parsed) {
    std::cerr << "troupe ping: " << parsed.err().message << "\n";
    return 2;
  }
  auto known = client::common_option_names();
  known.push_back("count");
  if (auto st = parsed->check(known); !st) {
    std::cerr << "troupe ping: " << st.err().message << "\n";
    return 2;
  }
  if (auto st = parsed->check_positionals(0, 0); !st) {
    std::cerr << "troupe ping: " << st.err().message << "\n";
    return 2;
  }
  auto opts = client::read_common_options(*parsed);
  if (!opts) {
    std::cerr << "troupe ping: " << opts.err().message << "\n";
    return 2;
  }
  auto count = parsed->get_uint("count", 1);
  if (!count || *count == 0) {
    std::cerr << "troupe ping: --count: expected a positive integer\n";
    return 2;
  }

  int exit_code = 0;
  for (std::size_t i = 0; i < opts->endpoints.size(); ++i) {
    auto where = opts->endpoints[i].first + ":" + std::to_string(opts->endpoints[i].second);
    auto conn = client::connection::open(client::connection_options_for(*opts, i));
    if (!conn) {
      std::cerr << "troupe ping: " << conn.err().message << "\n";
      exit_code = std::max(exit_code, conn.err().code == errc::refused ? 1 : 3);
      continue;
    }
    for (std::uint64_t n = 1; n <= *count; ++n) {
      wire::client_request req;
      req.client_id = 1;
      req.sequence = n;
      req.body = wire::ping{n};
      auto start = std::chrono::steady_clock::now();
      auto reply = (*conn)->call(req, opts->timeout);
      auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
      if (!reply) {
        std::cerr << "troupe ping: " << where << ": " << reply.err().message << "\n";
        exit_code = 3;
        break;
      }
      if (reply->error != wire::client_error::ok) {
        std::cerr << "troupe ping: " << where << ": " << wire::to_string(reply->error) << ": "
                  << reply->error_message << "\n";
        exit_code = std::max(exit_code, 1);
        break;
      }
      char line[160];
      std::snprintf(line, sizeof line, "pong from node %llu at %s: %.3f ms",
                    static_cast<unsigned long long>((*conn)->node_id()), where.c_str(), ms.count());
      std::cout << line << std::endl;
    }
  }
  return exit_code;
}

}  // namespace troupe::cli
