#include "runtime/storage/sqlite_error.hpp"

#include <sqlite3.h>

namespace troupe::storage::detail {
namespace {

struct cause {
  errc code;
  const char* text;
};

// The primary result code decides what a caller can do about it; the extended code and SQLite's
// message go into the text for the person reading the log.
cause classify(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return {errc::busy, "locked by another connection or process"};
    case SQLITE_READONLY:
      return {errc::io, "read-only (file or file system not writable)"};
    case SQLITE_CORRUPT:
      return {errc::corrupt, "corrupt (malformed database)"};
    case SQLITE_NOTADB:
      return {errc::corrupt, "corrupt (not a database)"};
    case SQLITE_FULL:
      return {errc::io, "disk full (SQLITE_FULL)"};
    case SQLITE_IOERR:
      return {errc::io, "I/O error"};
    case SQLITE_CANTOPEN:
      return {errc::io, "cannot open file"};
    case SQLITE_PERM:
      return {errc::io, "permission denied"};
    case SQLITE_NOMEM:
      return {errc::io, "out of memory"};
    case SQLITE_TOOBIG:
      return {errc::too_large, "value too large"};
    case SQLITE_CONSTRAINT:
      return {errc::invalid_argument, "constraint violated"};
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return {errc::invalid_argument, "bad parameter"};
    case SQLITE_PROTOCOL:
      return {errc::io, "WAL locking protocol error"};
    default:
      return {errc::internal, "SQLite error"};
  }
}

}  // namespace

error sqlite_error(const std::string& path, int rc, sqlite3* db, std::string_view doing) {
  const cause c = classify(rc);
  std::string text = path;
  text += ": ";
  text += c.text;
  if (!doing.empty()) {
    text += " while ";
    text += doing;
  }
  text += " (";
  text += sqlite3_errstr(rc);
  // The connection's message is more specific (e.g. "no such table: x") when it is about this rc.
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) {
    const char* msg = sqlite3_errmsg(db);
    if (msg != nullptr && std::string_view{msg} != sqlite3_errstr(rc)) {
      text += ": ";
      text += msg;
    }
  }
  text += ", SQLite code ";
  text += std::to_string(rc);
  text += ")";
  return make_error(c.code, std::move(text));
}

error file_error(const std::string& path, errc code, std::string_view cause) {
  std::string text = path;
  text += ": ";
  text += cause;
  return make_error(code, std::move(text));
}

}  // namespace troupe::storage::detail
