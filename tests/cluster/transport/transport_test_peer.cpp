// transport_test_peer: one node's transport plus a sender and a receiver actor, driven by commands
// on stdin and reporting on stdout, one machine-readable line per event (the cluster tests parse
// them). Not a product binary.
//
// Flags: --id=N --listen=HOST:PORT --peer=ID=HOST:PORT (repeatable) --to=ID --secret=TEXT
//        --cluster=NAME [--print-each] [--batched] [--seed=N] [--commands=FIFO (default: stdin)]
//        --batched: the receiver registers batched and gets delivery_batch (same output lines)
// Commands: send N LANE [BYTES] | burst N BYTES | status | await-acked | metrics | quit
// Output:   listening PORT | incarnation N | log LEVEL TEXT | sent N | recv LANE ID |
//           progress LANE count=N last=ID errors=E | control-after-bulk ID BULK_RECEIVED |
//           order-error LANE expected=X got=Y | lost ID REASON | busy ID |
//           status state=S unacked=N queued=N incarnation=N | acked | metric LINE | metrics-end
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

#include <capnp/any.h>
#include <capnp/message.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "runtime/transport/link/auth_proof.hpp"
#include "runtime/transport/transport.hpp"

namespace {

using namespace troupe;
using namespace troupe::transport;
using namespace std::chrono_literals;

using cmd_atom = caf::atom_constant<caf::atom("cmd")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;

std::mutex out_mutex;

/// One line to stdout, flushed at once: a test may SIGKILL us right after.
void emit(const std::string& line) {
  std::lock_guard<std::mutex> g(out_mutex);
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

wire::message make_payload(std::uint64_t id, std::size_t bytes) {
  capnp::MallocMessageBuilder b;
  auto data = b.getRoot<capnp::AnyPointer>().initAs<capnp::Data>(
      static_cast<unsigned>(std::max<std::size_t>(bytes, 8)));
  std::memset(data.begin(), 'x', data.size());
  std::memcpy(data.begin(), &id, 8);
  return wire::message::from_builder(b);
}

std::uint64_t read_id(const wire::message& m) {
  auto data = m.root<capnp::AnyPointer>().getAs<capnp::Data>();
  std::uint64_t id = 0;
  if (data.size() >= 8)
    std::memcpy(&id, data.begin(), 8);
  return id;
}

std::optional<lane> parse_lane(const std::string& s) {
  if (s == "raft_control" || s == "control")
    return lane::raft_control;
  if (s == "raft_bulk" || s == "bulk")
    return lane::raft_bulk;
  if (s == "application")
    return lane::application;
  return std::nullopt;
}

caf::behavior receiver(caf::event_based_actor* self, bool print_each) {
  struct counters {
    std::array<std::uint64_t, lane_count> count{};
    std::array<std::uint64_t, lane_count> last{};
    std::array<std::uint64_t, lane_count> errors{};
  };
  auto c = std::make_shared<counters>();
  (void)self;
  // One received message, whether it came alone (delivery) or in a delivery_batch.
  auto on_message = [c, print_each](lane via, const wire::message& payload) {
    const auto i = link::index_of(via);
    const auto id = read_id(payload);
    const auto name = std::string(to_string(via));
    // Application and bulk ids must be consecutive (FIFO, nothing lost or duplicated).
    if (via != lane::raft_control && c->count[i] > 0 && id != c->last[i] + 1) {
      ++c->errors[i];
      emit("order-error " + name + " expected=" + std::to_string(c->last[i] + 1) +
           " got=" + std::to_string(id));
    }
    ++c->count[i];
    c->last[i] = id;
    if (via == lane::raft_control)
      emit("control-after-bulk " + std::to_string(id) + " " +
           std::to_string(c->count[link::index_of(lane::raft_bulk)]));
    if (print_each)
      emit("recv " + name + " " + std::to_string(id));
    if (c->count[i] % 10000 == 0)
      emit("progress " + name + " count=" + std::to_string(c->count[i]) +
           " last=" + std::to_string(id) + " errors=" + std::to_string(c->errors[i]));
  };
  return {
      [=](delivery& d) { on_message(d.via, d.payload); },
      [=](delivery_batch& b) {
        if (b.payloads.empty())
          emit("error empty delivery_batch");
        for (const auto& payload : b.payloads)
          on_message(b.via, payload);
      },
  };
}

struct sender_state {
  std::array<std::uint64_t, lane_count> next_id{1, 1, 1, 1};  ///< ids count per lane
};

caf::behavior sender(caf::stateful_actor<sender_state>* self, caf::actor transport, node_id to,
                     prometheus::Registry* registry) {
  auto send_one = [=](lane via, std::uint64_t id, std::size_t bytes) {
    self->send(transport, outbound{to, "sink", "source", via, id, make_payload(id, bytes)});
  };
  return {
      [=](cmd_atom, const std::string& line) {
        std::istringstream in(line);
        std::string word;
        in >> word;
        if (word == "send") {
          std::uint64_t n = 0;
          std::string lane_name;
          std::size_t bytes = 100;
          in >> n >> lane_name >> bytes;
          auto via = parse_lane(lane_name);
          if (!via) {
            emit("error unknown lane " + lane_name);
            return;
          }
          for (std::uint64_t k = 0; k < n; ++k)
            send_one(*via, self->state.next_id[link::index_of(*via)]++, bytes);
          emit("sent " + std::to_string(n));
        } else if (word == "burst") {
          std::uint64_t n = 0;
          std::size_t bytes = 0;
          in >> n >> bytes;
          // All of it from one handler: the broker sees the bulk queue before the control frame.
          for (std::uint64_t k = 0; k < n; ++k)
            send_one(lane::raft_bulk, self->state.next_id[link::index_of(lane::raft_bulk)]++, bytes);
          send_one(lane::raft_control, self->state.next_id[link::index_of(lane::raft_control)]++, 100);
          emit("sent " + std::to_string(n + 1));
        } else if (word == "status" || word == "await-acked") {
          const bool await = word == "await-acked";
          self->request(transport, 10s, status_atom::value, to)
              .then([=](const peer_status& st) {
                if (!await) {
                  emit(std::string("status state=") + std::string(to_string(st.state)) +
                       " unacked=" + std::to_string(st.unacknowledged) +
                       " queued=" + std::to_string(st.queued) +
                       " incarnation=" + std::to_string(st.peer_incarnation));
                } else if (st.state == connection_state::up && st.unacknowledged == 0) {
                  emit("acked");
                } else {
                  self->delayed_send(self, 20ms, cmd_atom::value, std::string("await-acked"));
                }
              });
        } else if (word == "metrics") {
          if (registry != nullptr) {
            std::istringstream text(prometheus::TextSerializer().Serialize(registry->Collect()));
            for (std::string l; std::getline(text, l);)
              if (!l.empty() && l[0] != '#')
                emit("metric " + l);
          }
          emit("metrics-end");
        } else {
          emit("error unknown command " + word);
        }
      },
      [=](ok_atom) {},
      [=](const delivery_failed& f) {
        emit("lost " + std::to_string(f.message_id) + " " + std::string(to_string(f.reason)));
      },
      [=](const busy& b) { emit("busy " + std::to_string(b.message_id)); },
  };
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

int main(int argc, char** argv) {
  config cfg;
  node_id to = 0;
  std::string secret_text;
  bool print_each = false;
  bool batched = false;
  std::string commands_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const std::string& prefix) { return a.substr(prefix.size()); };
    if (starts_with(a, "--id=")) {
      cfg.self = std::stoull(value("--id="));
    } else if (starts_with(a, "--listen=")) {
      auto addr = parse_address(value("--listen="), true);
      if (!addr) {
        std::cerr << addr.err().message << "\n";
        return 2;
      }
      cfg.listen = *addr;
    } else if (starts_with(a, "--peer=")) {
      const auto v = value("--peer=");
      const auto eq = v.find('=');
      auto addr = parse_address(eq == std::string::npos ? "" : v.substr(eq + 1), true);
      if (!addr) {
        std::cerr << "bad --peer: " << v << "\n";
        return 2;
      }
      cfg.peers[std::stoull(v.substr(0, eq))] = *addr;
    } else if (starts_with(a, "--to=")) {
      to = std::stoull(value("--to="));
    } else if (starts_with(a, "--secret=")) {
      secret_text = value("--secret=");
    } else if (starts_with(a, "--cluster=")) {
      cfg.cluster_id = value("--cluster=");
    } else if (starts_with(a, "--seed=")) {
      cfg.seed = std::stoull(value("--seed="));
    } else if (starts_with(a, "--commands=")) {
      commands_path = value("--commands=");
    } else if (a == "--print-each") {
      print_each = true;
    } else if (a == "--batched") {
      batched = true;
    } else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  auto secret = link::secret::from_file_contents(std::string_view(secret_text));
  if (!secret) {
    std::cerr << secret.err().message << "\n";
    return 2;
  }
  cfg.node_secret = std::make_shared<const link::secret>(*secret);
  // Big enough that the tests never meet a bound they do not test.
  cfg.lim.lanes.limits[link::index_of(lane::application)] = {262144, 256u << 20};
  cfg.lim.lanes.limits[link::index_of(lane::raft_bulk)] = {16384, 256u << 20};
  prometheus::Registry registry;
  cfg.registry = &registry;
  cfg.log = [](log_level level, std::string_view, std::string_view text) {
    emit("log " + std::string(to_string(level)) + " " + std::string(text));
  };

  caf::actor_system_config sys_cfg;
  sys_cfg.load<caf::io::middleman>();
  add_message_types(sys_cfg);
  caf::actor_system sys{sys_cfg};
  auto t = spawn_transport(sys, cfg);
  if (!t) {
    std::cerr << t.err().message << "\n";
    return 1;
  }
  emit("listening " + std::to_string(t->port));
  auto recv = sys.spawn(receiver, print_each);
  auto send = sys.spawn(sender, t->broker, to, &registry);
  {
    caf::scoped_actor self{sys};
    auto registered = [](ok_atom) {};
    auto failed = [](const caf::error&) { emit("error register failed"); };
    if (batched)
      self->request(t->broker, 10s, register_atom::value, std::string("sink"), recv, batched_atom::value)
          .receive(registered, failed);
    else
      self->request(t->broker, 10s, register_atom::value, std::string("sink"), recv)
          .receive(registered, failed);
  }
  emit("ready");
  // Commands come from a FIFO the test writes (its child-process helper keeps our stdin), or stdin.
  std::ifstream commands_file;
  if (!commands_path.empty())
    commands_file.open(commands_path);
  std::istream& commands = commands_path.empty() ? std::cin : commands_file;
  for (std::string line; std::getline(commands, line);) {
    if (line == "quit")
      break;
    if (!line.empty())
      caf::anon_send(send, cmd_atom::value, line);
  }
  {
    caf::scoped_actor self{sys};
    self->request(t->broker, 10s, stop_atom::value).receive([](ok_atom) {}, [](const caf::error&) {});
  }
  caf::anon_send_exit(recv, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(send, caf::exit_reason::user_shutdown);
  emit("bye");
  return 0;
}
