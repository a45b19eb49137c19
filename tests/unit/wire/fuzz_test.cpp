// Seeded byte-flip fuzzing over valid frames of every kind: every mutated frame must either be
// refused by parse, or parse and then decode to a value or an error. A crash, a hang or an escaped
// exception fails the test. Rerun one run with TROUPE_TEST_SEED=<seed printed>.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <random>

#include "runtime/wire/checkpoint_codec.hpp"
#include "runtime/wire/client_codec.hpp"
#include "runtime/wire/raft_codec.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

using namespace troupe::wire::test;

struct corpus_entry {
  std::vector<std::byte> bytes;
  std::function<bool(const message&)> decodes;  ///< true when the decoder returned a value
};

std::vector<corpus_entry> corpus() {
  std::vector<corpus_entry> out;
  auto add_request = [&](client_request r) {
    out.push_back({copy_bytes(encode(r)),
                   [](const message& m) { return decode_client_request(m).ok(); }});
  };
  auto add_reply = [&](client_reply r) {
    out.push_back({copy_bytes(encode(r)),
                   [](const message& m) { return decode_client_reply(m).ok(); }});
  };
  auto add_raft = [&](raft::raft_message r) {
    out.push_back({copy_bytes(encode(r)),
                   [](const message& m) { return decode_raft_message(m).ok(); }});
  };
  auto add_checkpoint = [&](checkpoint_message m) {
    out.push_back({copy_bytes(encode(m)),
                   [](const message& msg) { return decode_checkpoint_message(msg).ok(); }});
  };
  add_request({1, 2, 3, kv_put{"key", "value"}});
  add_request({1, 2, 3, kv_cas{"key", std::string("old"), "new"}});
  add_request({1, 2, 3, kv_get{"key", read_consistency::lease}});
  add_request({1, 2, 3, kv_txn{{kv_compare{"k", compare_op::less, compare_target::version, "", 4}},
                               {kv_put{"k", "v"}, kv_get{"g", read_consistency::lease}},
                               {kv_del{"d"}}}});
  add_request({1, 2, 3, kv_changes{"cfg/", true, 7, 10, read_consistency::lease}});
  add_reply({1, 2, client_error::ok, "", std::nullopt,
             kv_txn_result{true, 5, {std::monostate{}, kv_txn_get_result{true, {"k", "v", 1, 2, 3}}}}});
  add_reply({1, 2, client_error::ok, "", std::nullopt,
             kv_changes_result{{kv_event{4, kv_event_kind::del, "k", "", 1, 0}}, 5, false, 5, false, 0}});
  add_reply({1, 2, client_error::not_leader, "moved", node_address{2, "h:1"},
             status_info{1, 2, 3, raft_role::leader, 1, 5, 5, 6, {{1, "a:1"}, {2, "b:2"}}}});
  add_raft({1, 2, 3, raft::append_entries{7, 1, 1,
                                          {raft::log_entry{1, 2, raft::entry_type::normal, "x"},
                                           raft::log_entry{1, 3, raft::entry_type::no_op, ""}},
                                          2}});
  add_raft({1, 2, 3, raft::install_snapshot{7, {10, 2, {{1, 2}, {3}, {}}}, 0, "chunk", false}});
  add_raft({1, 2, 3, raft::vote_request{7, true, 4, 5, false}});
  add_checkpoint(checkpoint::envelope{1, 2, 3, 4, 5, {{1, 1}, {2, 2}}, {'p', 'q'}});
  add_checkpoint(checkpoint::marker{1, 2, 3, 4, 5});
  checkpoint::participant_report report;
  report.id = 1;
  report.channels = {checkpoint::recorded_channel{2, {checkpoint::envelope{2, 1, 1, 0, 0, {}, {'x'}}}}};
  report.markers_sent_to = {2, 3};
  add_checkpoint(report);
  return out;
}

/// Flips bytes of valid frames 20,000 times with `seed`; every outcome must be a value or an error.
void run_byte_flips(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto entries = corpus();
  std::size_t refused = 0, decoded = 0, decode_errors = 0;
  constexpr int rounds = 20000;
  for (int round = 0; round < rounds; ++round) {
    const corpus_entry& entry = entries[rng() % entries.size()];
    auto bytes = entry.bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      bytes[rng() % bytes.size()] = static_cast<std::byte>(rng() & 0xff);
    }
    reader_limits limits;
    limits.max_frame_bytes = 1 << 20;
    auto parsed = message::parse(bytes, limits);
    if (!parsed.ok()) {
      BOOST_REQUIRE(parsed.err().code == errc::malformed || parsed.err().code == errc::too_large);
      ++refused;
      continue;
    }
    if (entry.decodes(*parsed)) {
      ++decoded;
    } else {
      ++decode_errors;
    }
  }
  BOOST_TEST_MESSAGE("refused " << refused << ", decoded " << decoded << ", decode errors "
                                << decode_errors);
  BOOST_TEST(refused + decoded + decode_errors == static_cast<std::size_t>(rounds));
  // The mutations must reach both outcomes, or the loop is not testing what it claims.
  BOOST_TEST(refused > 0u);
  BOOST_TEST(decoded > 0u);
}

BOOST_AUTO_TEST_CASE(byte_flips_in_valid_frames_give_values_or_errors) {
  run_byte_flips(test_seed("byte_flips_in_valid_frames_give_values_or_errors"));
}

// A seed that once flipped a KvChangesResult's event list into a list of zero-sized structs
// claiming 465 million elements in a 17-word frame: the decoder reserved them (std::bad_alloc).
// Such lists are now refused as malformed (codec_support.hpp, require_list_fits).
BOOST_AUTO_TEST_CASE(an_amplified_list_is_refused_not_allocated) { run_byte_flips(5205533916164962127ull); }

BOOST_AUTO_TEST_CASE(the_in_place_validator_accepts_and_refuses_exactly_what_parse_does) {
  const std::uint64_t seed =
      test_seed("the_in_place_validator_accepts_and_refuses_exactly_what_parse_does");
  std::mt19937_64 rng(seed);
  const auto entries = corpus();
  frame_validator validator;
  std::size_t refused = 0, accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    const corpus_entry& entry = entries[rng() % entries.size()];
    // One spare byte in front: odd rounds read the frame at an unaligned address.
    std::vector<std::byte> storage(entry.bytes.size() + 8);
    const std::size_t offset = round % 2 == 0 ? 0 : 1 + rng() % 7;
    std::copy(entry.bytes.begin(), entry.bytes.end(), storage.begin() + static_cast<long>(offset));
    std::span<std::byte> bytes(storage.data() + offset, entry.bytes.size());
    const int flips = static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<std::byte>(rng() & 0xff);
    // Truncations and trailing bytes too.
    const std::size_t cut = rng() % 8 == 0 ? rng() % bytes.size() : bytes.size();
    bytes = bytes.first(cut);
    reader_limits limits;
    limits.max_frame_bytes = 1 << 20;
    if (rng() % 4 == 0) limits.traversal_limit_words = 1 + rng() % 64;
    if (rng() % 4 == 0) limits.nesting_limit = 1 + static_cast<int>(rng() % 4);
    auto parsed = message::parse(bytes, limits);
    auto validated = validator.validate(bytes, limits);
    BOOST_REQUIRE_MESSAGE(validated.ok() == parsed.ok(),
                          disagreement(static_cast<std::size_t>(round), bytes, limits, validated));
    if (parsed.ok()) {
      ++accepted;
    } else {
      BOOST_REQUIRE(validated.err().code == parsed.err().code);
      ++refused;
    }
  }
  BOOST_TEST_MESSAGE("refused " << refused << ", accepted " << accepted);
  BOOST_TEST(refused > 0u);
  BOOST_TEST(accepted > 0u);
}

BOOST_AUTO_TEST_CASE(a_corrupted_stream_in_random_chunks_gives_frames_then_at_most_one_error) {
  const std::uint64_t seed =
      test_seed("a_corrupted_stream_in_random_chunks_gives_frames_then_at_most_one_error");
  std::mt19937_64 rng(seed);
  const auto entries = corpus();
  std::size_t streams_failed = 0, frames_out = 0;
  constexpr int streams = 300;
  for (int round = 0; round < streams; ++round) {
    std::vector<std::byte> stream;
    for (int i = 0; i < 20; ++i) {
      const auto& bytes = entries[rng() % entries.size()].bytes;
      stream.insert(stream.end(), bytes.begin(), bytes.end());
    }
    const int flips = static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) stream[rng() % stream.size()] = static_cast<std::byte>(rng());
    reader_limits limits;
    limits.max_frame_bytes = 1 << 16;
    frame_assembler assembler(limits);
    bool failed = false;
    for (std::size_t at = 0; at < stream.size() && !failed;) {
      const std::size_t chunk = std::min<std::size_t>(stream.size() - at, 1 + rng() % 300);
      assembler.append(std::span<const std::byte>(stream).subspan(at, chunk));
      at += chunk;
      for (;;) {
        auto next = assembler.next();
        if (!next.ok()) {
          BOOST_REQUIRE(next.err().code != errc::closed);  // the first error is the real one
          failed = true;
          break;
        }
        if (!next->has_value()) break;
        ++frames_out;
      }
    }
    if (failed) {
      ++streams_failed;
      BOOST_REQUIRE(assembler.failed());
      auto after = assembler.next();
      BOOST_REQUIRE(!after.ok());
      BOOST_REQUIRE(after.err().code == errc::closed);
    } else if (flips == 0) {
      BOOST_REQUIRE_EQUAL(assembler.buffered_bytes(), 0u);
    }
  }
  BOOST_TEST_MESSAGE("streams failed " << streams_failed << ", frames out " << frames_out);
  BOOST_TEST(frames_out > 0u);
}

}  // namespace
}  // namespace troupe::wire
