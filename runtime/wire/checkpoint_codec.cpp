#include "runtime/wire/checkpoint_codec.hpp"

#include <cassert>
#include <string>

#include "runtime/wire/checkpoint.capnp.h"
#include "runtime/wire/codec_support.hpp"

namespace troupe::wire {
namespace {

namespace s = schema;
namespace cp = troupe::checkpoint;
using detail::to_string;

capnp::Data::Reader as_data(const cp::bytes& bytes) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size());
}

cp::bytes to_bytes(capnp::Data::Reader data) {
  const char* begin = reinterpret_cast<const char*>(data.begin());
  return cp::bytes(begin, begin + data.size());
}

// --- enums ---------------------------------------------------------------------------------------

s::CheckpointStatus to_schema(cp::checkpoint_status status) {
  switch (status) {
    case cp::checkpoint_status::ok: return s::CheckpointStatus::OK;
    case cp::checkpoint_status::aborted_by_request: return s::CheckpointStatus::ABORTED_BY_REQUEST;
    case cp::checkpoint_status::peer_lost: return s::CheckpointStatus::PEER_LOST;
    case cp::checkpoint_status::bound_exceeded: return s::CheckpointStatus::BOUND_EXCEEDED;
    case cp::checkpoint_status::timeout: return s::CheckpointStatus::TIMEOUT;
    case cp::checkpoint_status::out_of_order: return s::CheckpointStatus::OUT_OF_ORDER;
    case cp::checkpoint_status::channel_gap: return s::CheckpointStatus::CHANNEL_GAP;
    case cp::checkpoint_status::too_many_in_flight: return s::CheckpointStatus::TOO_MANY_IN_FLIGHT;
  }
  return s::CheckpointStatus::ABORTED_BY_REQUEST;
}

result<cp::checkpoint_status> from_schema(s::CheckpointStatus status, const char* where) {
  switch (status) {
    case s::CheckpointStatus::OK: return cp::checkpoint_status::ok;
    case s::CheckpointStatus::ABORTED_BY_REQUEST: return cp::checkpoint_status::aborted_by_request;
    case s::CheckpointStatus::PEER_LOST: return cp::checkpoint_status::peer_lost;
    case s::CheckpointStatus::BOUND_EXCEEDED: return cp::checkpoint_status::bound_exceeded;
    case s::CheckpointStatus::TIMEOUT: return cp::checkpoint_status::timeout;
    case s::CheckpointStatus::OUT_OF_ORDER: return cp::checkpoint_status::out_of_order;
    case s::CheckpointStatus::CHANNEL_GAP: return cp::checkpoint_status::channel_gap;
    case s::CheckpointStatus::TOO_MANY_IN_FLIGHT: return cp::checkpoint_status::too_many_in_flight;
  }
  return detail::unknown_enum(where, static_cast<unsigned>(status));
}

s::CommandKind to_schema(cp::command_kind kind) {
  switch (kind) {
    case cp::command_kind::take: return s::CommandKind::TAKE;
    case cp::command_kind::abort: return s::CommandKind::ABORT;
    case cp::command_kind::release: return s::CommandKind::RELEASE;
  }
  return s::CommandKind::ABORT;
}

result<cp::command_kind> from_schema(s::CommandKind kind) {
  switch (kind) {
    case s::CommandKind::TAKE: return cp::command_kind::take;
    case s::CommandKind::ABORT: return cp::command_kind::abort;
    case s::CommandKind::RELEASE: return cp::command_kind::release;
  }
  return detail::unknown_enum("Command.kind", static_cast<unsigned>(kind));
}

s::ReportKind to_schema(cp::report_kind kind) {
  return kind == cp::report_kind::late_channels ? s::ReportKind::LATE_CHANNELS : s::ReportKind::FULL;
}

result<cp::report_kind> from_schema(s::ReportKind kind) {
  switch (kind) {
    case s::ReportKind::FULL: return cp::report_kind::full;
    case s::ReportKind::LATE_CHANNELS: return cp::report_kind::late_channels;
  }
  return detail::unknown_enum("Report.kind", static_cast<unsigned>(kind));
}

// --- writers -------------------------------------------------------------------------------------

void write(s::Envelope::Builder b, const cp::envelope& env) {
  b.setFrom(env.from);
  b.setTo(env.to);
  b.setSequence(env.sequence);
  b.setEpoch(env.epoch);
  b.setLamport(env.lamport);
  auto clock = b.initVectorClock(static_cast<unsigned>(env.vector_clock.size()));
  for (unsigned i = 0; i < clock.size(); ++i) {
    clock[i].setParticipant(env.vector_clock[i].participant);
    clock[i].setCounter(env.vector_clock[i].counter);
  }
  b.setPayload(as_data(env.payload));
}

void write(s::Marker::Builder b, const cp::marker& mark) {
  b.setCheckpointId(mark.id);
  b.setInitiator(mark.initiator);
  b.setFrom(mark.from);
  b.setTo(mark.to);
  b.setEpoch(mark.epoch);
}

void write(s::MarkerRun::Builder b, const cp::marker_run& run) {
  assert(run.from.size() == run.to.size() && "a marker run names both ends of each channel");
  b.setCheckpointId(run.id);
  b.setInitiator(run.initiator);
  b.setEpoch(run.epoch);
  auto from = b.initFrom(static_cast<unsigned>(run.from.size()));
  auto to = b.initTo(static_cast<unsigned>(run.to.size()));
  for (unsigned i = 0; i < from.size(); ++i) {
    from.set(i, run.from[i]);
    to.set(i, run.to[i]);
  }
}

void write(s::Command::Builder b, const cp::checkpoint_command& command) {
  b.setCheckpointId(command.id);
  b.setInitiator(command.initiator);
  b.setKind(to_schema(command.kind));
  b.setReason(to_schema(command.reason));
}

void write(s::Report::Builder b, const cp::participant_report& report) {
  b.setCheckpointId(report.id);
  b.setParticipant(report.participant);
  b.setKind(to_schema(report.kind));
  b.setStatus(to_schema(report.status));
  b.setDetail(detail::as_text(report.detail));
  b.setLocalState(as_data(report.local_state));
  auto channels = b.initChannels(static_cast<unsigned>(report.channels.size()));
  for (unsigned i = 0; i < channels.size(); ++i) {
    const cp::recorded_channel& channel = report.channels[i];
    channels[i].setFrom(channel.from);
    auto messages = channels[i].initMessages(static_cast<unsigned>(channel.messages.size()));
    for (unsigned j = 0; j < messages.size(); ++j) write(messages[j], channel.messages[j]);
  }
  auto sent_to = b.initMarkersSentTo(static_cast<unsigned>(report.markers_sent_to.size()));
  for (unsigned i = 0; i < sent_to.size(); ++i) sent_to.set(i, report.markers_sent_to[i]);
}

void write(s::Restore::Builder b, const cp::restore_order& order) {
  b.setCheckpointId(order.checkpoint);
  b.setParticipant(order.participant);
  b.setLocalState(as_data(order.local_state));
  auto deliveries = b.initDeliveries(static_cast<unsigned>(order.deliveries.size()));
  for (unsigned i = 0; i < deliveries.size(); ++i) write(deliveries[i], order.deliveries[i]);
}

template <class Body>
message build_with(const Body& body) {
  return detail::build<s::CheckpointMessage>([&](s::CheckpointMessage::Builder root) {
    auto b = root.initBody();
    if constexpr (std::is_same_v<Body, cp::envelope>) {
      write(b.initEnvelope(), body);
    } else if constexpr (std::is_same_v<Body, cp::marker>) {
      write(b.initMarker(), body);
    } else if constexpr (std::is_same_v<Body, cp::marker_run>) {
      write(b.initMarkerRun(), body);
    } else if constexpr (std::is_same_v<Body, cp::report_run>) {
      auto reports = b.initReportRun(static_cast<unsigned>(body.reports.size()));
      for (unsigned i = 0; i < reports.size(); ++i) write(reports[i], body.reports[i]);
    } else if constexpr (std::is_same_v<Body, cp::checkpoint_command>) {
      write(b.initCommand(), body);
    } else if constexpr (std::is_same_v<Body, cp::participant_report>) {
      write(b.initReport(), body);
    } else if constexpr (std::is_same_v<Body, cp::restore_order>) {
      write(b.initRestore(), body);
    } else if constexpr (std::is_same_v<Body, cp::host_ready>) {
      auto r = b.initHostReady();
      r.setNode(body.node);
      r.setInstance(body.instance);
    } else if constexpr (std::is_same_v<Body, cp::start_traffic>) {
      b.initStart().setRestoredFrom(body.restored_from);
    } else if constexpr (std::is_same_v<Body, cp::rollback>) {
      auto r = b.initRollback();
      r.setGeneration(body.generation);
      r.setCheckpointId(body.checkpoint);
    } else if constexpr (std::is_same_v<Body, cp::generation_fence>) {
      auto f = b.initFence();
      f.setNode(body.node);
      f.setGeneration(body.generation);
    } else {
      static_assert(std::is_same_v<Body, cp::rolled_back>);
      auto d = b.initRolledBack();
      d.setNode(body.node);
      d.setGeneration(body.generation);
      d.setRestored(body.restored);
    }
  });
}

// --- readers -------------------------------------------------------------------------------------

cp::envelope read(s::Envelope::Reader r) {
  cp::envelope env;
  env.from = r.getFrom();
  env.to = r.getTo();
  env.sequence = r.getSequence();
  env.epoch = r.getEpoch();
  env.lamport = r.getLamport();
  auto clock = r.getVectorClock();
  detail::require_list_fits(clock, "Envelope.vectorClock");
  env.vector_clock.reserve(clock.size());
  for (auto entry : clock) env.vector_clock.push_back({entry.getParticipant(), entry.getCounter()});
  env.payload = to_bytes(r.getPayload());
  return env;
}

cp::marker read(s::Marker::Reader r) {
  return cp::marker{r.getCheckpointId(), r.getInitiator(), r.getFrom(), r.getTo(), r.getEpoch()};
}

result<cp::marker_run> read(s::MarkerRun::Reader r) {
  auto from = r.getFrom();
  auto to = r.getTo();
  detail::require_list_fits(from, "MarkerRun.from");
  detail::require_list_fits(to, "MarkerRun.to");
  if (from.size() != to.size()) {
    return make_error(errc::malformed, "MarkerRun: " + std::to_string(from.size()) + " senders, " +
                                           std::to_string(to.size()) + " receivers");
  }
  cp::marker_run run{r.getCheckpointId(), r.getInitiator(), r.getEpoch(), {}, {}};
  run.from.reserve(from.size());
  run.to.reserve(to.size());
  for (auto id : from) run.from.push_back(id);
  for (auto id : to) run.to.push_back(id);
  return run;
}

result<cp::checkpoint_command> read(s::Command::Reader r) {
  auto kind = from_schema(r.getKind());
  if (!kind) return kind.err();
  auto reason = from_schema(r.getReason(), "Command.reason");
  if (!reason) return reason.err();
  return cp::checkpoint_command{r.getCheckpointId(), r.getInitiator(), *kind, *reason};
}

result<cp::participant_report> read(s::Report::Reader r) {
  cp::participant_report report;
  report.id = r.getCheckpointId();
  report.participant = r.getParticipant();
  auto kind = from_schema(r.getKind());
  if (!kind) return kind.err();
  report.kind = *kind;
  auto status = from_schema(r.getStatus(), "Report.status");
  if (!status) return status.err();
  report.status = *status;
  report.detail = to_string(r.getDetail());
  report.local_state = to_bytes(r.getLocalState());
  auto channels = r.getChannels();
  detail::require_list_fits(channels, "Report.channels");
  report.channels.reserve(channels.size());
  for (auto channel : channels) {
    cp::recorded_channel out;
    out.from = channel.getFrom();
    auto messages = channel.getMessages();
    detail::require_list_fits(messages, "RecordedChannel.messages");
    out.messages.reserve(messages.size());
    for (auto m : messages) out.messages.push_back(read(m));
    report.channels.push_back(std::move(out));
  }
  auto sent_to = r.getMarkersSentTo();
  detail::require_list_fits(sent_to, "Report.markersSentTo");
  report.markers_sent_to.reserve(sent_to.size());
  for (auto id : sent_to) report.markers_sent_to.push_back(id);
  return report;
}

cp::restore_order read(s::Restore::Reader r) {
  cp::restore_order order;
  order.checkpoint = r.getCheckpointId();
  order.participant = r.getParticipant();
  order.local_state = to_bytes(r.getLocalState());
  auto deliveries = r.getDeliveries();
  detail::require_list_fits(deliveries, "deliveries");
  order.deliveries.reserve(deliveries.size());
  for (auto m : deliveries) order.deliveries.push_back(read(m));
  return order;
}

result<checkpoint_message> read_message(s::CheckpointMessage::Reader r) {
  auto body = r.getBody();
  checkpoint_message out;
  switch (body.which()) {
    case s::CheckpointMessage::Body::ENVELOPE:
      out.emplace<cp::envelope>(read(body.getEnvelope()));
      break;
    case s::CheckpointMessage::Body::MARKER: out.emplace<cp::marker>(read(body.getMarker())); break;
    case s::CheckpointMessage::Body::MARKER_RUN: {
      auto run = read(body.getMarkerRun());
      if (!run) return run.err();
      out.emplace<cp::marker_run>(std::move(*run));
      break;
    }
    case s::CheckpointMessage::Body::REPORT_RUN: {
      auto reports = body.getReportRun();
      detail::require_list_fits(reports, "CheckpointMessage.reportRun");
      cp::report_run run;
      run.reports.reserve(reports.size());
      for (auto element : reports) {
        auto report = read(element);
        if (!report) return report.err();
        run.reports.push_back(std::move(*report));
      }
      out.emplace<cp::report_run>(std::move(run));
      break;
    }
    case s::CheckpointMessage::Body::COMMAND: {
      auto command = read(body.getCommand());
      if (!command) return command.err();
      out.emplace<cp::checkpoint_command>(std::move(*command));
      break;
    }
    case s::CheckpointMessage::Body::REPORT: {
      auto report = read(body.getReport());
      if (!report) return report.err();
      out.emplace<cp::participant_report>(std::move(*report));
      break;
    }
    case s::CheckpointMessage::Body::RESTORE:
      out.emplace<cp::restore_order>(read(body.getRestore()));
      break;
    case s::CheckpointMessage::Body::HOST_READY: {
      auto ready = body.getHostReady();
      out.emplace<cp::host_ready>(cp::host_ready{ready.getNode(), ready.getInstance()});
      break;
    }
    case s::CheckpointMessage::Body::START:
      out.emplace<cp::start_traffic>(cp::start_traffic{body.getStart().getRestoredFrom()});
      break;
    case s::CheckpointMessage::Body::ROLLBACK: {
      auto order = body.getRollback();
      out.emplace<cp::rollback>(cp::rollback{order.getGeneration(), order.getCheckpointId()});
      break;
    }
    case s::CheckpointMessage::Body::FENCE: {
      auto f = body.getFence();
      out.emplace<cp::generation_fence>(cp::generation_fence{f.getNode(), f.getGeneration()});
      break;
    }
    case s::CheckpointMessage::Body::ROLLED_BACK: {
      auto d = body.getRolledBack();
      out.emplace<cp::rolled_back>(cp::rolled_back{d.getNode(), d.getGeneration(), d.getRestored()});
      break;
    }
    case s::CheckpointMessage::Body::BATCH:
      return make_error(errc::invalid_argument, "a batch of checkpoint frames, not one frame");
    default:
      return detail::unknown_tag("CheckpointMessage.body", static_cast<unsigned>(body.which()));
  }
  return out;
}

}  // namespace

message encode(const checkpoint::envelope& env) { return build_with(env); }
message encode(const checkpoint::marker& mark) { return build_with(mark); }
message encode(const checkpoint::checkpoint_command& command) { return build_with(command); }
message encode(const checkpoint::participant_report& report) { return build_with(report); }
message encode(const checkpoint::restore_order& order) { return build_with(order); }
message encode(const checkpoint::host_ready& ready) { return build_with(ready); }
message encode(const checkpoint::start_traffic& start) { return build_with(start); }
message encode(const checkpoint::rollback& order) { return build_with(order); }
message encode(const checkpoint::generation_fence& fence) { return build_with(fence); }
message encode(const checkpoint::rolled_back& done) { return build_with(done); }
message encode(const checkpoint::marker_run& run) { return build_with(run); }
message encode(const checkpoint::report_run& run) { return build_with(run); }

message encode(const checkpoint_message& msg) {
  return std::visit([](const auto& body) { return build_with(body); }, msg);
}

result<checkpoint_message> decode_checkpoint_message(const message& msg) {
  return detail::guarded_decode<s::CheckpointMessage>(msg, "CheckpointMessage", read_message);
}

message encode_checkpoint_batch(const std::vector<message>& frames) {
  capnp::MallocMessageBuilder builder;
  auto list = builder.initRoot<s::CheckpointMessage>().initBody().initBatch(
      static_cast<unsigned>(frames.size()));
  for (unsigned i = 0; i < list.size(); ++i) {
    auto bytes = frames[i].bytes();
    list.set(i, capnp::Data::Reader(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
  }
  return message::from_builder(builder);
}

bool is_checkpoint_batch(const message& msg) {
  if (msg.empty()) return false;
  try {
    return msg.root<s::CheckpointMessage>().getBody().which() == s::CheckpointMessage::Body::BATCH;
  } catch (const kj::Exception&) {
    return false;
  }
}

result<std::vector<message>> decode_checkpoint_batch(const message& msg) {
  return detail::guarded_decode<s::CheckpointMessage>(
      msg, "CheckpointMessage batch",
      [](s::CheckpointMessage::Reader r) -> result<std::vector<message>> {
        auto body = r.getBody();
        if (body.which() != s::CheckpointMessage::Body::BATCH) {
          return make_error(errc::malformed, "not a batch of checkpoint frames");
        }
        auto list = body.getBatch();
        detail::require_list_fits(list, "CheckpointMessage.batch");
        std::vector<message> frames;
        frames.reserve(list.size());
        for (auto data : list) {
          auto frame = message::parse(
              std::span<const std::byte>(reinterpret_cast<const std::byte*>(data.begin()), data.size()));
          if (!frame) return make_error(errc::malformed, "a frame in a batch: " + frame.err().message);
          if (is_checkpoint_batch(*frame)) return make_error(errc::malformed, "a batch inside a batch");
          frames.push_back(std::move(*frame));
        }
        return frames;
      });
}

}  // namespace troupe::wire
