#pragma once
/// The backup file of `troupe backup save` / `troupe node --restore-from` (docs/operations.md,
/// "Backup and restore"): one group's state-machine image at an applied (hence committed) index,
/// with that index's term and the configuration in effect there (thesis §5.1: what a snapshot
/// records), in a self-checking file. Pure: no CAF, no I/O; thread-safe (no shared state).
///
/// Format, version 1 (integers little endian):
///
///     magic        8 bytes  "TROUPEBK"
///     version      u32      1
///     header_bytes u32      length of the header that follows (at most max_backup_header_bytes)
///     header                u64 group, u64 last_index, u64 last_term,
///                           u32 length + encode_membership(membership), u64 image_bytes
///     image        image_bytes bytes (state_machine::snapshot())
///     checksum     u32      CRC-32C of every byte before it
///
/// The header comes first, with its length, so that a reader that sees the file in chunks (the
/// client receiving it, backup_verifier) knows the total size after a few hundred bytes: a file
/// that stops early is "truncated", one with bytes after the checksum has "trailing bytes", and a
/// flipped bit anywhere fails the checksum. A version other than 1 is refused by number, before
/// anything else is read, so an older troupe says plainly that the file is too new.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/core/message.hpp"
#include "runtime/base/result.hpp"

namespace troupe::raft {

inline constexpr std::string_view backup_magic = "TROUPEBK";
inline constexpr std::uint32_t backup_format_version = 1;
/// Bound on the header (a configuration of many members with addresses fits easily): a corrupt
/// length never makes a reader buffer more.
inline constexpr std::uint32_t max_backup_header_bytes = 1u << 20;

/// What a backup holds besides the image.
struct backup_header {
  group_id group = 0;
  snapshot_metadata metadata;  ///< last_index / last_term of the image, configuration in effect there
  std::uint64_t image_bytes = 0;
  /// The whole file's size: prefix, header, image and checksum.
  std::uint64_t file_bytes = 0;
  friend bool operator==(const backup_header&, const backup_header&) = default;
};

/// The complete file for `image` taken at `metadata` in `group`.
std::string encode_backup(group_id group, const snapshot_metadata& metadata, std::string_view image);

/// Checks a backup file fed in pieces of any size, without holding the image: buffers only the
/// prefix and header, runs the checksum over the rest. Errors (the first one sticks; the message
/// names what failed, not the file): errc::malformed (not a backup file, a header that does not
/// decode, truncated, trailing bytes), errc::unsupported (another format version), errc::corrupt
/// (checksum mismatch). Not thread-safe.
class backup_verifier {
 public:
  /// Takes the next bytes. Fails early on a wrong magic or version, a bad header or trailing bytes.
  status feed(std::string_view bytes);
  /// The header, once the checksum was fed and matches; "truncated" when bytes are missing.
  result<backup_header> finish() const;
  /// The header once decoded (nullptr before): the file's expected total size, for a progress bar.
  const backup_header* header() const noexcept { return decoded_ ? &header_ : nullptr; }
  /// Offset of the image in the file (valid once header() is set).
  std::uint64_t image_offset() const noexcept { return prefix_bytes + header_length_; }

 private:
  static constexpr std::uint64_t prefix_bytes = 16;  // magic, version, header_bytes
  status fail(errc code, std::string message);
  status decode_header();

  std::string head_;  ///< the prefix and header until decoded
  bool decoded_ = false;
  backup_header header_;
  std::uint32_t header_length_ = 0;
  std::uint64_t fed_ = 0;
  std::uint32_t crc_ = 0;         ///< over the bytes before the checksum
  std::string trailer_;           ///< the stored checksum's bytes
  std::optional<error> failure_;
};

/// A whole backup file in memory, verified.
struct decoded_backup {
  backup_header header;
  std::string_view image;  ///< points into the decoded bytes
};

/// Verifies `file` (as backup_verifier) and returns its header and image.
result<decoded_backup> decode_backup(std::string_view file);

}  // namespace troupe::raft
