#include "runtime/storage/lock_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "runtime/storage/sqlite_error.hpp"

namespace troupe::storage::detail {
namespace {

struct held_lock {
  int fd = -1;
  int references = 0;
};

// flock locks belong to an open file description: a second open() in this process would conflict
// with the first. Connections of one process therefore share one descriptor per lock file.
std::mutex registry_mutex;
std::map<std::string, held_lock>& registry() {
  static std::map<std::string, held_lock> locks;
  return locks;
}

std::string read_holder(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "unknown";
  std::string pid(buf, static_cast<std::size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

result<lock_file> lock_file::acquire(const std::string& db_path) {
  std::error_code ec;
  const std::filesystem::path db = std::filesystem::absolute(db_path, ec);
  if (ec) return file_error(db_path, errc::io, "cannot resolve path: " + ec.message());
  const std::filesystem::path dir = db.parent_path();
  if (!std::filesystem::is_directory(dir, ec)) {
    return file_error(db_path, errc::not_found, "directory " + dir.string() + " does not exist");
  }
  const std::string key =
      (std::filesystem::canonical(dir, ec) / (db.filename().string() + "-lock")).string();
  if (ec) return file_error(db_path, errc::io, "cannot resolve directory: " + ec.message());

  std::lock_guard<std::mutex> guard{registry_mutex};
  auto& locks = registry();
  if (auto it = locks.find(key); it != locks.end()) {
    ++it->second.references;
    return lock_file{key};
  }
  // O_CLOEXEC: a child process must not inherit (and keep) the lock.
  const int fd = ::open(key.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    return file_error(db_path, errc::io,
                      "cannot create lock file " + key + ": " + std::strerror(err) +
                          (err == EROFS ? " (read-only file system)" : ""));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder = read_holder(fd);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return file_error(db_path, errc::busy,
                        "locked: another process (pid " + holder + ") holds " + key +
                            "; two nodes must not share a data directory");
    }
    return file_error(db_path, errc::io, "cannot lock " + key + ": " + std::strerror(err));
  }
  // The pid is for the message above only; the lock itself is the flock.
  const std::string pid = std::to_string(::getpid()) + "\n";
  // Failing to write it is not fatal: the lock is held; only another process's message loses the
  // pid.
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  locks.emplace(key, held_lock{fd, 1});
  return lock_file{key};
}

lock_file& lock_file::operator=(lock_file&& other) noexcept {
  if (this != &other) {
    release();
    key_ = std::move(other.key_);
    other.key_.clear();
  }
  return *this;
}

lock_file::~lock_file() {
  release();
}

void lock_file::release() noexcept {
  if (key_.empty()) return;
  std::lock_guard<std::mutex> guard{registry_mutex};
  auto& locks = registry();
  auto it = locks.find(key_);
  if (it != locks.end() && --it->second.references == 0) {
    // Closing the descriptor releases the flock. The file stays: unlinking it would race with a
    // process that opened it and is about to lock it.
    ::close(it->second.fd);
    locks.erase(it);
  }
  key_.clear();
}

}  // namespace troupe::storage::detail
