#pragma once
/// Test support: real child processes whose output a test reads line by line. Used by cluster-tier
/// tests; synchronisation is always "wait for this line / this condition, with a deadline that only
/// catches hangs", never a sleep.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <vector>

namespace troupe::test {

/// A child process started with fork/exec. Its stdout and stderr are captured into one pipe (and,
/// when `log_path` is set, copied to that file for post-mortems). Not thread-safe. The destructor
/// kills a child that is still running (SIGKILL) and reaps it.
class child_process {
 public:
  /// Starts `argv[0]` with `argv` and `env_extra` ("NAME=value") added to the environment.
  /// Throws std::runtime_error if the program cannot be started.
  child_process(std::vector<std::string> argv, std::vector<std::string> env_extra = {},
                std::string log_path = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// Reads output until a line matches `pattern`; returns the match, or nullopt at the deadline or at
  /// end of output. Lines read are kept in `lines()`.
  std::optional<std::smatch> wait_for_line(const std::regex& pattern,
                                           std::chrono::milliseconds deadline);
  /// Reads one line, or nullopt at the deadline or end of output.
  std::optional<std::string> read_line(std::chrono::milliseconds deadline);
  /// Every line read so far.
  const std::vector<std::string>& lines() const noexcept { return lines_; }
  /// All lines read so far joined, for failure messages.
  std::string transcript() const;

  void signal(int sig);
  /// Sends SIGSTOP and waits until the child is stopped, all of it; false at the deadline. kill()
  /// returns before that: Linux wakes one thread for the signal and the others run on until it is
  /// scheduled, which took up to 333 ms with 6 CPU hogs on this 2-core machine (tests that freeze
  /// a child and then act on its peers must wait for this). Drains output while waiting.
  bool stop(std::chrono::milliseconds deadline);
  /// Waits for the process to exit; returns its exit status as from waitpid (use WIFEXITED etc.),
  /// or nullopt at the deadline. Drains remaining output into `lines()`.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline);
  bool running();

 private:
  bool fill(std::chrono::steady_clock::time_point until);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int log_fd_ = -1;
  std::string pending_;
  std::vector<std::string> lines_;
  std::optional<int> status_;
};

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
unsigned short free_port();

/// A socket listening on 127.0.0.1 at a port the kernel chose (the caller owns `fd` and closes it).
/// Throws on failure.
struct loopback_listener {
  int fd = -1;
  unsigned short port = 0;
};
loopback_listener listen_on_loopback(int backlog);

/// The --peers value for node `self` (0-based) of a local cluster whose node i+1 listens on
/// 127.0.0.1:ports[i]: "id=127.0.0.1:port" of every other node, comma-separated, in id order.
std::string local_peers(std::span<const std::uint16_t> ports, std::size_t self);

/// HTTP GET http://host:port/path over a plain socket; returns {status, body}. Throws on connection
/// failure or timeout.
struct http_response {
  int status = 0;
  std::string headers;
  std::string body;
};
http_response http_get(const std::string& host, unsigned short port, const std::string& path,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents by the destructor.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "troupe-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Writes `contents` to `path` with the given mode (e.g. 0600 for a secret file).
void write_file(const std::string& path, const std::string& contents, unsigned mode = 0644);

/// Path of a built binary: TROUPE_BINARY_DIR/bin/<name> or TROUPE_BINARY_DIR/tests/<name>.
std::string binary_path(const std::string& name);

/// An external tool: TROUPE_BINARY_DIR/tools/<name> (scripts/install-deps.sh unpacks promtool there),
/// else the first `name` on PATH; empty if neither has it.
std::string find_tool(const std::string& name);

}  // namespace troupe::test
