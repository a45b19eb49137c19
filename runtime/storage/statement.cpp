#include "runtime/storage/statement.hpp"

#include <sqlite3.h>

#include <cassert>

#include "runtime/storage/connection.hpp"
#include "runtime/storage/sqlite_error.hpp"

namespace troupe::storage {

statement::statement(detail::connection* conn, sqlite3_stmt* stmt, std::string sql) noexcept
    : conn_(conn), stmt_(stmt), sql_(std::move(sql)) {
  ++conn_->leased_statements;
}

statement::statement(statement&& other) noexcept
    : conn_(other.conn_), stmt_(other.stmt_), sql_(std::move(other.sql_)) {
  other.conn_ = nullptr;
  other.stmt_ = nullptr;
}

statement& statement::operator=(statement&& other) noexcept {
  if (this != &other) {
    release();
    conn_ = other.conn_;
    stmt_ = other.stmt_;
    sql_ = std::move(other.sql_);
    other.conn_ = nullptr;
    other.stmt_ = nullptr;
  }
  return *this;
}

statement::~statement() {
  release();
}

void statement::release() noexcept {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  --conn_->leased_statements;
  conn_->give_back(std::move(sql_), stmt_);
  stmt_ = nullptr;
  conn_ = nullptr;
}

status statement::check_bind(int rc, int index) {
  if (rc == SQLITE_OK) return {};
  return detail::sqlite_error(conn_->path, rc, conn_->db,
                              "binding parameter " + std::to_string(index) + " of: " + sql_);
}

status statement::bind_int64(int index, std::int64_t value) {
  assert(stmt_ != nullptr);
  return check_bind(sqlite3_bind_int64(stmt_, index, value), index);
}

status statement::bind_double(int index, double value) {
  assert(stmt_ != nullptr);
  return check_bind(sqlite3_bind_double(stmt_, index, value), index);
}

status statement::bind_text(int index, std::string_view value) {
  assert(stmt_ != nullptr);
  return check_bind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
}

status statement::bind_blob(int index, std::span<const std::byte> value) {
  assert(stmt_ != nullptr);
  // A zero-length blob must still be a blob, not NULL: SQLite binds NULL for a null pointer.
  static const std::byte empty{};
  const void* data = value.empty() ? &empty : value.data();
  return check_bind(sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_TRANSIENT), index);
}

status statement::bind_blob_view(int index, std::span<const std::byte> value) {
  assert(stmt_ != nullptr);
  static const std::byte empty{};  // as bind_blob: a zero-length blob, not NULL
  const void* data = value.empty() ? &empty : value.data();
  return check_bind(sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_STATIC), index);
}

status statement::bind_null(int index) {
  assert(stmt_ != nullptr);
  return check_bind(sqlite3_bind_null(stmt_, index), index);
}

result<bool> statement::step() {
  assert(stmt_ != nullptr);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  error err = detail::sqlite_error(conn_->path, rc, conn_->db, "running: " + sql_);
  sqlite3_reset(stmt_);
  return err;
}

status statement::run() {
  for (;;) {
    auto more = step();
    if (!more) return more.err();
    if (!*more) break;
  }
  sqlite3_reset(stmt_);
  return {};
}

void statement::reset() noexcept {
  assert(stmt_ != nullptr);
  sqlite3_reset(stmt_);
}

int statement::column_count() const noexcept {
  return sqlite3_column_count(stmt_);
}

bool statement::column_is_null(int column) const noexcept {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t statement::column_int64(int column) const noexcept {
  return sqlite3_column_int64(stmt_, column);
}

double statement::column_double(int column) const noexcept {
  return sqlite3_column_double(stmt_, column);
}

std::string_view statement::column_text(int column) const noexcept {
  const auto* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return {};
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::span<const std::byte> statement::column_blob(int column) const noexcept {
  const void* blob = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (blob == nullptr) return {};
  return {static_cast<const std::byte*>(blob), static_cast<std::size_t>(size)};
}

std::int64_t statement::changes() const noexcept {
  return sqlite3_changes64(conn_->db);
}

std::int64_t statement::last_insert_rowid() const noexcept {
  return sqlite3_last_insert_rowid(conn_->db);
}

}  // namespace troupe::storage
