// The backup file (consensus/actor/backup_file.hpp): what encode_backup writes decodes to the same
// header and image, whole or fed in pieces of any size; a truncated file, a flipped bit, another
// format version, trailing bytes and a file that is no backup at all are refused with an error
// that says which.
#define BOOST_TEST_MODULE raft_backup_file
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <iostream>
#include <random>

#include "consensus/actor/backup_file.hpp"
#include "consensus/core/membership.hpp"

using namespace troupe;
using namespace troupe::raft;

namespace {

snapshot_metadata sample_metadata() {
  membership m;
  m.voters = {1, 2, 3};
  set_address(m, 1, "127.0.0.1:7101");
  set_address(m, 2, "127.0.0.1:7102");
  set_address(m, 3, "127.0.0.1:7103");
  return {1234, 7, m};
}

std::string sample_image(std::size_t bytes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string image(bytes, '\0');
  for (auto& c : image) c = static_cast<char>(rng());
  return image;
}

std::uint64_t test_seed() {
  const char* s = std::getenv("TROUPE_SEED");
  const std::uint64_t seed = s != nullptr ? std::strtoull(s, nullptr, 10) : 20261126;
  std::cout << "backup_file_test seed " << seed << " (TROUPE_SEED=n reruns it)\n";
  return seed;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_backup_round_trips_whole_and_in_pieces_of_any_size) {
  const std::uint64_t seed = test_seed();
  const std::string image = sample_image(100'000, seed);
  const std::string file = encode_backup(1, sample_metadata(), image);
  auto whole = decode_backup(file);
  BOOST_REQUIRE_MESSAGE(whole.ok(), (whole.ok() ? "" : whole.err().message));
  BOOST_TEST(whole->header.group == 1u);
  BOOST_TEST((whole->header.metadata == sample_metadata()));
  BOOST_TEST(whole->header.image_bytes == image.size());
  BOOST_TEST(whole->header.file_bytes == file.size());
  BOOST_TEST((whole->image == image));

  std::mt19937_64 rng(seed);
  for (int run = 0; run < 20; ++run) {
    backup_verifier v;
    std::size_t at = 0;
    while (at < file.size()) {
      // Pieces from 1 byte (the prefix and header split anywhere) to 40 kB.
      const std::size_t n = std::min<std::size_t>(file.size() - at, 1 + rng() % (run % 2 == 0 ? 7 : 40'000));
      BOOST_REQUIRE(v.feed(std::string_view(file).substr(at, n)).ok());
      at += n;
    }
    auto header = v.finish();
    BOOST_REQUIRE_MESSAGE(header.ok(), (header.ok() ? "" : header.err().message));
    BOOST_TEST((*header == whole->header));
  }
}

BOOST_AUTO_TEST_CASE(an_empty_image_round_trips) {
  auto d = decode_backup(encode_backup(1, sample_metadata(), ""));
  BOOST_REQUIRE(d.ok());
  BOOST_TEST(d->image.empty());
}

BOOST_AUTO_TEST_CASE(a_truncated_backup_is_refused_at_every_length) {
  const std::string file = encode_backup(1, sample_metadata(), sample_image(3000, 1));
  for (std::size_t n = 0; n < file.size(); n += (n < 200 ? 1 : 97)) {
    auto d = decode_backup(std::string_view(file).substr(0, n));
    BOOST_REQUIRE(!d.ok());
    BOOST_TEST((d.err().code == errc::malformed));
    BOOST_TEST(d.err().message.find("truncated") != std::string::npos, n << ": " << d.err().message);
  }
  auto last = decode_backup(std::string_view(file).substr(0, file.size() - 1));
  BOOST_TEST(last.err().message == "truncated: " + std::to_string(file.size() - 1) + " bytes of " +
                                       std::to_string(file.size()));
}

BOOST_AUTO_TEST_CASE(a_flipped_bit_in_the_image_or_checksum_fails_the_checksum) {
  const std::string file = encode_backup(1, sample_metadata(), sample_image(3000, 2));
  for (std::size_t at : {file.size() / 2, file.size() - 5, file.size() - 1}) {
    std::string bad = file;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    auto d = decode_backup(bad);
    BOOST_REQUIRE(!d.ok());
    BOOST_TEST((d.err().code == errc::corrupt));
    BOOST_TEST(d.err().message.find("checksum mismatch") != std::string::npos, d.err().message);
  }
}

BOOST_AUTO_TEST_CASE(another_format_version_is_refused_by_number) {
  std::string file = encode_backup(1, sample_metadata(), "image");
  file[8] = 2;  // the version's low byte
  auto d = decode_backup(file);
  BOOST_REQUIRE(!d.ok());
  BOOST_TEST((d.err().code == errc::unsupported));
  BOOST_TEST(d.err().message == "backup format version 2: this troupe reads version 1");
}

BOOST_AUTO_TEST_CASE(a_file_that_is_no_backup_or_has_trailing_bytes_is_refused) {
  auto text = decode_backup("key=value\nanother line of text\n");
  BOOST_REQUIRE(!text.ok());
  BOOST_TEST((text.err().code == errc::malformed));
  BOOST_TEST(text.err().message.find("not a troupe backup file") != std::string::npos);

  auto longer = decode_backup(encode_backup(1, sample_metadata(), "image") + "x");
  BOOST_REQUIRE(!longer.ok());
  BOOST_TEST(longer.err().message.find("trailing bytes") != std::string::npos, longer.err().message);

  std::string huge_header = encode_backup(1, sample_metadata(), "image");
  huge_header[15] = 0x7f;  // header length far beyond max_backup_header_bytes
  auto h = decode_backup(huge_header);
  BOOST_REQUIRE(!h.ok());
  BOOST_TEST(h.err().message.find("out of range") != std::string::npos, h.err().message);
}

BOOST_AUTO_TEST_CASE(a_corrupt_header_is_refused_before_the_checksum) {
  std::string file = encode_backup(1, sample_metadata(), "image");
  file[16 + 24 + 4] = 9;  // the configuration's version byte
  backup_verifier v;
  BOOST_TEST(!v.feed(file).ok());
  auto d = v.finish();
  BOOST_REQUIRE(!d.ok());
  BOOST_TEST((d.err().code == errc::malformed));
  BOOST_TEST(d.err().message.find("configuration") != std::string::npos, d.err().message);
}
