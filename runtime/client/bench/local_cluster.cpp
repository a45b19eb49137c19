#include "runtime/client/bench/local_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "runtime/transport/link/auth_proof.hpp"

namespace troupe::client::bench {

namespace {

/// A loopback TCP port that was free a moment ago (bound to port 0, then released).
result<std::uint16_t> free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(errc::io, std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return make_error(errc::io, std::string("cannot find a free port: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

/// 64 random hex characters, written 0600 (the node refuses secret files others can read).
result<std::string> write_secret(const std::string& path) {
  auto a = link::random_nonce();
  auto b = link::random_nonce();
  if (!a || !b) return make_error(errc::internal, "no randomness for a secret");
  std::string text;
  static const char* hex = "0123456789abcdef";
  for (auto* n : {&*a, &*b}) {
    for (auto byte : *n) {
      text += hex[static_cast<unsigned>(byte) >> 4];
      text += hex[static_cast<unsigned>(byte) & 15];
    }
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(errc::io, "cannot create " + path + ": " + std::strerror(errno));
  auto line = text + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) return make_error(errc::io, "cannot write " + path);
  return text;
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::execv("/proc/self/exe", args.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

result<std::unique_ptr<local_cluster>> local_cluster::start(const std::string& dir, int nodes) {
  std::unique_ptr<local_cluster> c(new local_cluster);
  c->dir_ = dir;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return make_error(errc::io, "cannot create " + dir + ": " + std::strerror(errno));
  }
  auto cluster_secret = write_secret(dir + "/cluster.secret");
  if (!cluster_secret) return cluster_secret.err();
  auto client_secret = write_secret(dir + "/client.secret");
  if (!client_secret) return client_secret.err();
  auto s = link::secret::from_file_contents(std::string_view(*client_secret));
  if (!s) return s.err();
  c->client_secret_ = std::make_shared<const link::secret>(std::move(*s));

  std::vector<std::uint16_t> ports;
  for (int i = 0; i < nodes; ++i) {
    auto p = free_port();
    if (!p) return p.err();
    ports.push_back(*p);
    c->endpoints_.push_back("127.0.0.1:" + std::to_string(*p));
  }
  for (int i = 0; i < nodes; ++i) {
    std::string peers;
    for (int j = 0; j < nodes; ++j) {
      if (j == i) continue;
      if (!peers.empty()) peers += ",";
      peers += std::to_string(j + 1) + "=" + c->endpoints_[j];
    }
    auto id = std::to_string(i + 1);
    std::vector<std::string> argv{"troupe",
                                  "node",
                                  "--id=" + id,
                                  "--listen=" + c->endpoints_[i],
                                  "--peers=" + peers,
                                  "--data-dir=" + dir + "/data" + id,
                                  "--cluster-id=" + c->cluster_id_,
                                  "--secret-file=" + dir + "/cluster.secret",
                                  "--client-secret-file=" + dir + "/client.secret",
                                  "--metrics=127.0.0.1:0"};  // any free port: never collides
    pid_t pid = spawn(argv, dir + "/node" + id + ".log");
    if (pid < 0) return make_error(errc::io, std::string("fork: ") + std::strerror(errno));
    c->pids_.push_back(pid);
  }
  return c;
}

local_cluster::~local_cluster() { stop(); }

status local_cluster::check_alive() {
  for (std::size_t i = 0; i < pids_.size(); ++i) {
    if (pids_[i] <= 0) continue;
    int st = 0;
    if (::waitpid(pids_[i], &st, WNOHANG) == pids_[i]) {
      pids_[i] = -1;
      return make_error(errc::closed, "node " + std::to_string(i + 1) + " exited; see " + dir_ +
                                          "/node" + std::to_string(i + 1) + ".log");
    }
  }
  return {};
}

void local_cluster::stop(std::chrono::milliseconds grace) {
  for (auto pid : pids_) {
    if (pid > 0) ::kill(pid, SIGTERM);
  }
  auto until = std::chrono::steady_clock::now() + grace;
  for (auto& pid : pids_) {
    if (pid <= 0) continue;
    for (;;) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) == pid) break;
      if (std::chrono::steady_clock::now() >= until) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &st, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a process exit
    }
    pid = -1;
  }
}

}  // namespace troupe::client::bench
