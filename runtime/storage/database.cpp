#include "runtime/storage/database.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "runtime/storage/connection.hpp"
#include "runtime/storage/sqlite_error.hpp"

namespace troupe::storage {
namespace detail {

connection::~connection() {
  if (leased_statements != 0) {
    // A statement would outlive its connection and touch freed memory: a bug in the caller.
    std::fprintf(stderr, "troupe storage: %s closed with %zu statements still alive\n",
                 path.c_str(), leased_statements);
    std::abort();
  }
  if (db != nullptr) sqlite3_wal_hook(db, nullptr, nullptr);
  checkpoints.reset();  // joins its thread before the file's last connection closes
  for (auto& [sql, stmts] : idle_statements) {
    for (sqlite3_stmt* stmt : stmts) sqlite3_finalize(stmt);
  }
  sqlite3_finalize(begin_statement);  // finalize(nullptr) is a no-op
  sqlite3_finalize(commit_statement);
  if (db != nullptr) sqlite3_close_v2(db);
  lock.reset();  // only after the connection is closed
}

status run_cached(connection& conn, sqlite3_stmt*& stmt, const char* sql, std::string_view doing) {
  if (stmt == nullptr) {
    const int rc = sqlite3_prepare_v3(conn.db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(conn.path, rc, conn.db, doing);
  }
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(stmt);
    return {};
  }
  error err = sqlite_error(conn.path, rc, conn.db, doing);  // before reset, which keeps the code
  sqlite3_reset(stmt);
  return err;
}

void connection::give_back(std::string sql, sqlite3_stmt* stmt) noexcept {
  if (idle_count >= cache_capacity) {
    sqlite3_finalize(stmt);
    return;
  }
  try {
    idle_statements[std::move(sql)].push_back(stmt);
    ++idle_count;
  } catch (...) {  // out of memory: a cache miss later is harmless
    sqlite3_finalize(stmt);
  }
}

}  // namespace detail

namespace {

/// The first column of the first row of `sql`, as text ("" when there is no row).
result<std::string> query_text(sqlite3* db, const std::string& path, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return detail::sqlite_error(path, rc, db, "running " + sql);
  std::string value;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) value = reinterpret_cast<const char*>(text);
  } else if (rc != SQLITE_DONE) {
    error err = detail::sqlite_error(path, rc, db, "running " + sql);
    sqlite3_finalize(stmt);
    return err;
  }
  sqlite3_finalize(stmt);
  return value;
}

/// Sets a pragma and asserts it took by reading it back: SQLite ignores unknown or refused
/// pragma values silently, and durability must not rest on a silent no-op.
status set_pragma(sqlite3* db, const std::string& path, const std::string& name,
                  const std::string& value, const std::string& expected) {
  auto set = query_text(db, path, "PRAGMA " + name + "=" + value);
  if (!set) return set.err();
  auto got = query_text(db, path, "PRAGMA " + name);
  if (!got) return got.err();
  if (*got != expected) {
    return detail::file_error(path, errc::internal,
                              "PRAGMA " + name + " is " + *got + " after setting it to " + value +
                                  " (expected " + expected + ")");
  }
  return {};
}

status validate(const std::string& path, const options& opts) {
  const int page = opts.page_size;
  if (page != 0 && (page < 512 || page > 65536 || (page & (page - 1)) != 0)) {
    return detail::file_error(path, errc::invalid_argument,
                              "page_size " + std::to_string(page) +
                                  " is not a power of two from 512 to 65536");
  }
  const auto& migrations = opts.migrations;
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return detail::file_error(path, errc::invalid_argument,
                                "migration list must be numbered 1, 2, 3, ...: entry " +
                                    std::to_string(i) + " has version " +
                                    std::to_string(migrations[i].version));
    }
  }
  return {};
}

result<int> user_version(sqlite3* db, const std::string& path) {
  auto text = query_text(db, path, "PRAGMA user_version");
  if (!text) return text.err();
  return std::atoi(text->c_str());
}

status refuse_newer(const std::string& path, int found, int known) {
  if (found <= known) return {};
  return detail::file_error(path, errc::unsupported,
                            "schema version " + std::to_string(found) +
                                " is newer than this build supports (" + std::to_string(known) +
                                "): written by a newer Troupe; refusing to open");
}

status migrate(sqlite3* db, const std::string& path, const std::vector<migration>& migrations,
               int& version_out) {
  const int target = static_cast<int>(migrations.size());
  auto before = user_version(db, path);
  if (!before) return before.err();
  if (auto s = refuse_newer(path, *before, target); !s) return s;
  version_out = *before;
  if (*before == target) return {};
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return detail::sqlite_error(path, rc, db, "starting the migration");
  auto fail = [&](error err) -> status {
    if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return err;
  };
  // Re-read inside the transaction: another connection of this process may have migrated.
  auto current = user_version(db, path);
  if (!current) return fail(current.err());
  if (auto s = refuse_newer(path, *current, target); !s) return fail(s.err());
  for (int v = *current + 1; v <= target; ++v) {
    const auto& steps = migrations[static_cast<std::size_t>(v - 1)].steps;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      rc = sqlite3_exec(db, steps[i].c_str(), nullptr, nullptr, nullptr);
      if (rc != SQLITE_OK) {
        return fail(detail::sqlite_error(path, rc, db,
                                         "migrating to schema version " + std::to_string(v) +
                                             ", step " + std::to_string(i + 1)));
      }
    }
  }
  const std::string set_version = "PRAGMA user_version=" + std::to_string(target);
  rc = sqlite3_exec(db, set_version.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return fail(detail::sqlite_error(path, rc, db, "setting user_version"));
  rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return fail(detail::sqlite_error(path, rc, db, "committing the migration"));
  version_out = target;
  return {};
}

/// Opens one SQLite connection with the pragmas every connection of ours needs; with
/// `new_file_page_size` (not 0) the file, just created and still empty, gets that page size.
result<sqlite3*> open_connection(const std::string& path, const options& opts,
                                 int new_file_page_size = 0) {
  // NOMUTEX: a connection is used by one thread at a time (the contract of database and of the
  // checkpointer's own connection), so SQLite's per-connection mutex, taken around every API
  // call, is pure cost (a lock and an unlock per bind, step and column read).
  int flags = SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOMUTEX;
  if (opts.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (opts.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, flags, opts.vfs.empty() ? nullptr : opts.vfs.c_str());
  if (rc != SQLITE_OK) {
    error err = detail::sqlite_error(path, rc, db, "opening");
    sqlite3_close_v2(db);
    return err;
  }
  auto fail = [&](error err) -> result<sqlite3*> {
    sqlite3_close_v2(db);
    return err;
  };
  // SQLite falls back to read-only silently when the file or file system is not writable.
  if (!opts.read_only && sqlite3_db_readonly(db, "main") == 1) {
    return fail(detail::file_error(
        path, errc::io,
        "read-only: opened for writing but the file or file system is not writable"));
  }
  sqlite3_busy_timeout(db, static_cast<int>(opts.busy_timeout.count()));
  if (!opts.read_only) {
    if (new_file_page_size != 0) {
      // Before anything writes page 1 (switching to WAL does): later the size is fixed. Not read
      // back: a file that another process filled meanwhile keeps its own size, which is only a
      // matter of speed (the exclusive lock file makes that all but impossible anyway).
      const std::string sql = "PRAGMA page_size=" + std::to_string(new_file_page_size);
      const int prc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
      if (prc != SQLITE_OK) return fail(detail::sqlite_error(path, prc, db, "setting the page size"));
    }
    // The first statement reads the header: a file that is not a database fails here.
    if (auto s = set_pragma(db, path, "journal_mode", "WAL", "wal"); !s) return fail(s.err());
    const int sync = static_cast<int>(opts.synchronous);
    if (auto s = set_pragma(db, path, "synchronous", std::to_string(sync), std::to_string(sync));
        !s) {
      return fail(s.err());
    }
    if (auto s = set_pragma(db, path, "wal_autocheckpoint", "0", "0"); !s) return fail(s.err());
    if (opts.secure_delete == secure_delete_mode::fast) {
      if (auto s = set_pragma(db, path, "secure_delete", "FAST", "2"); !s) return fail(s.err());
    }
    // After a burst the WAL file is truncated back to this size when it restarts.
    if (auto s = set_pragma(db, path, "journal_size_limit", "67108864", "67108864"); !s) {
      return fail(s.err());
    }
  } else {
    auto mode = query_text(db, path, "PRAGMA journal_mode");
    if (!mode) return fail(mode.err());
  }
  return db;
}

int wal_hook(void* checkpoints, sqlite3* writer, const char*, int wal_pages) {
  static_cast<detail::checkpointer*>(checkpoints)->on_commit(writer, wal_pages);
  return SQLITE_OK;
}

status check(sqlite3* db, const std::string& path, check_depth depth) {
  const char* sql =
      depth == check_depth::full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)";
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return detail::sqlite_error(path, rc, db, "checking integrity");
  std::string problems;
  int count = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt, 0);
    const std::string line = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    if (line == "ok") continue;
    // A log line, not a report: the first few problems say where; the tool can list the rest.
    if (++count > 3) continue;
    if (!problems.empty()) problems += "; ";
    problems += line;
  }
  if (count > 3) problems += "; and " + std::to_string(count - 3) + " more (at least)";
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return detail::sqlite_error(path, rc, db, "checking integrity");
  if (!problems.empty()) {
    return detail::file_error(path, errc::corrupt,
                              std::string{"corrupt: "} + sql + " found: " + problems);
  }
  return {};
}

/// Makes the directory entries of a newly created file durable: SQLite syncs the directory for a
/// new WAL, but not for a new database file.
status sync_directory(const std::string& path, const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    return detail::file_error(path, errc::io,
                              "cannot sync directory " + dir.string() + ": " + std::strerror(err));
  }
  ::close(fd);
  return {};
}

}  // namespace

result<database> database::open(std::string path, const options& opts) {
  // SQLite's memory statistics (sqlite3_memory_used) take a global mutex around every malloc and
  // free; nothing here reads them. Only possible before SQLite initializes (the first open in the
  // process); afterwards sqlite3_config refuses with SQLITE_MISUSE, which is harmless.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  if (auto s = validate(path, opts); !s) return s.err();
  if (sqlite3_threadsafe() == 0) {
    // The checkpointer and durable_writer use connections from several threads.
    return detail::file_error(path, errc::internal, "SQLite was built without thread support");
  }
  std::error_code ec;
  const std::filesystem::path file{path};
  const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path{"."};
  if (!std::filesystem::is_directory(dir, ec)) {
    return detail::file_error(path, errc::not_found,
                              "directory " + dir.string() + " does not exist");
  }
  if ((opts.read_only || !opts.create_if_missing) && !std::filesystem::exists(file, ec)) {
    return detail::file_error(path, errc::not_found, "database file does not exist");
  }
  const bool creating = !std::filesystem::exists(file, ec);
  auto conn = std::make_unique<detail::connection>();
  conn->path = path;
  conn->cache_capacity = opts.statement_cache_capacity;
  if (!opts.read_only) {
    auto lock = detail::lock_file::acquire(path);
    if (!lock) return lock.err();
    conn->lock = std::make_unique<detail::lock_file>(std::move(*lock));
  }
  auto db = open_connection(path, opts, creating ? opts.page_size : 0);
  if (!db) return db.err();
  conn->db = *db;
  if (opts.check_on_open) {
    if (auto s = check(conn->db, path, opts.open_check); !s) return s.err();
  }
  if (opts.read_only) {
    auto version = user_version(conn->db, path);
    if (!version) return version.err();
    if (auto s = refuse_newer(path, *version, static_cast<int>(opts.migrations.size())); !s) {
      return s.err();
    }
    conn->schema_version = *version;
  } else {
    if (auto s = migrate(conn->db, path, opts.migrations, conn->schema_version); !s) {
      return s.err();
    }
    if (creating) {
      if (auto s = sync_directory(path, dir); !s) return s.err();
    }
    if (opts.background_checkpoint) {
      auto second = open_connection(path, opts);
      if (!second) return second.err();
      auto cp = detail::checkpointer::start(*second, path, opts);
      if (!cp) return cp.err();
      conn->checkpoints = std::move(*cp);
      sqlite3_wal_hook(conn->db, wal_hook, conn->checkpoints.get());
    }
  }
  return database{std::move(conn)};
}

database::database(std::unique_ptr<detail::connection> conn) noexcept : conn_(std::move(conn)) {}
database::database(database&&) noexcept = default;
database& database::operator=(database&&) noexcept = default;
database::~database() = default;

const std::string& database::path() const noexcept {
  return conn_->path;
}
int database::schema_version() const noexcept {
  return conn_->schema_version;
}
bool database::in_transaction() const noexcept {
  return conn_->in_transaction;
}

result<statement> database::prepare(std::string_view sql) {
  std::string key{sql};
  if (auto it = conn_->idle_statements.find(key);
      it != conn_->idle_statements.end() && !it->second.empty()) {
    sqlite3_stmt* stmt = it->second.back();
    it->second.pop_back();
    --conn_->idle_count;
    return statement{conn_.get(), stmt, std::move(key)};
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v3(conn_->db, key.data(), static_cast<int>(key.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) return detail::sqlite_error(conn_->path, rc, conn_->db, "preparing: " + key);
  if (stmt == nullptr) {
    return detail::file_error(conn_->path, errc::invalid_argument, "empty SQL statement");
  }
  for (; tail != nullptr && *tail != '\0'; ++tail) {
    if (*tail != ' ' && *tail != '\n' && *tail != '\t' && *tail != ';' && *tail != '\r') {
      sqlite3_finalize(stmt);
      return detail::file_error(conn_->path, errc::invalid_argument,
                                "prepare takes one SQL statement, got more: " + key);
    }
  }
  return statement{conn_.get(), stmt, std::move(key)};
}

status database::exec(std::string_view sql) {
  const std::string text{sql};
  const int rc = sqlite3_exec(conn_->db, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return detail::sqlite_error(conn_->path, rc, conn_->db, "running: " + text);
  return {};
}

result<transaction> database::begin() {
  if (conn_->in_transaction) {
    return detail::file_error(conn_->path, errc::invalid_argument,
                              "a transaction is already open on this database");
  }
  if (auto s = detail::run_cached(*conn_, conn_->begin_statement, "BEGIN IMMEDIATE",
                                  "starting a transaction");
      !s) {
    return s.err();
  }
  conn_->in_transaction = true;
  return transaction{conn_.get()};
}

status database::check_integrity(check_depth depth) {
  return check(conn_->db, conn_->path, depth);
}

status database::checkpoint() {
  const int rc =
      sqlite3_wal_checkpoint_v2(conn_->db, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    return detail::sqlite_error(conn_->path, rc, conn_->db, "checkpointing the WAL");
  }
  return {};
}

}  // namespace troupe::storage
