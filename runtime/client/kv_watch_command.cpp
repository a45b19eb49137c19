// `troupe kv list` and `troupe kv watch` (kv_command.hpp states the output and exit codes).
#include <algorithm>
#include <ostream>

#include "runtime/client/kv_command.hpp"
#include "runtime/client/kv_watch.hpp"

namespace troupe::client {

int run_kv_list(const kv_command& c, kv_client& client, std::ostream& out, std::ostream& err,
                std::uint32_t page_size) {
  const std::uint64_t page_max = std::max<std::uint32_t>(page_size, 1);
  wire::kv_range request;
  request.key = c.key;
  request.prefix = true;
  request.keys_only = c.keys_only;
  std::uint64_t printed = 0;
  for (;;) {
    const std::uint64_t left = c.limit == 0 ? page_max : c.limit - printed;
    request.limit = static_cast<std::uint32_t>(std::min(left, page_max));
    auto r = client.range(request);
    auto* page = std::get_if<wire::kv_range_result>(&r.body);
    if (r.outcome != kv_outcome::done || page == nullptr) {
      err << "troupe kv list: " << (r.message.empty() ? "no listing in the answer" : r.message) << "\n";
      return r.outcome == kv_outcome::done ? exit_code_for(kv_outcome::unknown) : exit_code_for(r.outcome);
    }
    for (const auto& e : page->entries) {
      out << e.key;
      if (!c.keys_only) {
        out << '\t' << e.value << "\tcreate=" << e.create_revision << " mod=" << e.mod_revision
            << " version=" << e.version;
      }
      out << '\n';
    }
    printed += page->entries.size();
    if (!page->more || page->entries.empty() || (c.limit != 0 && printed >= c.limit)) break;
    request.start_after = page->entries.back().key;
  }
  out.flush();
  return 0;
}

int run_kv_watch(const kv_command& c, kv_client& client, std::ostream& out, std::ostream& err,
                 const std::function<bool()>& stopped,
                 const std::function<void(std::chrono::milliseconds)>& sleep,
                 std::chrono::milliseconds poll_interval) {
  kv_watcher watcher(client, watch_options{c.key, !c.exact_key, c.from, 0});
  std::uint64_t seen = 0;
  bool failing = false;  // said once per outage, not once per poll
  while (!stopped()) {
    auto p = watcher.poll();
    switch (p.what) {
      case watch_poll::status::events:
        if (failing) err << "troupe kv watch: the cluster answers again\n";
        failing = false;
        for (const auto& e : p.events) {
          if (e.kind == wire::kv_event_kind::put) {
            out << e.revision << " PUT " << e.key << ' ' << e.value << '\n';
          } else {
            out << e.revision << " DELETE " << e.key << '\n';
          }
          if (c.count != 0 && ++seen >= c.count) {
            out.flush();
            return 0;
          }
        }
        out.flush();  // a line per event as it happens, also into a pipe
        if (!p.more) sleep(poll_interval);
        break;
      case watch_poll::status::retry:
        // Election, outage, lost reply: nothing changed on our side; ask again from the same
        // revision (no gap, no duplicate).
        if (!failing) {
          err << "troupe kv watch: " << p.message << "; still trying from revision "
              << watcher.next_revision() << "\n";
        }
        failing = true;
        sleep(poll_interval);
        break;
      case watch_poll::status::compacted:
        err << "troupe kv watch: " << p.message << "\n";
        return 1;
      case watch_poll::status::refused:
        err << "troupe kv watch: " << p.message << "\n";
        return 1;
      case watch_poll::status::invalid:
        err << "troupe kv watch: " << p.message << "\n";
        return 2;
    }
  }
  out.flush();
  return 0;
}

}  // namespace troupe::client
