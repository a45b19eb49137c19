#include "consensus/actor/backup_file.hpp"

#include <algorithm>

#include "consensus/core/membership.hpp"
#include "consensus/core/snapshot_bytes.hpp"
#include "runtime/base/crc32c.hpp"

namespace troupe::raft {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(std::string_view in) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<std::uint8_t>(in[static_cast<std::size_t>(i)])} << (8 * i);
  return v;
}

}  // namespace

std::string encode_backup(group_id group, const snapshot_metadata& metadata, std::string_view image) {
  snapshot_writer h;
  h.u64(group);
  h.u64(metadata.last_index);
  h.u64(metadata.last_term);
  const std::string members = encode_membership(metadata.membership);
  std::string header = h.take();
  put_u32(header, static_cast<std::uint32_t>(members.size()));
  header += members;
  snapshot_writer tail;
  tail.u64(image.size());
  header += tail.take();

  std::string out;
  out.reserve(16 + header.size() + image.size() + 4);
  out += backup_magic;
  put_u32(out, backup_format_version);
  put_u32(out, static_cast<std::uint32_t>(header.size()));
  out += header;
  out += image;
  put_u32(out, crc32c(out));
  return out;
}

status backup_verifier::fail(errc code, std::string message) {
  failure_ = error{code, std::move(message)};
  return *failure_;
}

status backup_verifier::decode_header() {
  const std::string_view head = head_;
  if (head.substr(0, backup_magic.size()) != backup_magic) {
    return fail(errc::malformed, "not a troupe backup file (no TROUPEBK at its start)");
  }
  const std::uint32_t version = get_u32(head.substr(8, 4));
  if (version != backup_format_version) {
    return fail(errc::unsupported, "backup format version " + std::to_string(version) + ": this troupe reads version " +
                                       std::to_string(backup_format_version));
  }
  header_length_ = get_u32(head.substr(12, 4));
  if (header_length_ > max_backup_header_bytes || header_length_ < 3 * 8 + 4 + 8) {
    return fail(errc::malformed, "backup header length " + std::to_string(header_length_) + " is out of range");
  }
  if (head.size() < prefix_bytes + header_length_) return {};  // wait for the rest of the header
  const std::string_view body = head.substr(prefix_bytes, header_length_);
  snapshot_reader r(body.substr(0, 24));
  header_.group = r.u64();
  header_.metadata.last_index = r.u64();
  header_.metadata.last_term = r.u64();
  const std::uint32_t members_length = get_u32(body.substr(24, 4));
  if (members_length != header_length_ - (3 * 8 + 4 + 8)) {
    return fail(errc::malformed, "backup header: the configuration's length does not fit the header");
  }
  auto members = decode_membership(body.substr(28, members_length));
  if (!members) return fail(errc::malformed, "backup header: configuration: " + members.err().message);
  header_.metadata.membership = std::move(*members);
  snapshot_reader size(body.substr(28 + members_length));
  header_.image_bytes = size.u64();
  if (!r.ok() || !size.ok() || header_.image_bytes > (~std::uint64_t{0} >> 2)) {
    return fail(errc::malformed, "backup header does not decode");
  }
  header_.file_bytes = prefix_bytes + header_length_ + header_.image_bytes + 4;
  decoded_ = true;
  // The buffered bytes (and any image bytes that came with them) count like later ones.
  std::string buffered = std::move(head_);
  head_.clear();
  fed_ = 0;
  return feed(buffered);
}

status backup_verifier::feed(std::string_view bytes) {
  if (failure_) return *failure_;
  if (!decoded_) {
    const std::size_t want = head_.size() < prefix_bytes ? prefix_bytes : prefix_bytes + header_length_;
    const std::size_t take = std::min(bytes.size(), want - head_.size());
    head_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (head_.size() < want) return {};
    if (auto s = decode_header(); !s) return s;
    return feed(bytes);  // the header is complete, or its length just became known
  }
  const std::uint64_t body_end = header_.file_bytes - 4;  // where the checksum starts
  if (fed_ < body_end) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), body_end - fed_));
    crc_ = crc32c(bytes.substr(0, n), crc_);
    fed_ += n;
    bytes.remove_prefix(n);
  }
  if (bytes.empty()) return {};
  if (trailer_.size() + bytes.size() > 4) {
    return fail(errc::malformed, "trailing bytes after the checksum (the file is longer than its header says: " +
                                     std::to_string(header_.file_bytes) + " bytes)");
  }
  trailer_.append(bytes);
  fed_ += bytes.size();
  return {};
}

result<backup_header> backup_verifier::finish() const {
  if (failure_) return *failure_;
  if (!decoded_ || trailer_.size() < 4) {
    const std::uint64_t have = decoded_ ? fed_ : head_.size();
    return make_error(errc::malformed, "truncated: " + std::to_string(have) + " bytes" +
                                           (decoded_ ? " of " + std::to_string(header_.file_bytes) : std::string()));
  }
  const std::uint32_t stored = get_u32(trailer_);
  if (stored != crc_) {
    return make_error(errc::corrupt, "checksum mismatch (stored " + std::to_string(stored) + ", computed " +
                                         std::to_string(crc_) + "): the file is damaged");
  }
  return header_;
}

result<decoded_backup> decode_backup(std::string_view file) {
  backup_verifier v;
  if (auto s = v.feed(file); !s) return s.err();
  auto header = v.finish();
  if (!header) return header.err();
  return decoded_backup{*header, file.substr(v.image_offset(), header->image_bytes)};
}

}  // namespace troupe::raft
