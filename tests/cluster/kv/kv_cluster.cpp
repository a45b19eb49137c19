#include "tests/cluster/kv/kv_cluster.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <regex>
#include <sstream>

#include "runtime/transport/link/auth_proof.hpp"

namespace troupe::test::kv {

using namespace std::chrono_literals;

namespace {

constexpr const char* client_secret_text = "a-client-secret-of-32-bytes.....\n";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::optional<double> metric_value(const std::string& scrape, const std::string& name) {
  std::regex line("^" + name + "(\\{[^}]*\\})? ([-+0-9.eE]+)$");
  std::optional<double> sum;
  std::istringstream in(scrape);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line)) sum = sum.value_or(0) + std::stod(m[2]);
  }
  return sum;
}

kv_cluster::kv_cluster() : troupe_(binary_path("troupe")) {
  for (int i = 0; i < 3; ++i) {
    ports_[i] = free_port();
    metrics_ports_[i] = free_port();
  }
  write_file(dir_.file("cluster.secret"), "a-cluster-secret-of-32-bytes....\n", 0600);
  write_file(dir_.file("client.secret"), client_secret_text, 0600);
  auto s = link::secret::from_file_contents(std::string_view(client_secret_text));
  BOOST_REQUIRE(s);
  client_secret_ = std::make_shared<const link::secret>(std::move(*s));
}

kv_cluster::~kv_cluster() = default;

std::vector<std::string> kv_cluster::node_args(int i) const {
  std::string peers;
  for (int j = 0; j < 3; ++j) {
    if (j == i) continue;
    if (!peers.empty()) peers += ",";
    peers += std::to_string(j + 1) + "=" + addr(j);
  }
  return {troupe_,
          "node",
          "--id=" + std::to_string(i + 1),
          "--listen=" + addr(i),
          "--peers=" + peers,
          "--data-dir=" + dir_.file("data" + std::to_string(i + 1)),
          "--cluster-id=test",
          "--secret-file=" + dir_.file("cluster.secret"),
          "--client-secret-file=" + dir_.file("client.secret"),
          "--metrics=127.0.0.1:" + std::to_string(metrics_ports_[i])};
}

void kv_cluster::start(int i, const std::vector<std::string>& extra_args) {
  auto args = node_args(i);
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  nodes_[i] = std::make_unique<child_process>(args, std::vector<std::string>{},
                                              dir_.file("node" + std::to_string(i + 1) + ".log"));
  BOOST_REQUIRE_MESSAGE(nodes_[i]->wait_for_line(std::regex(" ready: "), hang_deadline),
                        nodes_[i]->transcript());
}

void kv_cluster::start_all() {
  for (int i = 0; i < 3; ++i) start(i);
}

int kv_cluster::stop(int i, int sig) {
  nodes_[i]->signal(sig);
  auto st = nodes_[i]->wait_exit(hang_deadline);
  BOOST_REQUIRE_MESSAGE(st, "node " << i + 1 << " did not exit after signal " << sig);
  stopped_output_[i] = nodes_[i]->transcript();
  nodes_[i].reset();
  return *st;
}

std::optional<std::string> kv_cluster::scrape(int i) const {
  if (!nodes_[i]) return std::nullopt;
  try {
    auto r = http_get("127.0.0.1", metrics_ports_[i], "/metrics", 5s);
    if (r.status != 200) return std::nullopt;
    return r.body;
  } catch (const std::exception&) {
    return std::nullopt;  // not listening (yet / any more)
  }
}

int kv_cluster::wait_for_leader(int not_this) const {
  auto until = std::chrono::steady_clock::now() + hang_deadline;
  for (;;) {
    for (int i = 0; i < 3; ++i) {
      if (i == not_this) continue;
      auto text = scrape(i);
      if (text && metric_value(*text, "troupe_raft_is_leader").value_or(0) == 1) return i;
    }
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "no leader elected in time");
    ::usleep(20'000);  // polling interval of a wait with a deadline, not synchronisation
  }
}

double kv_cluster::applied_index(int i) const {
  auto text = scrape(i);
  return text ? metric_value(*text, "troupe_raft_applied_index").value_or(0) : 0;
}

cli_result kv_cluster::kv(std::vector<std::string> args, const std::string& input) const {
  return cli("kv", std::move(args), input);
}

cli_result kv_cluster::cli(const std::string& subcommand, std::vector<std::string> args,
                           const std::string& input) const {
  // child_process merges stdout and stderr; the CLI's contract separates them, so the shell keeps
  // stderr in a file of its own.
  static int n = 0;
  auto err_file = dir_.file("cli" + std::to_string(++n) + ".err");
  std::string cmd = "exec '" + troupe_ + "' " + subcommand;
  for (auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>'" + err_file + "'";
  auto in_file = dir_.file("cli" + std::to_string(n) + ".in");
  write_file(in_file, input);
  cmd += " <'" + in_file + "'";
  child_process p({"/bin/sh", "-c", cmd},
                  {"TROUPE_CLUSTER_ID=test", "TROUPE_CLIENT_SECRET_FILE=" + dir_.file("client.secret")});
  auto st = p.wait_exit(hang_deadline);
  BOOST_REQUIRE_MESSAGE(st, "troupe " + subcommand + " did not exit");
  cli_result r;
  r.exit_code = WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  for (auto& l : p.lines()) r.out += l + "\n";
  r.err = read_all(err_file);
  return r;
}

std::unique_ptr<child_process> kv_cluster::spawn_kv(const std::vector<std::string>& args) const {
  return spawn_cli("kv", args);
}

std::unique_ptr<child_process> kv_cluster::spawn_cli(const std::string& subcommand,
                                                     const std::vector<std::string>& args) const {
  std::vector<std::string> argv{troupe_, subcommand};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<child_process>(
      argv, std::vector<std::string>{"TROUPE_CLUSTER_ID=test", "TROUPE_CLIENT_SECRET_FILE=" + dir_.file("client.secret")});
}

client::kv_client_options kv_cluster::client_options() const {
  client::kv_client_options o;
  o.endpoints = endpoint_list();
  o.timeout = 20s;  // long enough for any election here; the tests count unknown outcomes
  o.attempt_timeout = 2s;
  return o;
}

client::link_factory kv_cluster::client_factory() const {
  return client::connection_factory("test", client_secret_);
}

// ---- writer_load -------------------------------------------------------------------------------

writer_load::writer_load(const kv_cluster& c, int threads) : cluster_(c) {
  for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { run(t); });
}

writer_load::~writer_load() { stop(); }

void writer_load::run(int thread) {
  client::kv_client k(cluster_.client_options(), cluster_.client_factory());
  for (int n = 0; !stop_.load(); ++n) {
    auto key = "w" + std::to_string(thread) + "-" + std::to_string(n);
    auto value = "v" + std::to_string(thread) + "-" + std::to_string(n);
    auto r = k.put(key, value);
    std::lock_guard lock(mu_);
    switch (r.outcome) {
      case client::kv_outcome::done: acked_[key] = value; break;
      case client::kv_outcome::unknown: unknowns_.push_back(key + ": " + r.message); break;
      default: failures_.push_back(key + ": " + r.message); break;
    }
    cv_.notify_all();
  }
}

bool writer_load::wait_acked(std::size_t total, std::chrono::milliseconds deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, deadline, [&] { return acked_.size() >= total; });
}

void writer_load::stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::size_t writer_load::acked() const {
  std::lock_guard lock(mu_);
  return acked_.size();
}

std::map<std::string, std::string> writer_load::acknowledged() const {
  std::lock_guard lock(mu_);
  return acked_;
}

std::vector<std::string> writer_load::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

std::vector<std::string> writer_load::unknowns() const {
  std::lock_guard lock(mu_);
  return unknowns_;
}

void start_joiner(const kv_cluster& c, joiner& j, const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv{c.troupe_binary(), "node", "--id=" + std::to_string(j.id), "--listen=" + j.addr(),
                                "--join=" + c.endpoints(), "--data-dir=" + c.file("data" + std::to_string(j.id)),
                                "--cluster-id=test", "--secret-file=" + c.file("cluster.secret"),
                                "--client-secret-file=" + c.file("client.secret"),
                                "--metrics=127.0.0.1:" + std::to_string(j.metrics_port)};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  j.proc = std::make_unique<child_process>(argv, std::vector<std::string>{},
                                           c.file("node" + std::to_string(j.id) + ".log"));
  BOOST_REQUIRE_MESSAGE(j.proc->wait_for_line(std::regex("waiting to be added"), hang_deadline), j.proc->transcript());
}

std::optional<std::string> scrape_port(std::uint16_t port) {
  try {
    auto r = http_get("127.0.0.1", port, "/metrics", std::chrono::seconds(5));
    if (r.status == 200) return r.body;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::pair<int, std::string> cluster_cli(const kv_cluster& c, const std::vector<std::string>& args,
                                        const std::string& endpoints) {
  std::vector<std::string> argv{c.troupe_binary(), "cluster"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--endpoints=" + endpoints);
  argv.push_back("--timeout=30s");
  child_process p(argv, {"TROUPE_CLUSTER_ID=test", "TROUPE_CLIENT_SECRET_FILE=" + c.file("client.secret")});
  auto st = p.wait_exit(hang_deadline);
  BOOST_REQUIRE_MESSAGE(st, "troupe cluster did not exit");
  return {WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, p.transcript()};
}

void wait_applied(std::uint16_t port, double index) {
  const auto until = std::chrono::steady_clock::now() + hang_deadline;
  for (;;) {
    auto text = scrape_port(port);
    if (text && metric_value(*text, "troupe_raft_applied_index").value_or(0) >= index) return;
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < until, "node did not catch up in time");
    ::usleep(20'000);  // polling interval of a wait with a deadline
  }
}

}  // namespace troupe::test::kv
