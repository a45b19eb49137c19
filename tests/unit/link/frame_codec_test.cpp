// The link frame codec: every frame kind round-trips; hostile field values come back as errors.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <span>

#include <capnp/message.h>

#include "runtime/wire/link.capnp.h"
#include "tests/unit/link/link_test_support.hpp"

namespace troupe::link::test {
namespace {

namespace s = wire::schema;

template <class Fill>
wire::message build(Fill&& fill) {
  capnp::MallocMessageBuilder b;
  fill(b.initRoot<s::LinkFrame>().initBody());
  return wire::message::from_builder(b);
}

errc decode_error(const wire::message& m) {
  auto h = decode_frame_header(m);
  BOOST_REQUIRE(!h.ok());
  return h.err().code;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(frame_codec_tests)

BOOST_AUTO_TEST_CASE(every_frame_kind_round_trips) {
  hello_frame hello{{1, 3}, "cluster", peer_role::client, 7, 2, make_nonce(3), 99};
  challenge_frame challenge{2, 5, make_nonce(4), 55, false};
  auth_frame auth;
  auth.dialer_proof.fill(0x11);
  auth.resume = {12, 34};
  welcome_frame welcome;
  welcome.acceptor_proof.fill(0x22);
  welcome.resume = {56, 78};
  const std::vector<frame_header> frames{
      hello,
      challenge,
      auth,
      welcome,
      refuse_frame{close_reason::wrong_cluster, "nope"},
      data_frame{lane::raft_bulk, 0, 41, true, "raft/1", "raft/2"},
      data_frame{lane::application, 9, 3, false, "", ""},
      ack_frame{123},
      ping_frame{-5},
      pong_frame{1'000'000'000'000},
      goodbye_frame{close_reason::shutting_down, "bye"},
  };
  for (const auto& f : frames) {
    BOOST_TEST_CONTEXT("frame " << kind_name(f)) {
      (void)over_the_wire(f);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_in_place_hot_path_writes_and_reads_exactly_what_the_message_path_does) {
  auth_frame auth;
  auth.dialer_proof.fill(0x11);
  auth.resume = {12, 34};
  const std::vector<frame_header> frames{
      hello_frame{{1, 3}, "cluster", peer_role::client, 7, 2, make_nonce(3), 99},
      challenge_frame{2, 5, make_nonce(4), 55, false},
      auth,
      refuse_frame{close_reason::wrong_cluster, "nope"},
      data_frame{lane::raft_bulk, 0, 41, true, "raft/1", "raft/2"},
      data_frame{lane::application, 9, 3, false, "", ""},
      data_frame{lane::client, 1, 2, true, std::string(max_endpoint_bytes, 'd'),
                 std::string(max_endpoint_bytes, 's')},
      ack_frame{123},
      goodbye_frame{close_reason::shutting_down, std::string(max_reason_text_bytes, 'g')},
  };
  wire::frame_validator validator;
  std::vector<char> stream;
  for (const auto& f : frames) {
    BOOST_TEST_CONTEXT("frame " << kind_name(f)) {
      const auto message = encode_frame_header(f);
      const auto expected = message.bytes();
      std::vector<char> appended{'x'};  // appends after what is there
      append_frame_header(appended, f);
      BOOST_REQUIRE_EQUAL(appended.size(), expected.size() + 1);
      BOOST_TEST(std::memcmp(appended.data() + 1, expected.data(), expected.size()) == 0);
      stream.insert(stream.end(), appended.begin() + 1, appended.end());
      auto decoded = decode_frame_header(expected, wire::reader_limits{}, validator);
      BOOST_REQUIRE(decoded.ok());
      BOOST_TEST((*decoded == f));
    }
  }
  // Through the assembler's zero-copy path, as the broker reads them.
  wire::frame_assembler assembler;
  assembler.append(std::as_bytes(std::span<const char>(stream)));
  for (const auto& f : frames) {
    auto next = assembler.next_frame_bytes();
    BOOST_REQUIRE(next.ok());
    BOOST_REQUIRE(next->has_value());
    auto decoded = decode_frame_header(**next, assembler.limits(), validator);
    BOOST_REQUIRE(decoded.ok());
    BOOST_TEST((*decoded == f));
  }
}

BOOST_AUTO_TEST_CASE(data_headers_written_directly_are_the_builders_bytes) {
  // append_frame_header writes data headers without a builder: it must produce exactly the
  // builder's bytes (encode_frame_header) for every lane, flag, number and name length, including
  // empty names, names at the bound and names over it (cut to the bound). Seeded: fixed by
  // default, TROUPE_LINK_SEED=<seed> explores.
  const char* env = std::getenv("TROUPE_LINK_SEED");
  const std::uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 20261126;
  std::cout << "data header seed " << seed << " (rerun: TROUPE_LINK_SEED=" << seed << ")\n";
  std::mt19937_64 rng(seed);
  const auto name = [&] {
    const std::size_t lengths[] = {0, 1, 6, 7, 8, 15, 16, max_endpoint_bytes - 1, max_endpoint_bytes,
                                   max_endpoint_bytes + 1, max_endpoint_bytes + 40};
    const auto n = rng() % 2 == 0 ? lengths[rng() % std::size(lengths)] : rng() % (max_endpoint_bytes + 8);
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(rng() % 255 + 1);  // Text holds no NUL
    return out;
  };
  wire::frame_validator validator;
  for (int i = 0; i < 2000; ++i) {
    data_frame d{static_cast<lane>(rng() % lane_count), rng(), rng(), rng() % 2 == 0, name(), name()};
    BOOST_TEST_CONTEXT("seed " << seed << " frame " << i << " names " << d.destination.size() << "/"
                               << d.source.size()) {
      const auto expected = encode_frame_header(d);
      std::vector<char> appended{'x', 'y', 'z'};  // appends after what is there
      append_frame_header(appended, d);
      BOOST_REQUIRE_EQUAL(appended.size(), expected.size_bytes() + 3);
      BOOST_REQUIRE(std::memcmp(appended.data() + 3, expected.bytes().data(), expected.size_bytes()) == 0);
      auto decoded = decode_frame_header(
          std::as_bytes(std::span<const char>(appended).subspan(3)), wire::reader_limits{}, validator);
      BOOST_REQUIRE(decoded.ok());
      auto cut = d;
      cut.destination.resize(std::min(cut.destination.size(), max_endpoint_bytes));
      cut.source.resize(std::min(cut.source.size(), max_endpoint_bytes));
      BOOST_TEST((*decoded == frame_header{cut}));
    }
  }
}

BOOST_AUTO_TEST_CASE(the_in_place_decoder_refuses_what_parse_then_decode_refuses) {
  // Byte flips in every kind of header: the in-place path (validate + decode with one reader)
  // must give the same verdict and error code as message::parse followed by the message decoder.
  const std::vector<frame_header> frames{
      hello_frame{{1, 3}, "cluster", peer_role::peer, 7, 2, make_nonce(3), 99},
      data_frame{lane::application, 9, 3, true, "bench", "bench"},
      goodbye_frame{close_reason::shutting_down, "bye"},
      ack_frame{5},
  };
  std::mt19937_64 rng(20261126);
  wire::frame_validator validator;
  std::size_t refused = 0, accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    const auto message = encode_frame_header(frames[rng() % frames.size()]);
    const auto encoded = message.bytes();
    std::vector<std::byte> bytes(encoded.begin(), encoded.end());
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < flips; ++i) bytes[rng() % bytes.size()] = static_cast<std::byte>(rng());
    wire::reader_limits limits;
    limits.max_frame_bytes = 1 << 16;
    auto parsed = wire::message::parse(bytes, limits);
    auto reference = parsed.ok() ? decode_frame_header(*parsed) : result<frame_header>(parsed.err());
    auto in_place = decode_frame_header(bytes, limits, validator);
    BOOST_REQUIRE_EQUAL(in_place.ok(), reference.ok());
    if (in_place.ok()) {
      BOOST_REQUIRE((*in_place == *reference));
      ++accepted;
    } else {
      BOOST_REQUIRE_EQUAL(in_place.err().code, reference.err().code);
      ++refused;
    }
  }
  BOOST_TEST(refused > 0u);
  BOOST_TEST(accepted > 0u);
}

BOOST_AUTO_TEST_CASE(the_data_header_fast_path_accepts_only_what_the_generic_path_decodes_alike) {
  // decode_canonical_data_header skips Cap'n Proto's reader for data headers laid out as
  // append_frame_header writes them. Every such header must take it, and under random byte and
  // bit flips whatever it still accepts must be accepted by message::parse + the message decoder
  // with the very same result (what it declines goes to the generic path, checked above). Seeded:
  // TROUPE_LINK_SEED=<seed> explores.
  const char* env = std::getenv("TROUPE_LINK_SEED");
  const std::uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 20261126;
  std::cout << "fast path seed " << seed << " (rerun: TROUPE_LINK_SEED=" << seed << ")\n";
  std::mt19937_64 rng(seed);
  const auto name = [&] {
    const std::size_t lengths[] = {0, 1, 5, 7, 8, 9, max_endpoint_bytes};
    std::string out(lengths[rng() % std::size(lengths)], '\0');
    for (auto& c : out) c = static_cast<char>(rng() % 256);  // NULs inside too: kept by both paths
    return out;
  };
  const wire::reader_limits limits;
  std::size_t fast = 0, declined = 0;
  for (int round = 0; round < 20000; ++round) {
    const data_frame d{static_cast<lane>(rng() % lane_count), rng(), rng(), rng() % 2 == 0, name(),
                       name()};
    std::vector<char> appended;
    append_frame_header(appended, d);
    std::vector<std::byte> bytes(appended.size());
    std::memcpy(bytes.data(), appended.data(), appended.size());
    BOOST_TEST_CONTEXT("seed " << seed << " round " << round) {
      const auto clean = decode_canonical_data_header(bytes, limits);
      BOOST_REQUIRE(clean.has_value());
      BOOST_REQUIRE((*clean == d));
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < flips; ++i) {
        auto& b = bytes[rng() % bytes.size()];
        b = rng() % 2 == 0 ? static_cast<std::byte>(rng()) : b ^ static_cast<std::byte>(1u << (rng() % 8));
      }
      const auto got = decode_canonical_data_header(bytes, limits);
      if (!got) {
        ++declined;
        continue;
      }
      ++fast;
      auto parsed = wire::message::parse(bytes, limits);
      BOOST_REQUIRE(parsed.ok());
      auto reference = decode_frame_header(*parsed);
      BOOST_REQUIRE(reference.ok());
      BOOST_REQUIRE((*reference == frame_header{*got}));
    }
  }
  BOOST_TEST(fast > 0u);      // flips in seq, ack, names or padding keep the layout
  BOOST_TEST(declined > 0u);  // flips in the structure do not
}

BOOST_AUTO_TEST_CASE(every_close_reason_survives_the_wire_except_the_local_one) {
  for (std::uint16_t v = 0; v <= static_cast<std::uint16_t>(close_reason::superseded); ++v) {
    const auto r = static_cast<close_reason>(v);
    BOOST_TEST_CONTEXT(to_string(r)) {
      (void)over_the_wire(refuse_frame{r, "x"});
    }
  }
  auto h =
      decode_frame_header(encode_frame_header(goodbye_frame{close_reason::peer_restarted, ""}));
  BOOST_REQUIRE(h.ok());
  BOOST_TEST(std::get<goodbye_frame>(*h).reason == close_reason::unknown);
}

BOOST_AUTO_TEST_CASE(a_nonce_of_the_wrong_length_is_malformed) {
  auto m = build([](s::LinkFrame::Body::Builder b) {
    auto h = b.initHello();
    h.setClusterId("c");
    h.setSenderId(1);
    h.setIncarnation(1);
    h.initNonce(31);
  });
  BOOST_TEST(decode_error(m) == errc::malformed);
}

BOOST_AUTO_TEST_CASE(a_zero_sender_id_or_incarnation_is_malformed) {
  auto zero_id = build([](s::LinkFrame::Body::Builder b) {
    auto h = b.initHello();
    h.setIncarnation(1);
    h.initNonce(32);
  });
  BOOST_TEST(decode_error(zero_id) == errc::malformed);
  auto zero_incarnation = build([](s::LinkFrame::Body::Builder b) {
    auto h = b.initHello();
    h.setSenderId(1);
    h.initNonce(32);
  });
  BOOST_TEST(decode_error(zero_incarnation) == errc::malformed);
}

BOOST_AUTO_TEST_CASE(an_over_long_endpoint_name_is_malformed) {
  const std::string name(max_endpoint_bytes + 1, 'e');
  auto m = build([&](s::LinkFrame::Body::Builder b) {
    auto d = b.initData();
    d.setDestination(name);
  });
  BOOST_TEST(decode_error(m) == errc::malformed);
}

BOOST_AUTO_TEST_CASE(a_lane_this_build_does_not_know_is_malformed) {
  auto m = build(
      [](s::LinkFrame::Body::Builder b) { b.initData().setLane(static_cast<s::LinkLane>(42)); });
  BOOST_TEST(decode_error(m) == errc::malformed);
}

BOOST_AUTO_TEST_CASE(an_unknown_reason_code_decodes_as_unknown) {
  auto m = build([](s::LinkFrame::Body::Builder b) {
    b.initRefuse().setReason(static_cast<s::LinkReason>(999));
  });
  auto h = decode_frame_header(m);
  BOOST_REQUIRE(h.ok());
  BOOST_TEST(std::get<refuse_frame>(*h).reason == close_reason::unknown);
}

BOOST_AUTO_TEST_CASE(a_proof_of_the_wrong_length_is_malformed) {
  auto m = build([](s::LinkFrame::Body::Builder b) { b.initAuth().initProof(16); });
  BOOST_TEST(decode_error(m) == errc::malformed);
}

BOOST_AUTO_TEST_CASE(a_message_of_another_schema_is_rejected_not_misread) {
  // An empty struct reads as the default union member (hello) with every field zero.
  capnp::MallocMessageBuilder b;
  b.initRoot<s::LinkAck>();
  auto m = wire::message::from_builder(b);
  BOOST_TEST(decode_error(m) == errc::malformed);
  BOOST_TEST(decode_error(wire::message{}) == errc::malformed);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace troupe::link::test
