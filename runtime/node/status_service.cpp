#include "runtime/node/status_service.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <string>

#include "consensus/actor/raft_actor.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/metrics/http_endpoint.hpp"
#include "runtime/status/status_render.hpp"
#include "runtime/transport/transport.hpp"

#include <memory>
#include <set>

#include "consensus/core/membership.hpp"

namespace troupe::node {

namespace {

using status_tick_atom = caf::atom_constant<caf::atom("nd_stick")>;

caf::behavior status_collector(caf::event_based_actor* self, status_collector_config config) {
  self->send(self, status_tick_atom::value);
  // The members change at run time: the raft actor's configuration adds to the configured peers.
  auto members = std::make_shared<std::set<std::uint64_t>>(config.peers.begin(), config.peers.end());
  return {
      [=](status_tick_atom) {
        for (auto peer : *members) {
          // An unanswered request (transport stopping) just leaves the last state on the board.
          self->request(config.transport, config.interval * 4, transport::status_atom::value, peer)
              .then(
                  [board = config.board](const transport::peer_status& s) {
                    board->set_peer(s.peer, std::string(transport::to_string(s.state)), s.queued,
                                    s.unacknowledged);
                  },
                  [](const caf::error&) {});
        }
        if (config.raft) {
          self->request(config.raft, config.interval * 4, raft::status_atom::value)
              .then(
                  [board = config.board, members](const raft::group_status& g) {
                    members->clear();
                    for (auto id : raft::members_of(g.node.membership)) {
                      if (id != g.node.id) members->insert(id);
                    }
                    board->set_raft(g, steady_now_ms());
                  },
                  [](const caf::error&) {});
        }
        self->delayed_send(self, config.interval, status_tick_atom::value);
      },
  };
}

}  // namespace

caf::actor spawn_status_collector(caf::actor_system& system, status_collector_config config) {
  return system.spawn(status_collector, std::move(config));
}

void serve_status(metrics::http_endpoint& endpoint, std::shared_ptr<status_page::status_board> board) {
  auto view = [board] { return board->view(unix_now_ms(), steady_now_ms()); };
  endpoint.set_status_handler([view] {
    return metrics::http_response{200, "text/html; charset=utf-8", status_page::render_html(view())};
  });
  endpoint.set_handler("/status.json", [view] {
    return metrics::http_response{200, "application/json", status_page::render_json(view())};
  });
  endpoint.set_handler("/status.txt", [view] {
    return metrics::http_response{200, "text/plain; charset=utf-8", status_page::render_text(view())};
  });
  endpoint.set_health_handler([view] {
    auto verdict = status_page::judge_health(view());
    return metrics::http_response{verdict.healthy ? 200 : 503, "text/plain; charset=utf-8",
                                  verdict.reason + "\n"};
  });
}

}  // namespace troupe::node
