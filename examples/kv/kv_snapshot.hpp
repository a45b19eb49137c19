#pragma once
/// The kv state machine's snapshot image (Raft §7): the whole applied state as one byte string, the
/// same bytes on every replica that applied the same commands. Pure C++; thread-safety: none (the
/// caller owns the objects it passes).
///
/// Format, version 1 (consensus/core/snapshot_bytes.hpp: integers u64 little-endian, strings as a
/// u64 length and the bytes):
///
///   magic "TRPKVSNP" (8 bytes) | u64 version = 1 | u64 applied_index
///   u64 revision | u64 compacted_revision
///   u64 n_keys,     n x { key, value, u64 create_revision, u64 mod_revision, u64 version }   (key order)
///   u64 n_events,   n x { u64 revision, u8 kind (0 put, 1 del), key, value, u64 create_revision, u64 version }
///   u64 n_sessions, n x { u64 client, u64 sequence, u64 last_index, reply }   (least recently used first)
///   u64 evictions | u64 n_evicted, n x u64 client   (oldest eviction first)
///   u64 CRC-32C of every byte before it
///
/// Determinism: maps are written in key order, sessions in their eviction order (by log index), so
/// equal states give equal bytes. Local counters (kv_stats) are not state and are not recorded.
/// Decoding checks the checksum before anything else, then every count against the bytes left (a
/// forged count cannot make it allocate), then the consistency of the parts (kv_store::assign,
/// session_table::assign); any failure is errc::corrupt and leaves the targets unchanged.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "examples/kv/kv_store.hpp"
#include "examples/kv/session_table.hpp"
#include "runtime/base/result.hpp"

namespace troupe::kv {

inline constexpr std::uint32_t snapshot_format_version = 1;

/// The image of `store` and `sessions` as of log index `applied_index`.
std::string encode_snapshot(const kv_store& store, const session_table& sessions, std::uint64_t applied_index);

/// The exact size of encode_snapshot()'s image of `store` and `sessions`, from their byte counts
/// (no walk over the data).
std::size_t snapshot_size(const kv_store& store, const session_table& sessions);

/// Appends the same bytes encode_snapshot() returns to `out` (reserve snapshot_size() more first
/// and nothing is reallocated): the checksum is computed over the image where it was written.
void append_snapshot(std::string& out, const kv_store& store, const session_table& sessions,
                     std::uint64_t applied_index);

/// Decodes `image` into `store` and `sessions` (whose limits the caller chose) and returns its
/// applied index. errc::corrupt (with what is wrong) for a damaged, truncated or inconsistent image
/// or one of another format version (the state_machine::restore contract: undecodable is corrupt);
/// on any error `store` and `sessions` are unchanged.
result<std::uint64_t> decode_snapshot(std::string_view image, kv_store& store, session_table& sessions);

}  // namespace troupe::kv
