#include "runtime/client/kv_command.hpp"

#include <algorithm>
#include <csignal>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "runtime/base/host_port.hpp"
#include "runtime/client/kv_txn_script.hpp"

namespace troupe::client {

namespace {

error usage(std::string message) { return make_error(errc::invalid_argument, std::move(message)); }

const char* op_name(kv_op op) {
  switch (op) {
    case kv_op::put: return "put";
    case kv_op::get: return "get";
    case kv_op::cas: return "cas";
    case kv_op::del: return "del";
    case kv_op::list: return "list";
    case kv_op::watch: return "watch";
    case kv_op::txn: return "txn";
  }
  return "?";
}

/// A value for a message: quoted, cut at 64 bytes, control bytes escaped.
std::string shown(const std::string& v) {
  std::string s = "'";
  for (std::size_t i = 0; i < v.size() && i < 64; ++i) {
    auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      s += "\\x";
      s += hex[c >> 4];
      s += hex[c & 15];
    } else {
      s += static_cast<char>(c);
    }
  }
  if (v.size() > 64) s += "...";
  return s + "'";
}

}  // namespace

result<kv_command> parse_kv_command(const std::vector<std::string>& words) {
  auto parsed = cli::parse_args(words);
  if (!parsed) return parsed.err();
  const auto& pos = parsed->positionals();
  if (pos.empty()) return usage("missing operation: put, get, cas, del, list, watch or txn");
  kv_command c;
  auto known = common_option_names();
  std::size_t want = 0;
  if (pos[0] == "put") {
    c.op = kv_op::put;
    want = 3;
  } else if (pos[0] == "get") {
    c.op = kv_op::get;
    known.push_back("consistency");
    want = 2;
  } else if (pos[0] == "cas") {
    c.op = kv_op::cas;
    known.push_back("expect-absent");
    want = 4;
  } else if (pos[0] == "del") {
    c.op = kv_op::del;
    want = 2;
  } else if (pos[0] == "list") {
    c.op = kv_op::list;
    known.insert(known.end(), {"limit", "keys-only"});
    want = 2;
  } else if (pos[0] == "watch") {
    c.op = kv_op::watch;
    known.insert(known.end(), {"from", "count", "key"});
    want = 2;
  } else if (pos[0] == "txn") {
    c.op = kv_op::txn;
    want = 1;
  } else {
    return usage("unknown operation '" + pos[0] + "': expected put, get, cas, del, list, watch or txn");
  }
  if (auto st = parsed->check(known); !st) return st.err();
  bool expect_absent = false;
  if (c.op == kv_op::cas) {
    auto f = parsed->get_flag("expect-absent");
    if (!f) return f.err();
    expect_absent = *f;
    if (expect_absent) want = 3;
  }
  static const char* shapes[] = {"put KEY VALUE", "get KEY", "cas KEY EXPECTED NEW | cas --expect-absent KEY NEW",
                                 "del KEY", "list PREFIX", "watch PREFIX", "txn (the script on stdin)"};
  if (pos.size() != want) {
    return usage(std::string("expected ") + shapes[static_cast<int>(c.op)] + ", got " +
                 std::to_string(pos.size() - 1) + " argument(s)");
  }
  if (c.op != kv_op::txn) c.key = pos[1];
  // An empty prefix means every key; a key must name something.
  if (c.key.empty() && (c.op == kv_op::put || c.op == kv_op::get || c.op == kv_op::cas || c.op == kv_op::del)) {
    return usage("KEY must not be empty");
  }
  switch (c.op) {
    case kv_op::put: c.value = pos[2]; break;
    case kv_op::cas:
      if (expect_absent) {
        c.value = pos[2];
      } else {
        c.expected = pos[2];
        c.value = pos[3];
      }
      break;
    case kv_op::get: {
      auto mode = parsed->get_string("consistency", "linearizable");
      if (!mode) return mode.err();
      auto consistency = parse_read_consistency(*mode);
      if (!consistency) return consistency.err();
      // A one-shot command has no session, and a kv request carries no session index: session
      // would give no more than stale. Say so instead of pretending (docs/consistency.md).
      if (*consistency == wire::read_consistency::session) {
        return usage("--consistency=session needs a session index, which a kv request cannot carry: "
                     "use --consistency=follower (linearizable from any node) or stale");
      }
      c.consistency = *consistency;
      break;
    }
    case kv_op::del: break;
    case kv_op::list: {
      auto limit = parsed->get_uint("limit", 0);
      if (!limit) return limit.err();
      auto keys_only = parsed->get_flag("keys-only");
      if (!keys_only) return keys_only.err();
      c.limit = *limit;
      c.keys_only = *keys_only;
      break;
    }
    case kv_op::watch: {
      auto from = parsed->get_uint("from", 0);
      if (!from) return from.err();
      auto count = parsed->get_uint("count", 0);
      if (!count) return count.err();
      auto exact = parsed->get_flag("key");
      if (!exact) return exact.err();
      if (*exact && c.key.empty()) return usage("--key needs a KEY, not an empty prefix");
      c.from = *from;
      c.count = *count;
      c.exact_key = *exact;
      break;
    }
    case kv_op::txn: break;
  }
  auto common = read_common_options(*parsed);
  if (!common) return common.err();
  c.common = std::move(*common);
  return c;
}

int exit_code_for(kv_outcome outcome) noexcept {
  switch (outcome) {
    case kv_outcome::done: return 0;
    case kv_outcome::failed: return 1;
    case kv_outcome::invalid: return 2;
    case kv_outcome::unknown: return 3;
  }
  return 3;
}

kv_client_options kv_options_for(const common_options& common) {
  kv_client_options o;
  for (auto& [host, port] : common.endpoints) {
    o.endpoints.push_back(host_port{host, port}.to_string());
  }
  o.timeout = common.timeout;
  o.attempt_timeout = std::min(common.timeout, o.attempt_timeout);
  return o;
}

int run_kv_command(const kv_command& c, kv_client& client, std::ostream& out, std::ostream& err) {
  kv_result r;
  switch (c.op) {
    case kv_op::put: r = client.put(c.key, c.value); break;
    case kv_op::get: r = client.get(c.key, c.consistency); break;
    case kv_op::cas: r = client.cas(c.key, c.expected, c.value); break;
    case kv_op::del: r = client.del(c.key); break;
    case kv_op::list: return run_kv_list(c, client, out, err);
    case kv_op::txn: {
      auto txn = parse_txn_script(c.script);
      if (!txn) {
        err << "troupe kv txn: " << txn.err().message << "\n";
        return 2;
      }
      return run_kv_txn(*txn, client, out, err);
    }
    case kv_op::watch:  // until --count events (kv_main also stops it on SIGINT / SIGTERM)
      return run_kv_watch(c, client, out, err, [] { return false; }, client_clock::real().sleep);
  }
  const std::string prefix = std::string("troupe kv ") + op_name(c.op) + ": ";
  switch (r.outcome) {
    case kv_outcome::done:
      if (c.op == kv_op::get) {
        out << *r.value << "\n";
      } else {
        out << "OK\n";
      }
      break;
    case kv_outcome::failed:
      if (r.code == wire::client_error::no_such_key) {
        err << prefix << "no such key " << shown(c.key) << "\n";
      } else if (r.code == wire::client_error::cas_mismatch) {
        err << prefix << "compare failed: " << shown(c.key)
            << (r.value ? " holds " + shown(*r.value) : std::string(" is absent")) << "\n";
      } else {
        err << prefix << r.message << "\n";
      }
      break;
    case kv_outcome::invalid: err << prefix << "the node rejected the request: " << r.message << "\n"; break;
    case kv_outcome::unknown:
      err << prefix << r.message
          << " (the operation may or may not have been applied; read the key to find out)\n";
      break;
  }
  out.flush();
  return exit_code_for(r.outcome);
}

}  // namespace troupe::client

namespace troupe::cli {

namespace {

volatile std::sig_atomic_t watch_stop = 0;
extern "C" void on_watch_signal(int) { watch_stop = 1; }

}  // namespace

int kv_main(const args& a) {
  auto c = client::parse_kv_command(a);
  if (!c) {
    std::cerr << "troupe kv: " << c.err().message
              << "\nusage: troupe kv put KEY VALUE | get KEY [--consistency=linearizable|lease|follower|stale]"
                 " | cas KEY EXPECTED NEW | cas --expect-absent KEY NEW | del KEY"
                 " | list PREFIX [--limit=N] [--keys-only]"
                 " | watch PREFIX [--from=REV] [--count=N] [--key] | txn < SCRIPT"
                 " --endpoints=host:port,... [--timeout=5s]\n"
                 "  list prints KEY<TAB>VALUE<TAB>create=C mod=M version=V per key;"
                 " watch prints 'REV PUT KEY VALUE' or 'REV DELETE KEY' per change, from REV"
                 " (default: from now) until --count events or SIGINT/SIGTERM\n"
                 "  txn reads one line each: 'compare value|version|create|mod KEY =|!=|<|> X',"
                 " 'success|failure put KEY VALUE', 'success|failure del|get KEY'\n";
    return 2;
  }
  if (c->op == client::kv_op::txn) {
    for (std::string line; std::getline(std::cin, line);) c->script += line + "\n";
  }
  client::kv_client k(client::kv_options_for(c->common),
                      client::connection_factory(c->common.cluster_id, c->common.client_secret));
  if (c->op == client::kv_op::watch) {
    // Stop between polls (a poll in flight finishes first, within --timeout).
    std::signal(SIGINT, on_watch_signal);
    std::signal(SIGTERM, on_watch_signal);
    auto real = client::client_clock::real();
    auto stopped = [] { return watch_stop != 0; };
    auto sleep = [&](std::chrono::milliseconds d) {
      // In slices, so that a signal ends the pause soon.
      for (auto left = d; left.count() > 0 && !stopped(); left -= std::chrono::milliseconds(20)) {
        real.sleep(std::min(left, std::chrono::milliseconds(20)));
      }
    };
    return client::run_kv_watch(*c, k, std::cout, std::cerr, stopped, sleep);
  }
  return client::run_kv_command(*c, k, std::cout, std::cerr);
}

}  // namespace troupe::cli
