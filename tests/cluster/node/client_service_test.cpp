// The node's client service (runtime/node/services.cpp) in one process, between a stand-in
// transport (a scoped actor that receives the client replies) and a stand-in raft actor that
// holds proposals until told to answer: a write the group does not answer in raft_timeout gets
// one `timeout` reply, and the group's late answer to it is dropped. Every wait has a deadline that
// only catches hangs.
#define BOOST_TEST_MODULE client_service
#include <boost/test/unit_test.hpp>

#include <prometheus/registry.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "consensus/actor/backup_file.hpp"
#include "consensus/actor/raft_actor.hpp"
#include "runtime/node/services.hpp"
#include "runtime/transport/transport.hpp"
#include "runtime/wire/client_codec.hpp"

using namespace std::chrono_literals;
using namespace troupe;

namespace {

constexpr auto deadline = 60s;
using release_atom = caf::atom_constant<caf::atom("t_release")>;

/// Holds every proposal; `(release, n)` answers every held one with an ok ClientReply for the
/// request's client id and sequence (as the kv state machine would) once at least n are held (a
/// release may overtake the proposals it is meant for: they come through the client service).
caf::behavior holding_raft(caf::event_based_actor* self) {
  struct state {
    std::vector<std::pair<caf::typed_response_promise<raft::raft_reply>, std::string>> held;
    std::size_t release_at = 0;  ///< 0: none asked
  };
  auto st = std::make_shared<state>();
  auto answer_if_due = [st] {
    if (st->release_at == 0 || st->held.size() < st->release_at) return;
    for (auto& [rp, command] : st->held) {
      auto bytes = std::as_bytes(std::span(command.data(), command.size()));
      auto request = wire::decode_client_request(*wire::message::parse(bytes));
      wire::client_reply ok;
      ok.client_id = request->client_id;
      ok.sequence = request->sequence;
      auto encoded = wire::encode(ok);
      auto raw = encoded.bytes();
      rp.deliver(raft::raft_reply{raft::outcome_code::ok,
                                  std::string(reinterpret_cast<const char*>(raw.data()), raw.size()),
                                  raft::no_node, {}});
    }
    st->held.clear();
    st->release_at = 0;
  };
  return {
      [=](raft::propose_atom, std::string& command) -> caf::result<raft::raft_reply> {
        auto rp = self->make_response_promise<raft::raft_reply>();
        st->held.emplace_back(rp, std::move(command));
        answer_if_due();
        return rp;
      },
      [=](release_atom, std::size_t n) {
        st->release_at = n;
        answer_if_due();
      },
      [=](raft::backup_atom) -> raft::raft_reply {
        raft::snapshot_metadata meta;
        meta.last_index = 9;
        meta.last_term = 2;
        meta.membership.voters = {1};
        return raft::raft_reply{raft::outcome_code::ok, raft::encode_backup(1, meta, std::string(10'000, 'b')),
                                raft::no_node, {}};
      },
  };
}

/// The lines the service logs, and a wait for one of them (the deadline only catches hangs).
struct log_lines {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> lines;
  void add(std::string_view text) {
    std::lock_guard<std::mutex> guard(mu);
    lines.emplace_back(text);
    cv.notify_all();
  }
  bool wait_for(const std::string& needle) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, deadline, [&] {
      for (const auto& l : lines) {
        if (l.find(needle) != std::string::npos) return true;
      }
      return false;
    });
  }
};

struct fixture {
  // First, so it is destroyed last: services register their metrics in it when their actor first
  // runs, which may be after the test ends, until ~actor_system has waited for every actor
  // (services.hpp: the registry must outlive them). Declared after `system` it was freed first,
  // and a probe actor scheduled late wrote into freed memory (a rare crash in the fixture dtor).
  prometheus::Registry registry;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<caf::scoped_actor> transport;
  caf::actor raft;
  caf::actor clients;
  std::shared_ptr<log_lines> logs = std::make_shared<log_lines>();

  fixture() {
    transport::add_message_types(cfg);
    raft::add_message_types(cfg);
    system = std::make_unique<caf::actor_system>(cfg);
    transport = std::make_unique<caf::scoped_actor>(*system);
    raft = system->spawn(holding_raft);
    node::services_config sc;
    sc.self = 1;
    sc.transport = caf::actor{*transport};
    sc.raft = raft;
    sc.raft_timeout = 200ms;
    sc.backup_idle_limit = 2s;  // long enough that a fetch in progress never pauses that long, even under load
    sc.registry = &registry;
    sc.log = [logs = logs](log_level, std::string_view, std::string_view text) { logs->add(text); };
    for (auto& a : node::spawn_services(*system, sc)) actors.push_back(a);
    clients = actors.at(1);
  }
  ~fixture() {
    for (auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(raft, caf::exit_reason::user_shutdown);
  }

  void put(std::uint64_t connection, std::uint64_t sequence) {
    wire::client_request r;
    r.client_id = 7;
    r.sequence = sequence;
    r.group_id = 1;
    r.body = wire::kv_put{"k" + std::to_string(sequence), "v"};
    caf::anon_send(clients, transport::client_request{connection, wire::encode(r)});
  }

  void fetch_backup(std::uint64_t connection, std::uint64_t sequence, std::uint64_t backup_id, std::uint64_t offset) {
    wire::client_request r;
    r.client_id = 7;
    r.sequence = sequence;
    r.group_id = 1;
    r.body = wire::backup_request{backup_id, offset, 4096};
    caf::anon_send(clients, transport::client_request{connection, wire::encode(r)});
  }

  /// The next client reply the service sends (other transport traffic is skipped).
  std::pair<std::uint64_t, wire::client_reply> next_reply() {
    for (;;) {
      std::optional<std::pair<std::uint64_t, wire::client_reply>> got;
      bool timed_out = false;
      (*transport)->receive(
          [&](transport::client_reply& r) {
            auto decoded = wire::decode_client_reply(r.payload);
            BOOST_REQUIRE(decoded);
            got.emplace(r.client, std::move(*decoded));
          },
          [&](transport::register_atom, const std::string&, const caf::actor&) {},
          [&](transport::outbound&) {},
          caf::after(deadline) >> [&] { timed_out = true; });
      BOOST_REQUIRE_MESSAGE(!timed_out, "no client reply within the deadline");
      if (got) return *got;
    }
  }

  std::vector<caf::actor> actors;
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_write_the_group_does_not_answer_in_time_gets_one_timeout_reply, fixture) {
  put(11, 1);
  put(12, 2);
  put(13, 3);
  for (std::uint64_t i = 1; i <= 3; ++i) {
    auto [connection, reply] = next_reply();
    BOOST_TEST(connection == 10 + i);
    BOOST_TEST(reply.sequence == i);
    BOOST_TEST(static_cast<int>(reply.error) == static_cast<int>(wire::client_error::timeout));
    BOOST_TEST(reply.error_message.find("outcome unknown") != std::string::npos);
  }
  // The group answers the three late, then a fourth write in time: only the fourth is answered.
  caf::anon_send(raft, release_atom::value, std::size_t{3});
  put(14, 4);
  caf::anon_send(raft, release_atom::value, std::size_t{1});
  auto [connection, reply] = next_reply();
  BOOST_TEST(connection == 14u);
  BOOST_TEST(reply.sequence == 4u);
  BOOST_TEST(static_cast<int>(reply.error) == static_cast<int>(wire::client_error::ok));
}

BOOST_FIXTURE_TEST_CASE(answers_in_time_reach_their_connections, fixture) {
  for (std::uint64_t i = 1; i <= 50; ++i) put(100 + i, i);
  caf::anon_send(raft, release_atom::value, std::size_t{50});
  std::vector<bool> seen(51, false);
  for (int n = 0; n < 50; ++n) {
    auto [connection, reply] = next_reply();
    BOOST_TEST(static_cast<int>(reply.error) == static_cast<int>(wire::client_error::ok));
    BOOST_REQUIRE(reply.sequence >= 1 && reply.sequence <= 50);
    BOOST_TEST(connection == 100 + reply.sequence);
    BOOST_TEST(!seen[reply.sequence]);
    seen[reply.sequence] = true;
  }
}

// A kv read carries no session index (docs/consistency.md): served at `session` it would be a
// stale read under a stronger name, so the node refuses it, whatever client sent it.
BOOST_FIXTURE_TEST_CASE(a_kv_read_at_session_consistency_is_refused_as_invalid, fixture) {
  wire::client_request r;
  r.client_id = 7;
  r.sequence = 1;
  r.group_id = 1;
  r.body = wire::kv_get{"k", wire::read_consistency::session};
  caf::anon_send(clients, transport::client_request{31, wire::encode(r)});
  auto [connection, reply] = next_reply();
  BOOST_TEST(connection == 31u);
  BOOST_TEST(static_cast<int>(reply.error) == static_cast<int>(wire::client_error::invalid_request));
  BOOST_TEST(reply.error_message.find("session") != std::string::npos, reply.error_message);
}

// A backup whose client stopped fetching it is dropped after backup_idle_limit (it holds the whole
// state in memory; it was held until the next backup, for ever if none came). Fetched in time, it
// is served to its end.
BOOST_FIXTURE_TEST_CASE(a_backup_nobody_fetches_any_more_is_dropped_after_the_idle_limit, fixture) {
  fetch_backup(21, 1, 0, 0);
  auto [c1, first] = next_reply();
  BOOST_REQUIRE(static_cast<int>(first.error) == static_cast<int>(wire::client_error::ok));
  auto* chunk = std::get_if<wire::backup_chunk>(&first.body);
  BOOST_REQUIRE(chunk != nullptr);
  const std::uint64_t id = chunk->backup_id;
  BOOST_TEST(chunk->data.size() == 4096u);
  BOOST_TEST(chunk->total_bytes > 10'000u);
  BOOST_REQUIRE(logs->wait_for("dropped backup " + std::to_string(id)));
  fetch_backup(21, 2, id, 4096);
  auto [c2, late] = next_reply();
  BOOST_TEST(static_cast<int>(late.error) == static_cast<int>(wire::client_error::invalid_request));
  BOOST_TEST(late.error_message.find("no longer held") != std::string::npos, late.error_message);
  // A new backup, fetched without pause, is served completely.
  fetch_backup(22, 3, 0, 0);
  auto [c3, again] = next_reply();
  auto* a = std::get_if<wire::backup_chunk>(&again.body);
  BOOST_REQUIRE(a != nullptr);
  std::uint64_t offset = a->data.size();
  for (std::uint64_t seq = 4; offset < a->total_bytes; ++seq) {
    fetch_backup(22, seq, a->backup_id, offset);
    auto [c, next] = next_reply();
    auto* n = std::get_if<wire::backup_chunk>(&next.body);
    BOOST_REQUIRE_MESSAGE(n != nullptr, next.error_message);
    offset += n->data.size();
  }
  BOOST_TEST(offset == a->total_bytes);
}
