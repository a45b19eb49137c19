#pragma once
/// Hand-made Cap'n Proto words and frames for tests that must produce what no builder would:
/// pointers out of bounds, lying segment tables, deep chains. Encoding reference:
/// https://capnproto.org/encoding.html

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/schema.h>

#include "runtime/wire/message.hpp"

namespace troupe {

/// Lets Boost.Test print error codes in failed checks.
inline std::ostream& operator<<(std::ostream& os, errc code) { return os << to_string(code); }

}  // namespace troupe

namespace troupe::wire::test {

using words = std::vector<std::uint64_t>;

/// Struct pointer: A=0, B=offset in words from the end of the pointer, C=data words, D=pointers.
inline std::uint64_t struct_ptr(std::int32_t offset, std::uint16_t data_words,
                                std::uint16_t pointers) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(offset) << 2)) |
         (std::uint64_t{data_words} << 32) | (std::uint64_t{pointers} << 48);
}

/// List pointer: A=1, B=offset, C=element size code (2 = byte, 6 = pointer, 7 = composite),
/// D=element count (words for composite).
inline std::uint64_t list_ptr(std::int32_t offset, unsigned size_code, std::uint32_t count) {
  return 1u | (static_cast<std::uint64_t>(static_cast<std::uint32_t>(offset) << 2)) |
         (std::uint64_t{size_code} << 32) | (std::uint64_t{count} << 35);
}

/// Far pointer: A=2, landing pad at word `offset` of segment `segment`.
inline std::uint64_t far_ptr(std::uint32_t offset, std::uint32_t segment) {
  return 2u | (std::uint64_t{offset} << 3) | (std::uint64_t{segment} << 32);
}

/// A frame in stream framing from the given segments, with an optional lying table.
inline std::vector<std::byte> frame(const std::vector<words>& segments) {
  std::vector<std::uint32_t> table;
  table.push_back(static_cast<std::uint32_t>(segments.size() - 1));
  for (const auto& s : segments) table.push_back(static_cast<std::uint32_t>(s.size()));
  if (table.size() % 2 != 0) table.push_back(0);
  std::vector<std::byte> out(table.size() * 4);
  std::memcpy(out.data(), table.data(), out.size());
  for (const auto& s : segments) {
    const std::size_t at = out.size();
    out.resize(at + s.size() * 8);
    std::memcpy(out.data() + at, s.data(), s.size() * 8);
  }
  return out;
}

/// Raw little-endian uint32 values followed by `body_words` zero words: for lying tables.
inline std::vector<std::byte> raw_table(const std::vector<std::uint32_t>& table,
                                        std::size_t body_words) {
  std::vector<std::byte> out(table.size() * 4 + body_words * 8);
  std::memcpy(out.data(), table.data(), table.size() * 4);
  return out;
}

/// The bytes in hex, one space between words: for messages about a failing frame.
inline std::string hex(std::span<const std::byte> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0 && i % 8 == 0) out += ' ';
    out += digits[static_cast<unsigned>(bytes[i]) >> 4];
    out += digits[static_cast<unsigned>(bytes[i]) & 15];
  }
  return out;
}

/// One line about a frame on which parse and Cap'n Proto's own validation disagree.
inline std::string disagreement(std::size_t round, std::span<const std::byte> bytes,
                                const reader_limits& limits, const status& capnp_verdict) {
  return "round " + std::to_string(round) + ": " + hex(bytes) + " traversal limit " +
         std::to_string(limits.traversal_limit_words) + " nesting " +
         std::to_string(limits.nesting_limit) + ": capnp says " +
         (capnp_verdict.ok() ? std::string("ok") : capnp_verdict.err().message);
}

inline std::vector<std::byte> copy_bytes(const message& m) {
  auto b = m.bytes();
  return {b.begin(), b.end()};
}

/// Sets the union discriminant of the group `Group` inside `builder` to `tag`, which may be a
/// value this schema does not define: what a newer peer would send.
template <class Group>
void set_discriminant(capnp::AnyStruct::Builder builder, std::uint16_t tag) {
  const auto proto = capnp::Schema::from<Group>().getProto().getStruct();
  auto data = builder.getDataSection();
  const std::size_t at = std::size_t{proto.getDiscriminantOffset()} * 2;
  if (at + 2 > data.size()) std::abort();  // the test itself is wrong
  data[at] = static_cast<kj::byte>(tag & 0xff);
  data[at + 1] = static_cast<kj::byte>(tag >> 8);
}

/// The seed of a randomized test: TROUPE_TEST_SEED if set, else a fresh one. Printed either way.
inline std::uint64_t test_seed(const char* test_name) {
  std::uint64_t seed = 0;
  if (const char* env = std::getenv("TROUPE_TEST_SEED"); env != nullptr && *env != '\0') {
    seed = std::strtoull(env, nullptr, 10);
  } else {
    // Deterministic by default (one seed per test, from its name: FNV-1a), so a run replays
    // exactly; TROUPE_TEST_SEED explores others.
    seed = 14695981039346656037ull;
    for (const char* c = test_name; *c != '\0'; ++c) seed = (seed ^ static_cast<unsigned char>(*c)) * 1099511628211ull;
  }
  std::cout << test_name << ": seed " << seed << " (rerun with TROUPE_TEST_SEED=" << seed << ")"
            << std::endl;
  return seed;
}

}  // namespace troupe::wire::test
