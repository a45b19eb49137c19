#include "runtime/transport/link/auth_proof.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace troupe::link {
namespace {

bool is_space(std::uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The MAC input. Every field has a fixed width or a length prefix, so two different transcripts
// never serialise to the same bytes.
std::vector<std::uint8_t> serialise(proof_direction direction, const proof_transcript& t) {
  std::vector<std::uint8_t> out;
  out.reserve(160 + t.cluster_id.size());
  auto put_bytes = [&](const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  };
  auto put_u64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  static constexpr char protocol[] = "troupe-link-proof/1";
  put_bytes(protocol, sizeof(protocol));  // includes the terminating zero as a separator
  const char* label =
      direction == proof_direction::dialer_to_acceptor ? "dialer->acceptor" : "acceptor->dialer";
  put_bytes(label, std::strlen(label) + 1);
  out.push_back(static_cast<std::uint8_t>(t.version & 0xff));
  out.push_back(static_cast<std::uint8_t>(t.version >> 8));
  out.push_back(static_cast<std::uint8_t>(t.dialer_role));
  put_u64(t.dialer_id);
  put_u64(t.acceptor_id);
  put_u64(t.dialer_incarnation);
  put_u64(t.acceptor_incarnation);
  put_u64(t.cluster_id.size());
  put_bytes(t.cluster_id.data(), t.cluster_id.size());
  put_bytes(t.dialer_nonce.data(), t.dialer_nonce.size());
  put_bytes(t.acceptor_nonce.data(), t.acceptor_nonce.size());
  return out;
}

}  // namespace

result<secret> secret::from_file_contents(std::string_view contents) {
  std::size_t n = contents.size();
  while (n > 0 && is_space(static_cast<std::uint8_t>(contents[n - 1]))) --n;
  if (n < min_bytes)
    return make_error(errc::invalid_argument, "secret is " + std::to_string(n) +
                                                  " bytes, shorter than the minimum of " +
                                                  std::to_string(min_bytes));
  if (n > max_bytes)
    return make_error(errc::invalid_argument, "secret is " + std::to_string(n) +
                                                  " bytes, longer than the maximum of " +
                                                  std::to_string(max_bytes));
  std::vector<std::uint8_t> bytes(n);
  std::memcpy(bytes.data(), contents.data(), n);
  return secret{std::move(bytes)};
}

result<secret> secret::from_file_contents(std::span<const std::byte> contents) {
  return from_file_contents(
      std::string_view(reinterpret_cast<const char*>(contents.data()), contents.size()));
}

proof compute_proof(const secret& key, proof_direction direction, const proof_transcript& t) {
  const auto input = serialise(direction, t);
  proof out{};
  unsigned int length = 0;
  const auto k = key.bytes();
  const unsigned char* mac = HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()), input.data(),
                                  input.size(), out.data(), &length);
  // HMAC-SHA256 cannot fail short of memory exhaustion. Carrying on with an all-zero proof would
  // let anyone in, so a failure stops the process.
  if (mac == nullptr || length != out.size()) {
    std::fputs("troupe link: HMAC-SHA256 failed; refusing to continue without authentication\n",
               stderr);
    std::abort();
  }
  return out;
}

bool verify_proof(const secret& key, proof_direction direction, const proof_transcript& t,
                  const proof& presented) {
  const proof expected = compute_proof(key, direction, t);
  return CRYPTO_memcmp(expected.data(), presented.data(), expected.size()) == 0;
}

result<nonce> random_nonce() {
  nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1)
    return make_error(errc::internal, "RAND_bytes failed to produce a nonce");
  return n;
}

result<std::uint64_t> random_incarnation() {
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::array<std::uint8_t, 8> b{};
    if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1)
      return make_error(errc::internal, "RAND_bytes failed to produce an incarnation");
    std::uint64_t v = 0;
    for (auto x : b) v = (v << 8) | x;
    if (v != 0) return v;
  }
  return make_error(errc::internal, "RAND_bytes produced zero four times");
}

}  // namespace troupe::link
