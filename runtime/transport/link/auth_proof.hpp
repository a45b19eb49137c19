#pragma once
/// Secrets, nonces and the HMAC-SHA256 proofs of the link handshake (OpenSSL). Pure functions of
/// their arguments except `random_nonce` / `random_incarnation`, which read OpenSSL's CSPRNG and
/// are meant for the shell (the cores take nonces as arguments so that tests are deterministic).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.hpp"
#include "runtime/transport/link/frame.hpp"

namespace troupe::link {

/// A shared secret (cluster or client). Never logged, never sent.
class secret {
 public:
  static constexpr std::size_t min_bytes = 16;
  static constexpr std::size_t max_bytes = 4096;

  /// The secret from a secret file's contents: trailing ASCII whitespace (a final newline) is
  /// removed. Errors: errc::invalid_argument when what remains is shorter than min_bytes or longer
  /// than max_bytes (the message says which, never the contents).
  static result<secret> from_file_contents(std::span<const std::byte> contents);
  static result<secret> from_file_contents(std::string_view contents);

  std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }

 private:
  explicit secret(std::vector<std::uint8_t> b) : bytes_(std::move(b)) {}
  std::vector<std::uint8_t> bytes_;
};

/// Which proof: each direction has its own label in the MAC input, so a proof made for one
/// direction never verifies for the other (a reflected proof is useless).
enum class proof_direction : std::uint8_t { dialer_to_acceptor, acceptor_to_dialer };

/// Everything a proof binds. Both sides build the same transcript from the hello and challenge.
struct proof_transcript {
  std::string cluster_id;
  peer_role dialer_role = peer_role::peer;
  std::uint64_t dialer_id = 0;
  std::uint64_t acceptor_id = 0;
  std::uint64_t dialer_incarnation = 0;
  std::uint64_t acceptor_incarnation = 0;
  nonce dialer_nonce{};
  nonce acceptor_nonce{};
  std::uint16_t version = 0;
};

/// HMAC-SHA256(key, "troupe-link-proof/1" | direction label | version | role | ids | incarnations |
/// length-prefixed cluster id | dialer nonce | acceptor nonce), integers little-endian, fixed
/// width.
proof compute_proof(const secret& key, proof_direction direction, const proof_transcript& t);

/// Recomputes the expected proof and compares in constant time (CRYPTO_memcmp).
bool verify_proof(const secret& key, proof_direction direction, const proof_transcript& t,
                  const proof& presented);

/// 32 bytes from OpenSSL's CSPRNG. Errors: errc::internal when RAND_bytes fails.
result<nonce> random_nonce();

/// A non-zero random 64-bit incarnation id for this process. Errors: errc::internal.
result<std::uint64_t> random_incarnation();

}  // namespace troupe::link
