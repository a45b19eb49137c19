// Text scenario scripts in etcd-raft's testdata style: tests/scenario/raft/testdata/*.txt hold
// commands, each followed by "----" and the expected output up to a blank line. Run with
// TROUPE_REWRITE=1 to rewrite the expected output from what the cores now do (then review the diff).
//
// Commands (node ids are 1-based):
//   add-nodes N [pre_vote=false] [check_quorum=false]   a new cluster of N nodes (seed 1)
//   campaign ID | propose ID DATA | read-index ID RID | transfer ID TARGET
//   tick [N]            N ticks of every live node, delivering after each
//   deliver N           deliver the N oldest messages in flight
//   stabilize           deliver until no message is in flight
//   isolate ID | block FROM TO | heal | crash ID | restart ID
//   status              one line per node: role, term, leader, commit, applied, last index
//   log ID              the node's entries as index:term[:data]
//   reads ID            read states reported by the node so far
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "tests/scenario/raft/scenario_support.hpp"

using namespace troupe::raft;
using namespace troupe::raft::testing;

namespace {

struct script_block {
  std::string comments;  ///< comment lines before the command, kept on rewrite
  std::string command;
  std::string expected;
  std::string actual;
};

std::vector<script_block> parse(const std::string& path) {
  std::ifstream in(path);
  std::vector<script_block> blocks;
  std::string line;
  std::string comments;
  enum { between, in_expected } state = between;
  while (std::getline(in, line)) {
    if (state == between) {
      if (line.empty()) continue;
      if (line[0] == '#') {
        comments += line + "\n";
        continue;
      }
      if (line == "----") {
        state = in_expected;
        continue;
      }
      blocks.push_back({comments, line, {}, {}});
      comments.clear();
    } else if (line.empty()) {
      state = between;
    } else {
      blocks.back().expected += line + "\n";
    }
  }
  return blocks;
}

class runner {
 public:
  std::string run(const std::string& command) {
    std::istringstream in(command);
    std::string verb;
    in >> verb;
    std::ostringstream out;
    if (verb == "add-nodes") {
      std::size_t n = 0;
      in >> n;
      config cfg = scenario_config();
      std::string opt;
      while (in >> opt) {
        if (opt == "pre_vote=false") cfg.pre_vote = false;
        if (opt == "check_quorum=false") {
          cfg.check_quorum = false;
          cfg.lease_reads = false;
        }
      }
      c_ = std::make_unique<cluster>(n, cfg, 1);
      out << "ok\n";
    } else if (verb == "campaign") {
      const node_id id = read_id(in);
      auto st = c_->at(id).campaign(c_->now());
      c_->process_readies();
      out << (st ? "ok" : st.err().message) << "\n";
    } else if (verb == "propose") {
      const node_id id = read_id(in);
      std::string data;
      in >> data;
      auto r = c_->propose(id, data);
      out << (r ? "index " + std::to_string(*r) : r.err().message) << "\n";
    } else if (verb == "read-index") {
      const node_id id = read_id(in);
      std::uint64_t rid = 0;
      in >> rid;
      auto st = c_->read_index(id, rid);
      out << (st ? "ok" : st.err().message) << "\n";
    } else if (verb == "transfer") {
      const node_id id = read_id(in);
      const node_id target = read_id(in);
      auto st = c_->at(id).transfer_leadership(target, c_->now());
      c_->process_readies();
      out << (st ? "ok" : st.err().message) << "\n";
    } else if (verb == "tick") {
      std::size_t n = 1;
      in >> n;
      run_ticks(n);
      out << "ok\n";
    } else if (verb == "deliver") {
      std::size_t n = 0;
      in >> n;
      std::size_t done = 0;
      while (done < n && c_->deliver_one()) ++done;
      out << "delivered " << done << "\n";
    } else if (verb == "stabilize") {
      c_->deliver_all();
      out << "ok\n";
    } else if (verb == "isolate") {
      c_->isolate(read_id(in));
      out << "ok\n";
    } else if (verb == "block") {
      const node_id a = read_id(in);
      c_->block(a, read_id(in));
      out << "ok\n";
    } else if (verb == "heal") {
      c_->heal();
      out << "ok\n";
    } else if (verb == "crash") {
      c_->crash(read_id(in));
      out << "ok\n";
    } else if (verb == "restart") {
      c_->restart(read_id(in));
      out << "ok\n";
    } else if (verb == "status") {
      for (node_id id = 1; id <= c_->size(); ++id) {
        if (!c_->is_up(id)) {
          out << id << ": down\n";
          continue;
        }
        const auto s = c_->at(id).status();
        out << id << ": " << to_string(s.role) << " term=" << s.term << " leader=" << s.leader
            << " commit=" << s.commit << " applied=" << s.applied << " last=" << s.last_index << "\n";
      }
    } else if (verb == "log") {
      const node_id id = read_id(in);
      const auto& log = c_->at(id).log();
      std::string line;
      for (const auto& e : log.entries(1, log.last_index() + 1, ~std::uint64_t{0})) {
        line += (line.empty() ? "" : " ") + std::to_string(e.index) + ":" + std::to_string(e.term) +
                (e.data.empty() ? "" : ":" + e.data);
      }
      out << (line.empty() ? "(empty)" : line) << "\n";
    } else if (verb == "reads") {
      const node_id id = read_id(in);
      std::string line;
      for (const auto& r : c_->read_states(id)) {
        line += (line.empty() ? "" : " ") + std::to_string(r.request_id) + "@" + std::to_string(r.index);
      }
      for (auto r : c_->dropped_reads(id)) line += (line.empty() ? "" : " ") + std::to_string(r) + "@dropped";
      out << (line.empty() ? "(none)" : line) << "\n";
    } else {
      out << "unknown command " << verb << "\n";
    }
    if (c_) {
      for (const auto& v : c_->violations()) out << "VIOLATION " << v << "\n";
    }
    return out.str();
  }

 private:
  static node_id read_id(std::istream& in) {
    node_id id = 0;
    in >> id;
    return id;
  }
  void run_ticks(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      c_->tick();
      c_->deliver_all();
    }
  }
  std::unique_ptr<cluster> c_;
};

void run_script(const std::filesystem::path& path) {
  auto blocks = parse(path.string());
  BOOST_REQUIRE_MESSAGE(!blocks.empty(), "no commands in " << path);
  runner r;
  bool changed = false;
  for (auto& b : blocks) {
    b.actual = r.run(b.command);
    if (b.actual != b.expected) {
      changed = true;
      if (std::getenv("TROUPE_REWRITE") == nullptr) {
        BOOST_ERROR(path.filename().string() << ": '" << b.command << "'\nexpected:\n"
                                             << b.expected << "actual:\n" << b.actual);
      }
    }
  }
  if (changed && std::getenv("TROUPE_REWRITE") != nullptr) {
    std::ofstream out(path);
    for (const auto& b : blocks) out << b.comments << b.command << "\n----\n" << b.actual << "\n";
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scripts)

BOOST_AUTO_TEST_CASE(every_testdata_script_produces_its_expected_output) {
  const std::filesystem::path dir = std::filesystem::path(TROUPE_SOURCE_DIR) / "tests/scenario/raft/testdata";
  std::size_t scripts = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".txt") continue;
    BOOST_TEST_CONTEXT("script " << entry.path().filename().string()) { run_script(entry.path()); }
    ++scripts;
  }
  BOOST_TEST(scripts > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
