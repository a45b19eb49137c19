/// `troupe backup save FILE --endpoints=...` (docs/operations.md, "Backup and restore"): asks the
/// cluster's leader for a backup (consensus/actor/backup_file.hpp: the state machine at the index
/// of a linearizable read, with that index's term and configuration), fetches it in chunks of at
/// most --chunk-bytes (client.capnp BackupRequest), verifies it while it arrives, and writes it
/// atomically: a temporary file beside FILE, fsync, rename, fsync of the directory. FILE is only
/// ever the complete, verified backup or left as it was.
///
/// Progress goes to stderr (bytes so far / total): rewritten in place on a terminal, one line per
/// tenth otherwise. On success one line on stdout: "saved FILE: N bytes, index I, term T".
/// Exit codes: 0 saved; 1 failed (nothing written to FILE; the message says why); 2 usage.
/// --timeout bounds finding the leader and each chunk, not the whole transfer.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "consensus/actor/backup_file.hpp"
#include "runtime/base/host_port.hpp"
#include "runtime/client/client_options.hpp"
#include "runtime/client/connection.hpp"

namespace troupe::cli {

namespace {

constexpr const char* backup_usage =
    "usage: troupe backup save FILE --endpoints=HOST:PORT,... [--chunk-bytes=N]\n"
    "  save           write a consistent backup of the cluster's state and membership to FILE\n"
    "                 (restore it with troupe node --restore-from=FILE on an empty data directory)\n"
    "  --chunk-bytes  bytes per request, 4096..4194304 (default 1048576)\n"
    "  common options: --endpoints, --cluster-id, --client-secret-file, --timeout (default 5s: to\n"
    "                  find the leader and per chunk)\n"
    "  exit: 0 saved, 1 failed (FILE untouched), 2 usage\n";

int usage(const std::string& why) {
  std::cerr << "troupe backup: " << why << "\n" << backup_usage;
  return 2;
}

using clock_type = std::chrono::steady_clock;

/// A connection to the node that took the backup, and the first chunk it answered.
struct started_backup {
  std::unique_ptr<client::connection> conn;
  wire::backup_chunk first;
};

std::chrono::milliseconds left(clock_type::time_point until) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now()));
}

/// Finds the leader (following notLeader hints) and has it take a backup. Retries unreachable
/// nodes, elections (unavailable) and busy answers until --timeout.
result<started_backup> take_backup(const client::common_options& o, std::uint32_t chunk_bytes, std::uint64_t& sequence) {
  const auto until = clock_type::now() + o.timeout;
  std::optional<wire::node_address> hint;
  std::size_t next = 0;
  std::string last_problem = "no endpoint answered";
  while (clock_type::now() < until) {
    auto options = client::connection_options_for(o, next % o.endpoints.size());
    if (hint) {
      auto a = parse_host_port(hint->address);
      if (a) {
        options.host = a->host;
        options.port = a->port;
      }
      hint.reset();
    } else {
      ++next;
    }
    options.connect_timeout = std::min(options.connect_timeout, std::max(left(until), std::chrono::milliseconds(1)));
    const std::string where = options.host + ":" + std::to_string(options.port);
    auto conn = client::connection::open(options);
    if (!conn) {
      if (conn.err().code == errc::refused) return make_error(errc::refused, where + ": " + conn.err().message);
      last_problem = where + ": " + conn.err().message;
      if (next % o.endpoints.size() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a round failed: back off
      continue;
    }
    wire::client_request request;
    request.client_id = 1;
    request.sequence = ++sequence;
    request.group_id = 1;
    request.body = wire::backup_request{0, 0, chunk_bytes};
    auto reply = (*conn)->call(request, left(until));
    if (!reply) {
      last_problem = where + ": " + reply.err().message;
      continue;
    }
    auto* chunk = std::get_if<wire::backup_chunk>(&reply->body);
    if (reply->error == wire::client_error::ok && chunk != nullptr) return started_backup{std::move(*conn), std::move(*chunk)};
    last_problem = where + ": " + wire::to_string(reply->error) + ": " + reply->error_message;
    switch (reply->error) {
      case wire::client_error::not_leader:
        if (reply->leader_hint && !reply->leader_hint->address.empty()) hint = reply->leader_hint;
        break;
      case wire::client_error::unavailable:
      case wire::client_error::busy:
      case wire::client_error::timeout: std::this_thread::sleep_for(std::chrono::milliseconds(100)); break;
      default: return make_error(errc::refused, last_problem);
    }
  }
  return make_error(errc::timeout, "no leader took a backup within --timeout (last: " + last_problem + ")");
}

/// Progress on stderr: in place on a terminal, else a line per tenth.
class progress_display {
 public:
  explicit progress_display(std::uint64_t total) : total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}
  void update(std::uint64_t done) {
    const unsigned percent = total_ == 0 ? 100u : static_cast<unsigned>(done * 100 / total_);
    if (!tty_ && percent / 10 == last_tenth_ && done != total_) return;
    last_tenth_ = percent / 10;
    std::fprintf(stderr, "%sbackup: %llu / %llu bytes (%u%%)%s", tty_ ? "\r" : "",
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), percent,
                 tty_ && done != total_ ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  std::uint64_t total_;
  bool tty_;
  unsigned last_tenth_ = 11;
};

/// FILE written atomically: a temporary file beside it until commit() renames it into place.
class atomic_file {
 public:
  explicit atomic_file(std::string path)
      : path_(std::move(path)), temp_(path_ + ".tmp-" + std::to_string(::getpid())) {}
  ~atomic_file() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
  }
  status open() {
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);  // it holds every value
    if (fd_ < 0) return make_error(errc::io, temp_ + ": " + std::strerror(errno));
    return {};
  }
  status write(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return make_error(errc::io, temp_ + ": " + std::strerror(errno));
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }
  /// fsync, rename over the target, fsync the directory (so the rename itself is durable).
  status commit() {
    if (::fsync(fd_) != 0) return make_error(errc::io, temp_ + ": fsync: " + std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    if (::rename(temp_.c_str(), path_.c_str()) != 0) return make_error(errc::io, path_ + ": " + std::strerror(errno));
    committed_ = true;
    auto dir = std::filesystem::path(path_).parent_path();
    const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      const int rc = ::fsync(dfd);
      ::close(dfd);
      if (rc != 0) return make_error(errc::io, dir.string() + ": fsync: " + std::strerror(errno));
    }
    return {};
  }

 private:
  std::string path_;
  std::string temp_;
  int fd_ = -1;
  bool committed_ = false;
};

int fail(const std::string& why) {
  std::cerr << "troupe backup save: " << why << "\n";
  return 1;
}

}  // namespace

int backup_main(const args& a) {
  if (a.empty()) return usage("missing subcommand");
  if (a.front() == "help" || a.front() == "--help") {
    std::cout << backup_usage;
    return 0;
  }
  if (a.front() != "save") return usage("unknown subcommand '" + a.front() + "'");
  auto parsed = parse_args(args(a.begin() + 1, a.end()));
  if (!parsed) return usage(parsed.err().message);
  auto names = client::common_option_names();
  names.push_back("chunk-bytes");
  if (auto st = parsed->check(names); !st) return usage(st.err().message);
  if (auto st = parsed->check_positionals(1, 1); !st) return usage("save: " + st.err().message);
  auto common = client::read_common_options(*parsed);
  if (!common) return usage(common.err().message);
  auto chunk_bytes = parsed->get_uint("chunk-bytes", 1u << 20);
  if (!chunk_bytes || *chunk_bytes < 4096 || *chunk_bytes > (4u << 20)) {
    return usage("--chunk-bytes: expected an integer from 4096 to 4194304");
  }
  const std::string path = parsed->positionals()[0];
  const auto chunk = static_cast<std::uint32_t>(*chunk_bytes);

  std::uint64_t sequence = 0;
  auto started = take_backup(*common, chunk, sequence);
  if (!started) return fail(started.err().message);
  auto& conn = *started->conn;
  const wire::backup_chunk first = std::move(started->first);
  std::cerr << "backup: node " << conn.node_id() << " took a backup at index " << first.index << " (term "
            << first.term << "), " << first.total_bytes << " bytes\n";

  atomic_file out(path);
  if (auto s = out.open(); !s) return fail(s.err().message);
  raft::backup_verifier verifier;
  progress_display progress(first.total_bytes);
  std::uint64_t offset = 0;
  wire::backup_chunk piece = first;
  while (true) {
    if (piece.backup_id != first.backup_id || piece.offset != offset || piece.total_bytes != first.total_bytes ||
        (piece.data.empty() && offset < first.total_bytes) || piece.data.size() > first.total_bytes - offset) {
      return fail("the node answered a chunk that does not continue the backup (offset " +
                  std::to_string(piece.offset) + ", expected " + std::to_string(offset) + ")");
    }
    if (auto s = verifier.feed(piece.data); !s) return fail("the received backup does not verify: " + s.err().message);
    if (auto s = out.write(piece.data); !s) return fail(s.err().message);
    offset += piece.data.size();
    progress.update(offset);
    if (offset == first.total_bytes) break;
    wire::client_request request;
    request.client_id = 1;
    request.sequence = ++sequence;
    request.group_id = 1;
    request.body = wire::backup_request{first.backup_id, offset, chunk};
    auto reply = conn.call(request, common->timeout);
    if (!reply) return fail("node " + std::to_string(conn.node_id()) + " at " + conn.address() + ": " + reply.err().message);
    auto* next = std::get_if<wire::backup_chunk>(&reply->body);
    if (reply->error != wire::client_error::ok || next == nullptr) {
      return fail(std::string(wire::to_string(reply->error)) + ": " + reply->error_message);
    }
    piece = std::move(*next);
  }
  auto header = verifier.finish();
  if (!header) return fail("the received backup does not verify: " + header.err().message);
  if (auto s = out.commit(); !s) return fail(s.err().message);
  std::cout << "saved " << path << ": " << offset << " bytes, index " << header->metadata.last_index << ", term "
            << header->metadata.last_term << "\n";
  return 0;
}

}  // namespace troupe::cli
