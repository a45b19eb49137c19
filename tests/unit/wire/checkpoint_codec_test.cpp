// Chandy-Lamport codec: envelopes, markers, commands and reports round-trip with every field set;
// unknown union members and enumerants are errors.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>

#include "runtime/wire/checkpoint.capnp.h"
#include "runtime/wire/checkpoint_codec.hpp"
#include "tests/unit/wire/raw_frame.hpp"

namespace troupe::wire {
namespace {

using namespace troupe::wire::test;
namespace cp = troupe::checkpoint;

cp::bytes bytes_of(const char* text, std::size_t n) { return cp::bytes(text, text + n); }

cp::envelope full_envelope(std::uint64_t sequence) {
  return cp::envelope{11, 12, sequence, 4, 1000 + sequence, {{11, 5}, {12, 3}, {13, 9}},
                      bytes_of("pay\0load", 8)};
}

std::vector<checkpoint_message> every_kind() {
  std::vector<checkpoint_message> out;
  out.emplace_back(full_envelope(1));
  out.emplace_back(cp::envelope{1, 2, 3, 0, 0, {}, {}});  // no clocks, empty payload
  out.emplace_back(cp::marker{7, 1, 11, 12, 8});
  out.emplace_back(cp::checkpoint_command{7, 1, cp::command_kind::take, cp::checkpoint_status::ok});
  out.emplace_back(cp::checkpoint_command{7, 1, cp::command_kind::abort,
                                          cp::checkpoint_status::bound_exceeded});
  out.emplace_back(
      cp::checkpoint_command{7, 1, cp::command_kind::release, cp::checkpoint_status::ok});
  cp::participant_report report;
  report.id = 7;
  report.participant = 12;
  report.kind = cp::report_kind::late_channels;
  report.status = cp::checkpoint_status::channel_gap;
  report.detail = "gap on 11 -> 12 at 5";
  report.local_state = bytes_of("\x01\x02\x00state", 8);
  report.channels = {cp::recorded_channel{11, {full_envelope(2), full_envelope(3)}},
                     cp::recorded_channel{13, {}}};
  report.markers_sent_to = {11, 13, 14};
  out.emplace_back(report);
  for (auto status :
       {cp::checkpoint_status::ok, cp::checkpoint_status::aborted_by_request,
        cp::checkpoint_status::peer_lost, cp::checkpoint_status::timeout,
        cp::checkpoint_status::out_of_order, cp::checkpoint_status::too_many_in_flight}) {
    report.kind = cp::report_kind::full;
    report.status = status;
    out.emplace_back(report);
  }
  out.emplace_back(cp::restore_order{7, 12, bytes_of("\x01" "bal", 4), {full_envelope(4), full_envelope(5)}});
  out.emplace_back(cp::restore_order{8, 13, {}, {}});  // empty state, nothing in flight
  out.emplace_back(cp::host_ready{3, 0xfeedbeefcafe});
  out.emplace_back(cp::start_traffic{8});
  out.emplace_back(cp::rollback{2, 7});
  out.emplace_back(cp::generation_fence{3, 2});
  out.emplace_back(cp::rolled_back{3, 2, 20});
  out.emplace_back(cp::marker_run{7, 1, 8, {11, 11, 13}, {21, 22, 21}});
  out.emplace_back(cp::marker_run{9, 0, 9, {}, {}});
  cp::report_run reports;
  reports.reports.push_back(report);
  report.participant = 13;
  report.kind = cp::report_kind::late_channels;
  reports.reports.push_back(report);
  out.emplace_back(reports);
  return out;
}

BOOST_AUTO_TEST_SUITE(checkpoint_codec)

BOOST_AUTO_TEST_CASE(every_checkpoint_message_kind_round_trips) {
  std::vector<bool> seen(std::variant_size_v<checkpoint_message>, false);
  for (const auto& original : every_kind()) {
    seen[original.index()] = true;
    auto parsed = message::parse(encode(original).bytes());
    BOOST_REQUIRE(parsed.ok());
    auto decoded = decode_checkpoint_message(*parsed);
    BOOST_REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? "" : decoded.err().message));
    BOOST_TEST((*decoded == original), "kind " << original.index());
  }
  for (std::size_t i = 0; i < seen.size(); ++i) BOOST_TEST(seen[i], "kind " << i << " covered");
}

BOOST_AUTO_TEST_CASE(the_typed_encoders_match_the_variant_encoder) {
  const auto env = full_envelope(9);
  BOOST_TEST((copy_bytes(encode(env)) == copy_bytes(encode(checkpoint_message{env}))));
  const cp::marker mark{1, 2, 3, 4, 5};
  BOOST_TEST((copy_bytes(encode(mark)) == copy_bytes(encode(checkpoint_message{mark}))));
}

BOOST_AUTO_TEST_CASE(a_batch_carries_every_kind_of_frame_in_order) {
  std::vector<message> frames;
  for (auto& m : every_kind()) frames.push_back(encode(m));
  auto batch = encode_checkpoint_batch(frames);
  BOOST_TEST(is_checkpoint_batch(batch));
  BOOST_TEST(!is_checkpoint_batch(frames.front()));
  // Through the bytes, as the network carries it.
  auto parsed = message::parse(batch.bytes());
  BOOST_REQUIRE(parsed.ok());
  auto decoded = decode_checkpoint_batch(*parsed);
  BOOST_REQUIRE(decoded.ok());
  BOOST_REQUIRE_EQUAL(decoded->size(), frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    BOOST_TEST((copy_bytes((*decoded)[i]) == copy_bytes(frames[i])));
  }
  // A batch is not one frame, and a batch inside a batch is refused.
  BOOST_TEST(decode_checkpoint_message(batch).err().code == errc::invalid_argument);
  auto nested = decode_checkpoint_batch(encode_checkpoint_batch({frames.front(), batch}));
  BOOST_REQUIRE(!nested.ok());
  BOOST_TEST(nested.err().code == errc::malformed);
  BOOST_TEST(!decode_checkpoint_batch(frames.front()).ok());
}

BOOST_AUTO_TEST_CASE(an_unknown_checkpoint_body_is_unsupported) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<schema::CheckpointMessage>();
  root.initBody().initMarker();
  set_discriminant<schema::CheckpointMessage::Body>(capnp::toAny(root), 13);  // one past `reportRun`
  auto decoded = decode_checkpoint_message(message::from_builder(builder));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(unknown_command_kinds_and_statuses_are_unsupported) {
  {
    capnp::MallocMessageBuilder builder;
    builder.initRoot<schema::CheckpointMessage>().initBody().initCommand().setKind(
        static_cast<schema::CommandKind>(3));
    auto decoded = decode_checkpoint_message(message::from_builder(builder));
    BOOST_REQUIRE(!decoded.ok());
    BOOST_TEST(decoded.err().code == errc::unsupported);
  }
  {
    capnp::MallocMessageBuilder builder;
    builder.initRoot<schema::CheckpointMessage>().initBody().initReport().setStatus(
        static_cast<schema::CheckpointStatus>(8));
    auto decoded = decode_checkpoint_message(message::from_builder(builder));
    BOOST_REQUIRE(!decoded.ok());
    BOOST_TEST(decoded.err().code == errc::unsupported);
  }
  {
    capnp::MallocMessageBuilder builder;
    builder.initRoot<schema::CheckpointMessage>().initBody().initReport().setKind(
        static_cast<schema::ReportKind>(2));
    auto decoded = decode_checkpoint_message(message::from_builder(builder));
    BOOST_REQUIRE(!decoded.ok());
    BOOST_TEST(decoded.err().code == errc::unsupported);
  }
}

BOOST_AUTO_TEST_CASE(a_marker_run_with_more_senders_than_receivers_is_malformed) {
  capnp::MallocMessageBuilder builder;
  auto run = builder.initRoot<schema::CheckpointMessage>().initBody().initMarkerRun();
  run.setCheckpointId(3);
  run.initFrom(2);
  run.initTo(1);
  auto decoded = decode_checkpoint_message(message::from_builder(builder));
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::malformed);
}

BOOST_AUTO_TEST_CASE(a_recorded_envelope_of_the_wrong_pointer_kind_is_malformed) {
  capnp::MallocMessageBuilder builder;
  auto report = builder.initRoot<schema::CheckpointMessage>().initBody().initReport();
  auto channel = report.initChannels(1)[0];
  // messages is a List(Envelope); put a struct there instead. (A list of primitives would be
  // legal: Cap'n Proto reads it as structs whose first field is the primitive.)
  capnp::toAny(channel).getPointerSection()[0].initAs<schema::Marker>().setCheckpointId(1);
  auto parsed = message::parse(message::from_builder(builder).bytes());
  BOOST_REQUIRE(parsed.ok());
  auto decoded = decode_checkpoint_message(*parsed);
  BOOST_REQUIRE(!decoded.ok());
  BOOST_TEST(decoded.err().code == errc::malformed);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::wire
