#pragma once
/// Test helper shared by the crash tests (unit, under the fault VFS) and the SIGKILL test
/// (cluster): rows that carry a checksum of their payload, written in numbered commits, and a
/// checker for what a reopened file must hold.

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "runtime/storage/database.hpp"

namespace troupe::storage::crash_rows {

/// Schema version 1: one row per (commit, seq); `rows_in_commit` lets the checker see a commit
/// that is only partly present.
inline std::vector<migration> crash_schema() {
  return {{1,
           {"CREATE TABLE crash_rows(commit_id INTEGER NOT NULL, seq INTEGER NOT NULL, "
            "rows_in_commit INTEGER NOT NULL, payload BLOB NOT NULL, checksum INTEGER NOT NULL, "
            "PRIMARY KEY(commit_id, seq))"}}};
}

inline std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// FNV-1a 64 over the row's identity and payload, so a row moved or half-written fails it.
inline std::int64_t row_checksum(std::int64_t commit_id, std::int64_t seq,
                                 const std::vector<std::byte>& payload) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  };
  mix(&commit_id, sizeof commit_id);
  mix(&seq, sizeof seq);
  mix(payload.data(), payload.size());
  std::int64_t out;
  std::memcpy(&out, &h, sizeof out);
  return out;
}

/// Inserts commit `commit_id` of `rows` rows with payloads of up to `max_payload` bytes drawn
/// from `rng_state`. Runs inside the caller's transaction.
inline status insert_commit(database& db, std::int64_t commit_id, int rows,
                            std::uint64_t& rng_state, std::size_t max_payload = 3000) {
  auto insert = db.prepare(
      "INSERT INTO crash_rows(commit_id, seq, rows_in_commit, payload, checksum) "
      "VALUES (?, ?, ?, ?, ?)");
  if (!insert) return insert.err();
  for (int seq = 0; seq < rows; ++seq) {
    std::vector<std::byte> payload(1 + splitmix(rng_state) % max_payload);
    for (auto& b : payload) b = static_cast<std::byte>(splitmix(rng_state));
    if (auto s = insert->bind_int64(1, commit_id); !s) return s;
    if (auto s = insert->bind_int64(2, seq); !s) return s;
    if (auto s = insert->bind_int64(3, rows); !s) return s;
    if (auto s = insert->bind_blob(4, payload); !s) return s;
    if (auto s = insert->bind_int64(5, row_checksum(commit_id, seq, payload)); !s) return s;
    if (auto s = insert->run(); !s) return s;
  }
  return {};
}

struct check_outcome {
  std::string problems;           ///< empty when the file is consistent
  std::int64_t last_commit = -1;  ///< highest commit id present (-1: none)
};

/// What a reopened file must satisfy: integrity_check passes; every row's checksum is valid;
/// every commit present is complete; commits present are exactly 0..last (commits are applied in
/// order, so a hole means a lost commit); every acknowledged commit is present.
inline check_outcome check_rows(database& db, const std::set<std::int64_t>& acknowledged) {
  check_outcome out;
  auto fail = [&out](const std::string& what) {
    if (out.problems.size() < 2000) out.problems += what + "\n";
  };
  if (auto s = db.check_integrity(check_depth::full); !s) fail(s.err().message);
  auto select = db.prepare(
      "SELECT commit_id, seq, rows_in_commit, payload, checksum FROM crash_rows "
      "ORDER BY commit_id, seq");
  if (!select) {
    fail(select.err().message);
    return out;
  }
  std::int64_t expected_commit = 0;
  std::int64_t expected_seq = 0;
  std::int64_t rows_in_current = 0;
  for (;;) {
    auto row = select->step();
    if (!row) {
      fail(row.err().message);
      break;
    }
    if (!*row) break;
    const std::int64_t commit_id = select->column_int64(0);
    const std::int64_t seq = select->column_int64(1);
    const std::int64_t rows = select->column_int64(2);
    const auto blob = select->column_blob(3);
    const std::vector<std::byte> payload(blob.begin(), blob.end());
    if (row_checksum(commit_id, seq, payload) != select->column_int64(4)) {
      fail("bad checksum in commit " + std::to_string(commit_id) + " row " + std::to_string(seq));
    }
    if (seq == 0) {
      if (expected_seq != rows_in_current) {
        fail("commit " + std::to_string(expected_commit - 1) + " is incomplete");
      }
      if (commit_id != expected_commit) {
        fail("commit " + std::to_string(expected_commit) + " missing before commit " +
             std::to_string(commit_id));
      }
      expected_commit = commit_id + 1;
      expected_seq = 0;
      rows_in_current = rows;
    }
    if (seq != expected_seq) fail("commit " + std::to_string(commit_id) + " has a row missing");
    expected_seq = seq + 1;
    out.last_commit = commit_id;
  }
  if (expected_seq != rows_in_current) {
    fail("commit " + std::to_string(out.last_commit) + " is incomplete");
  }
  for (std::int64_t id : acknowledged) {
    if (id > out.last_commit) {
      fail("acknowledged commit " + std::to_string(id) + " is missing (last present " +
           std::to_string(out.last_commit) + ")");
      break;
    }
  }
  return out;
}

}  // namespace troupe::storage::crash_rows
