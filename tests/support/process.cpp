#include "tests/support/process.hpp"

#include "runtime/metrics/http_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

extern char** environ;

namespace troupe::test {

namespace {

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

child_process::child_process(std::vector<std::string> argv, std::vector<std::string> env_extra,
                             std::string log_path) {
  if (argv.empty()) throw std::runtime_error("child_process: empty argv");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw sys_error("pipe2");
  if (!log_path.empty()) {
    log_fd_ = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  // Build argv/envp before fork: only async-signal-safe calls are allowed in the child.
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (auto& e : env_extra) env.push_back(e);
  std::vector<char*> cenv;
  for (auto& e : env) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw sys_error("fork");
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    ::setpgid(0, 0);  // its own process group: a test's signals never reach the test runner
    execve(cargv[0], cargv.data(), cenv.data());
    const char msg[] = "child_process: execve failed\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(127);
  }
  ::close(fds[1]);
  out_fd_ = fds[0];
}

child_process::~child_process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (log_fd_ >= 0) ::close(log_fd_);
}

bool child_process::fill(std::chrono::steady_clock::time_point until) {
  if (out_fd_ < 0) return false;
  auto now = std::chrono::steady_clock::now();
  if (now >= until) return true;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
  pollfd p{out_fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(ms));
  if (r <= 0) return true;  // timeout (or EINTR): the caller re-checks its deadline
  char buf[65536];
  ssize_t n = 0;
  do {
    n = ::read(out_fd_, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);  // a signal (e.g. SIGCHLD) is not the end of the output
  if (n <= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
    return false;
  }
  if (log_fd_ >= 0) [[maybe_unused]] auto w = ::write(log_fd_, buf, static_cast<size_t>(n));
  pending_.append(buf, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    auto nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      lines_.push_back(line);
      return line;
    }
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    if (!fill(until)) {
      if (pending_.empty()) return std::nullopt;
      lines_.push_back(pending_);
      pending_.clear();
      return lines_.back();
    }
  }
}

std::optional<std::smatch> child_process::wait_for_line(const std::regex& pattern,
                                                         std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = read_line(left);
    if (!line) return std::nullopt;
    std::smatch m;
    // Match against the stored copy so the match's iterators stay valid for the caller.
    if (std::regex_search(lines_.back(), m, pattern)) return m;
  }
}

std::string child_process::transcript() const {
  std::string s;
  for (auto& l : lines_) s += l + "\n";
  return s + pending_;
}

void child_process::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

bool child_process::stop(std::chrono::milliseconds deadline) {
  if (pid_ <= 0 || status_) return false;
  ::kill(pid_, SIGSTOP);
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    int st = 0;
    // WUNTRACED reports the stop only when the whole thread group has stopped.
    const pid_t r = ::waitpid(pid_, &st, WNOHANG | WUNTRACED);
    if (r == pid_ && WIFSTOPPED(st)) return true;
    if (r == pid_) {
      status_ = st;  // it exited (or was killed) instead
      return false;
    }
    if (std::chrono::steady_clock::now() >= until) return false;
    // A child blocked writing to a full pipe still stops, but drain it anyway, as wait_exit does.
    if (!fill(std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(2)))) {
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 1);
    }
  }
}

bool child_process::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) status_ = st;
  return !status_;
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!status_) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      break;
    }
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    // Drain output while waiting (a child blocked on a full pipe would never exit); when the pipe
    // is closed, block in waitpid with a short poll interval instead.
    if (!fill(std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(20)))) {
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 5);
    }
  }
  // The child is gone, so its end of the pipe is closed (unless it left children holding it):
  // read to end of output, bounded so a lingering grandchild cannot hang us.
  while (read_line(std::chrono::milliseconds(1000))) {
  }
  return status_;
}

std::string local_peers(std::span<const std::uint16_t> ports, std::size_t self) {
  std::string peers;
  for (std::size_t j = 0; j < ports.size(); ++j) {
    if (j == self) continue;
    if (!peers.empty()) peers += ",";
    peers += std::to_string(j + 1) + "=127.0.0.1:" + std::to_string(ports[j]);
  }
  return peers;
}

namespace {

// A socket bound to 127.0.0.1 at a port the kernel chose, and that port.
loopback_listener bind_loopback() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sys_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw sys_error("bind");
  }
  return {fd, ntohs(a.sin_port)};
}

}  // namespace

unsigned short free_port() {
  auto l = bind_loopback();
  ::close(l.fd);
  return l.port;
}

loopback_listener listen_on_loopback(int backlog) {
  auto l = bind_loopback();
  if (::listen(l.fd, backlog) != 0) {
    ::close(l.fd);
    throw sys_error("listen");
  }
  return l;
}

http_response http_get(const std::string& host, unsigned short port, const std::string& path,
                       std::chrono::milliseconds timeout) {
  auto r = troupe::metrics::http_get(host, port, path, timeout);
  if (!r) throw std::runtime_error("http_get: " + r.err().message);
  return {r->status, std::move(r->headers), std::move(r->body)};
}

temp_dir::temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw sys_error("mkdtemp");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& contents, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw sys_error("open " + path);
  ::fchmod(fd, mode);
  if (::write(fd, contents.data(), contents.size()) != static_cast<ssize_t>(contents.size())) {
    ::close(fd);
    throw sys_error("write " + path);
  }
  ::close(fd);
}

std::string binary_path(const std::string& name) {
#ifdef TROUPE_BINARY_DIR
  std::string dir = TROUPE_BINARY_DIR;
#else
  std::string dir = "build";
#endif
  for (auto sub : {"/bin/", "/tests/"}) {
    auto p = dir + sub + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  throw std::runtime_error("binary not built: " + name + " (looked in " + dir + "/bin and /tests)");
}

std::string find_tool(const std::string& name) {
#ifdef TROUPE_BINARY_DIR
  const std::string in_build = std::string(TROUPE_BINARY_DIR) + "/tools/" + name;
  if (::access(in_build.c_str(), X_OK) == 0) return in_build;
#endif
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto colon = dirs.find(':', start);
    auto dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

}  // namespace troupe::test
