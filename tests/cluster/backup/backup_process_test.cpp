// A backup restored into a new cluster serves every key it held (issue 4): a 3-node cluster takes
// writes, `troupe backup save` fetches a backup from it in small chunks (progress on stderr, a
// verified file), a key written afterwards is not in it; a fresh node started with --restore-from
// on an empty data directory leads a one-node cluster alone, serves every key the backup held and
// not the later one, takes writes, and keeps all of it across a restart without the flag. A bad
// file and a used data directory are refused with a clear message, and the CLI never leaves a
// damaged file behind. Then it grows with troupe cluster add: a new member catches up from its snapshot.
#define BOOST_TEST_MODULE backup_process
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <regex>

#include "consensus/actor/backup_file.hpp"
#include "tests/cluster/kv/kv_cluster.hpp"

namespace troupe::test::kv {
namespace {

using namespace std::chrono_literals;

/// The restored node (id 4), on its own ports and data directory.
struct restored_node {
  std::uint16_t port = free_port();
  std::uint16_t metrics_port = free_port();
  std::unique_ptr<child_process> proc;
  std::string addr() const { return "127.0.0.1:" + std::to_string(port); }

  std::vector<std::string> args(const kv_cluster& c) const {
    return {c.troupe_binary(), "node", "--id=4", "--listen=" + addr(), "--data-dir=" + c.file("data4"),
            "--cluster-id=test", "--secret-file=" + c.file("cluster.secret"),
            "--client-secret-file=" + c.file("client.secret"),
            "--metrics=127.0.0.1:" + std::to_string(metrics_port)};
  }
  void start(const kv_cluster& c, const std::vector<std::string>& extra = {}) {
    auto a = args(c);
    a.insert(a.end(), extra.begin(), extra.end());
    proc = std::make_unique<child_process>(a, std::vector<std::string>{}, c.file("node4.log"));
    BOOST_REQUIRE_MESSAGE(proc->wait_for_line(std::regex(" ready: "), hang_deadline), proc->transcript());
  }
  /// Waits until it leads (a one-node cluster elects itself).
  void wait_leader() const {
    const auto until = std::chrono::steady_clock::now() + hang_deadline;
    for (;;) {
      try {
        auto r = http_get("127.0.0.1", metrics_port, "/metrics", 5s);
        if (r.status == 200 && metric_value(r.body, "troupe_raft_is_leader").value_or(0) == 1) return;
      } catch (const std::exception&) {
      }
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "the restored node never led");
      ::usleep(20'000);  // polling interval of a wait with a deadline
    }
  }
};

/// Runs a `troupe` command that is expected to fail and returns its exit code and output.
std::pair<int, std::string> run(const std::vector<std::string>& argv) {
  child_process p(argv, {"TROUPE_CLUSTER_ID=test"});
  auto st = p.wait_exit(hang_deadline);
  BOOST_REQUIRE_MESSAGE(st, "the command did not exit");
  return {WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, p.transcript()};
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_backup_restored_into_a_new_cluster_serves_every_key_it_held) {
  kv_cluster c;
  c.start_all();
  c.wait_for_leader();
  std::map<std::string, std::string> written;
  {
    client::kv_client k(c.client_options(), c.client_factory());
    for (int i = 0; i < 300; ++i) {
      const std::string key = "b" + std::to_string(i), value = "value-" + std::to_string(i) + std::string(64, 'x');
      auto put = k.put(key, value);
      BOOST_REQUIRE_MESSAGE(put.outcome == client::kv_outcome::done, put.message);
      written[key] = value;
    }
    BOOST_REQUIRE(k.del("b7").outcome == client::kv_outcome::done);  // a delete is part of the state too
    written.erase("b7");
  }

  // Small chunks: the ~30 kB backup comes in several requests. Any endpoint: followers redirect.
  const std::string file = c.file("cluster.backup");
  auto save = c.cli("backup", {"save", file, "--endpoints=" + c.endpoints(), "--chunk-bytes=4096"});
  BOOST_REQUIRE_MESSAGE(save.exit_code == 0, save.err);
  BOOST_TEST(save.out.find("saved " + file + ": ") != std::string::npos, save.out);
  BOOST_TEST(std::regex_search(save.err, std::regex(R"(backup: (\d+) / \1 bytes \(100%\))")), save.err);
  const std::string bytes = read_all(file);
  auto decoded = raft::decode_backup(bytes);
  BOOST_REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? "" : decoded.err().message));
  BOOST_TEST(decoded->header.group == 1u);
  BOOST_TEST(bytes.size() > 3u * 4096u);
  BOOST_TEST((decoded->header.metadata.membership.voters == std::vector<raft::node_id>{1, 2, 3}));
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(file).parent_path())) {
    BOOST_TEST(entry.path().string().find(".tmp-") == std::string::npos, entry.path());  // no temporary left
  }
  BOOST_TEST(c.kv({"put", "after-backup", "late", "--endpoints=" + c.endpoints()}).exit_code == 0);

  // Bad files and a used data directory are refused, saying why; nothing starts.
  restored_node n;
  std::string damaged = bytes;
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 1);
  write_file(c.file("damaged.backup"), damaged);
  write_file(c.file("truncated.backup"), bytes.substr(0, bytes.size() - 100));
  for (const auto& [bad, why] : {std::pair{std::string("damaged.backup"), std::string("checksum mismatch")},
                                  std::pair{std::string("truncated.backup"), std::string("truncated")}}) {
    auto a = n.args(c);
    a.push_back("--restore-from=" + c.file(bad));
    auto [code, out] = run(a);
    BOOST_TEST(code == 1, out);
    BOOST_TEST(out.find("cannot restore: backup file " + c.file(bad)) != std::string::npos, out);
    BOOST_TEST(out.find(why) != std::string::npos, out);
    BOOST_TEST(!std::filesystem::exists(c.file("data4")), "a refused restore wrote to the data directory");
  }
  auto used = c.file("data1");  // node 1's directory (node 1 keeps running: the check comes first)
  {
    auto a = n.args(c);
    for (auto& arg : a) {
      if (arg.starts_with("--data-dir=")) arg = "--data-dir=" + used;
    }
    a.push_back("--restore-from=" + file);
    auto [code, out] = run(a);
    BOOST_TEST(code == 1, out);
    BOOST_TEST(out.find("already holds data") != std::string::npos, out);
  }

  // The restore: a new one-node cluster with every key of the backup, and not the later one.
  n.start(c, {"--restore-from=" + file});
  BOOST_TEST(n.proc->transcript().find("--restore-from=" + file + ": a new one-node cluster (node 4 the only voter") !=
                 std::string::npos,
             n.proc->transcript());
  n.wait_leader();
  auto options = c.client_options();
  options.endpoints = {n.addr()};
  {
    client::kv_client k(options, c.client_factory());
    for (const auto& [key, value] : written) {
      auto g = k.get(key);
      BOOST_TEST((g.outcome == client::kv_outcome::done), key << ": " << g.message);
      BOOST_TEST(g.value.value_or("<absent>") == value, key);
    }
    BOOST_TEST((k.get("b7").code == wire::client_error::no_such_key));
    BOOST_TEST((k.get("after-backup").code == wire::client_error::no_such_key));
    BOOST_TEST((k.put("after-restore", "new").outcome == client::kv_outcome::done));
  }

  // Restarted without the flag it is the same one-node cluster, from its snapshot and log.
  n.proc->signal(SIGTERM);
  BOOST_REQUIRE(n.proc->wait_exit(hang_deadline));
  n.start(c);
  n.wait_leader();
  {
    client::kv_client k(options, c.client_factory());
    BOOST_TEST(k.get("after-restore").value.value_or("<absent>") == "new");
    BOOST_TEST(k.get("b299").value.value_or("<absent>") == written["b299"]);
  }

  // It grows with troupe cluster add: a new member on an empty directory catches up from the
  // restored node's snapshot (its log starts after the backup's index) and holds every key.
  const std::uint16_t port5 = free_port(), metrics5 = free_port();
  const std::string addr5 = "127.0.0.1:" + std::to_string(port5);
  child_process joiner({c.troupe_binary(), "node", "--id=5", "--listen=" + addr5, "--join=" + n.addr(),
                        "--data-dir=" + c.file("data5"), "--cluster-id=test", "--secret-file=" + c.file("cluster.secret"),
                        "--client-secret-file=" + c.file("client.secret"), "--metrics=127.0.0.1:" + std::to_string(metrics5)},
                       {}, c.file("node5.log"));
  BOOST_REQUIRE_MESSAGE(joiner.wait_for_line(std::regex("waiting to be added"), hang_deadline), joiner.transcript());
  auto add = c.cli("cluster", {"add", "5", addr5, "--endpoints=" + n.addr(), "--timeout=30s"});
  BOOST_REQUIRE_MESSAGE(add.exit_code == 0, add.out << add.err);
  auto stale = [&](const std::string& key) {
    return c.kv({"get", key, "--endpoints=" + addr5, "--consistency=stale"});
  };
  const auto until = std::chrono::steady_clock::now() + hang_deadline;
  while (stale("after-restore").out != "new\n") {
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "node 5 never caught up: " << joiner.transcript());
    ::usleep(50'000);  // polling interval of a wait with a deadline
  }
  for (const std::string key : {"b0", "b150", "b299"}) BOOST_TEST(stale(key).out == written[key] + "\n", key);
  BOOST_TEST(stale("after-backup").exit_code == 1);
  joiner.signal(SIGTERM);
  BOOST_TEST(joiner.wait_exit(hang_deadline).has_value());
}

}  // namespace troupe::test::kv
