#include "snapshot/core/participant.hpp"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

namespace troupe::checkpoint {

namespace {

std::string id_text(std::uint64_t id) {
  return std::to_string(id);
}

}  // namespace

participant::participant(participant_config config, capture_fn capture)
    : config_(std::move(config)), capture_(std::move(capture)) {
  assert(config_.self != no_participant && "a participant needs a non-zero id");
  assert(capture_ && "a participant needs a capture function");
  assert(config_.in_flight_max > 0 && config_.finished_ids_max > 0);
  for (auto from : config_.incoming) {
    assert(from != config_.self && from != no_participant);
    incoming_.try_emplace(from);
  }
  for (auto to : config_.outgoing) {
    assert(to != config_.self && to != no_participant);
    outgoing_sequence_.try_emplace(to, 0);
  }
}

stamped_envelope participant::stamp(participant_id to, envelope message) {
  assert(to != config_.self && to != no_participant && "no channel to self or to nobody");
  stamped_envelope out;
  auto [it, first_use] = outgoing_sequence_.try_emplace(to, 0);
  if (first_use) {
    // A channel used for the first time joins the outgoing set: it gets markers from the next
    // recording on; envelopes sent on it before that carry an epoch below that checkpoint, so its
    // receiver treats them as in flight (README.md "learned channels"). For checkpoints already
    // recorded and still held, a marker now tells the receiver before this envelope does: the
    // envelope's epoch alone would make it record the newest one first and give up the older
    // ones as out of order. Each marker carries its own id as epoch, in ascending order, for the
    // same reason. The channel holds no state for them (nothing was sent on it before).
    for (const auto& [id, r] : records_) {
      out.markers.push_back(marker{id, r.initiator, config_.self, to, id});
    }
  }
  message.from = config_.self;
  message.to = to;
  message.sequence = ++it->second;
  message.epoch = epoch_;
  out.message = std::move(message);
  return out;
}

participant_output participant::on_envelope(const envelope& message) {
  assert(message.to == config_.self && "envelope delivered to the wrong participant");
  assert(message.from != config_.self && message.from != no_participant);
  return on_channel_event(message.from, message.epoch, &message, nullptr);
}

participant_output participant::on_marker(const marker& m) {
  assert(m.to == config_.self && "marker delivered to the wrong participant");
  assert(m.from != config_.self && m.from != no_participant && m.id != 0);
  // A marker for `id` is sent right after its sender recorded `id`, so the sender's epoch is >= id.
  return on_channel_event(m.from, std::max(m.epoch, m.id), nullptr, &m);
}

participant_output participant::on_channel_event(participant_id from, checkpoint_id sender_epoch,
                                                 const envelope* message, const marker* m) {
  participant_output out;
  auto& in = incoming_[from];  // learns the channel `from -> self` if it is new
  if (message != nullptr) {
    // Chandy-Lamport needs FIFO channels (section 2). A skipped sequence number means a message was
    // lost (e.g. a reconnect dropped socket buffers): no checkpoint held here can be complete.
    if (!in.resync && message->sequence != in.last_sequence + 1) {
      abort_all(checkpoint_status::channel_gap,
                "channel " + id_text(from) + "->" + id_text(config_.self) + ": expected sequence " +
                    id_text(in.last_sequence + 1) + ", got " + id_text(message->sequence),
                out);
    }
    in.last_sequence = message->sequence;
    in.resync = false;
    // The common case, checkpoints held or not: the sender had recorded every checkpoint held here
    // and an earlier event on this channel already stopped its recording for each of them. Nothing
    // is recorded (no held id above the sender's epoch), nothing stops, nothing is reported: the
    // walk below would change nothing, so each envelope costs O(1) in the checkpoints held.
    if (sender_epoch <= epoch_ && out.reports.empty() &&
        (records_.empty() || (in.closed_through >= records_.rbegin()->first &&
                              sender_epoch >= records_.rbegin()->first))) {
      in.closed_through = std::max(in.closed_through, sender_epoch);
      return out;
    }
  }
  in.closed_through = std::max(in.closed_through, sender_epoch);
  if (m != nullptr && !records_.contains(m->id)) {
    // Marker receiving rule (section 3): on the first marker for a checkpoint, record now. The
    // channel it came on is then closed, empty, by the loop below (its id <= sender_epoch).
    if (m->id > epoch_ && !finished(m->id)) {
      record_now(m->id, m->initiator, out);
    } else if (!finished(m->id)) {
      // Recording it now would be after states already sent under a later epoch: give it up.
      out.reports.push_back(header(
          m->id, checkpoint_status::out_of_order,
          "first marker arrived after checkpoint " + id_text(epoch_) + " was recorded here"));
      remember_finished(m->id);
    }
  }
  if (sender_epoch > epoch_) {
    // Lai & Yang's rule: the sender recorded `sender_epoch` before sending this, so delivering it
    // unrecorded would put a message received inside the cut whose send is outside it. Record
    // first, exactly as if this were that checkpoint's first marker.
    if (finished(sender_epoch)) {
      epoch_ = sender_epoch;  // aborted before we heard of it: nothing to record, never record it
    } else {
      record_now(sender_epoch, no_participant, out);
    }
  }
  struct violation {
    checkpoint_id id;
    checkpoint_status status;
    std::string detail;
  };
  std::vector<violation> violations;
  for (auto& [id, r] : records_) {
    if (id <= sender_epoch) {
      // The sender had recorded `id` before this event: by FIFO, everything it sent before its
      // marker for `id` has arrived, so the channel's recording for `id` stops here (marker or
      // not).
      note_channel_closed(r, from);
    } else if (message != nullptr) {
      // Sent before the sender recorded `id`, received after we did: in-flight state of `id`.
      auto& channel = recording_of(r, from);
      if (!channel.open) {
        violations.push_back({id, checkpoint_status::channel_gap,
                              "envelope with epoch " + id_text(sender_epoch) + " after the " +
                                  "marker of checkpoint " + id_text(id) + " on channel " +
                                  id_text(from) + "->" + id_text(config_.self)});
        continue;
      }
      channel.messages.push_back(*message);
      r.messages += 1;
      r.bytes_total += message->payload.size();
      if (r.messages > config_.recorded_messages_max ||
          r.bytes_total > config_.recorded_bytes_max) {
        violations.push_back({id, checkpoint_status::bound_exceeded,
                              "recorded channel state " + id_text(r.messages) + " messages, " +
                                  id_text(r.bytes_total) + " bytes: over the bound of " +
                                  id_text(config_.recorded_messages_max) + " messages, " +
                                  id_text(config_.recorded_bytes_max) + " bytes"});
      }
    } else {
      // A marker of an older checkpoint from a channel this record did not know: the sender has not
      // recorded `id` yet, so this channel must be recorded until its marker for `id` arrives.
      recording_of(r, from);
    }
  }
  for (auto& v : violations) abort_record(v.id, v.status, std::move(v.detail), out);
  report_progress(out);
  return out;
}

participant_output participant::on_command(const checkpoint_command& command) {
  participant_output out;
  const auto id = command.id;
  assert(id != 0 && "checkpoint ids start at 1");
  switch (command.kind) {
    case command_kind::take:
      // "Records its state when the coordinator asks or on its first marker, whichever comes
      // first."
      if (records_.contains(id) || finished(id)) break;
      if (id > epoch_) {
        record_now(id, command.initiator, out);
      } else {
        out.reports.push_back(
            header(id, checkpoint_status::out_of_order,
                   "asked after checkpoint " + id_text(epoch_) + " was recorded here"));
        remember_finished(id);
      }
      break;
    case command_kind::abort:
    case command_kind::release:
      // Both end the checkpoint here; the coordinator already knows, so no report. Remembering the
      // id makes markers still in flight for it harmless.
      records_.erase(id);
      remember_finished(id);
      break;
  }
  report_progress(out);
  return out;
}

participant_output participant::on_peer_lost(participant_id peer) {
  participant_output out;
  abort_all(checkpoint_status::peer_lost, "peer " + id_text(peer) + " lost", out);
  if (auto it = incoming_.find(peer); it != incoming_.end()) {
    it->second.resync = true;  // the channel restarts: accept whatever sequence comes next
  }
  return out;
}

void participant::record_now(checkpoint_id id, participant_id initiator, participant_output& out) {
  assert(id > epoch_ && "recordings happen in increasing id order");
  epoch_ = id;
  if (records_.size() >= config_.in_flight_max) {
    out.reports.push_back(header(id, checkpoint_status::too_many_in_flight,
                                 id_text(records_.size()) + " checkpoints already held here"));
    remember_finished(id);
    return;
  }
  record r;
  r.id = id;
  r.initiator = initiator;
  r.local_state = capture_();
  // Marker sending rule (section 3): after recording, a marker on every outgoing channel before any
  // further message on it. The caller sends these before it delivers anything or sends anything.
  for (const auto& [to, last_sequence] : outgoing_sequence_) {
    out.markers.push_back(marker{id, initiator, config_.self, to, epoch_});
    r.markers_sent_to.push_back(to);
  }
  // Start recording every known incoming channel; the caller closes the one the marker came on.
  r.channels.reserve(incoming_.size());
  for (const auto& [from, state] : incoming_) recording_of(r, from);
  records_.emplace(id, std::move(r));
}

participant::channel_recording& participant::recording_of(record& r, participant_id from) {
  // The reference is valid until the next insertion into `r.channels`: callers use it at once.
  auto it = std::lower_bound(r.channels.begin(), r.channels.end(), from,
                             [](const auto& entry, participant_id p) { return entry.first < p; });
  if (it == r.channels.end() || it->first != from) {
    it = r.channels.emplace(it, from, channel_recording{});
    ++r.open_channels;
  }
  return it->second;
}

void participant::note_channel_closed(record& r, participant_id from) {
  auto& channel = recording_of(r, from);
  if (!channel.open) return;
  channel.open = false;
  --r.open_channels;
  ++r.closed_unreported;
}

void participant::report_progress(participant_output& out) {
  for (auto& [id, r] : records_) {
    if (!r.full_report_sent) {
      // "Reports when all have stopped": every incoming channel it knows has had its marker.
      if (r.open_channels > 0) continue;
      auto report = header(id, checkpoint_status::ok, {});
      report.local_state = std::move(r.local_state);
      r.local_state.clear();
      report.markers_sent_to = r.markers_sent_to;
      for (auto& [from, channel] : r.channels) {
        report.channels.push_back(recorded_channel{from, std::move(channel.messages)});
        channel.messages.clear();
        channel.reported = true;
      }
      r.closed_unreported = 0;
      r.full_report_sent = true;
      out.reports.push_back(std::move(report));
      continue;
    }
    // After the full report: a channel learned since then reports once its recording stops.
    if (r.closed_unreported == 0) continue;
    auto late = header(id, checkpoint_status::ok, {});
    late.kind = report_kind::late_channels;
    for (auto& [from, channel] : r.channels) {
      if (channel.open || channel.reported) continue;
      late.channels.push_back(recorded_channel{from, std::move(channel.messages)});
      channel.messages.clear();
      channel.reported = true;
    }
    r.closed_unreported = 0;
    if (late.channels.empty()) continue;
    out.reports.push_back(std::move(late));
  }
}

void participant::abort_record(checkpoint_id id, checkpoint_status status, std::string detail,
                               participant_output& out) {
  assert(status != checkpoint_status::ok);
  out.reports.push_back(header(id, status, std::move(detail)));
  records_.erase(id);
  remember_finished(id);
}

void participant::abort_all(checkpoint_status status, const std::string& detail,
                            participant_output& out) {
  std::vector<checkpoint_id> ids;
  for (const auto& [id, r] : records_) ids.push_back(id);
  for (auto id : ids) abort_record(id, status, detail, out);
}

void participant::remember_finished(checkpoint_id id) {
  if (!finished_.insert(id).second) return;
  finished_order_.push_back(id);
  // Bounded memory: forgetting a very old id only risks an extra out_of_order report for it.
  while (finished_order_.size() > config_.finished_ids_max) {
    finished_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

bool participant::finished(checkpoint_id id) const {
  return finished_.contains(id);
}

participant_report participant::header(checkpoint_id id, checkpoint_status status,
                                       std::string detail) const {
  participant_report report;
  report.id = id;
  report.participant = config_.self;
  report.kind = report_kind::full;
  report.status = status;
  report.detail = std::move(detail);
  return report;
}

std::vector<checkpoint_id> participant::in_flight() const {
  std::vector<checkpoint_id> ids;
  for (const auto& [id, r] : records_) ids.push_back(id);
  return ids;
}

bool participant::recording(checkpoint_id id) const {
  auto it = records_.find(id);
  if (it == records_.end()) return false;
  return it->second.open_channels > 0;
}

std::vector<participant_id> participant::incoming_channels() const {
  std::vector<participant_id> ids;
  for (const auto& [from, state] : incoming_) ids.push_back(from);
  return ids;
}

std::vector<participant_id> participant::outgoing_channels() const {
  std::vector<participant_id> ids;
  for (const auto& [to, sequence] : outgoing_sequence_) ids.push_back(to);
  return ids;
}

status participant::check_invariants() const {
  auto broken = [this](const std::string& what) {
    return make_error(errc::internal,
                      "participant " + id_text(config_.self) + " invariant broken: " + what);
  };
  if (records_.size() > config_.in_flight_max) return broken("more checkpoints held than allowed");
  if (finished_.size() != finished_order_.size() || finished_.size() > config_.finished_ids_max) {
    return broken("finished-id memory out of step or over its bound");
  }
  for (const auto& [id, r] : records_) {
    const auto name = "checkpoint " + id_text(id) + ": ";
    if (r.id != id || id == 0) return broken(name + "record keyed under another id");
    if (id > epoch_) return broken(name + "held above the epoch");
    if (finished(id)) return broken(name + "both held and finished");
    if (r.messages > config_.recorded_messages_max || r.bytes_total > config_.recorded_bytes_max) {
      return broken(name + "recorded channel state over its bound");
    }
    std::size_t held_messages = 0;
    bool any_open = false;
    std::size_t open = 0;
    std::size_t closed_unreported = 0;
    if (std::adjacent_find(r.channels.begin(), r.channels.end(), [](const auto& a, const auto& b) {
          return a.first >= b.first;
        }) != r.channels.end()) {
      return broken(name + "channel recordings not ascending and unique");
    }
    for (const auto& [from, channel] : r.channels) {
      if (!incoming_.contains(from)) return broken(name + "records an unknown channel");
      open += channel.open ? 1 : 0;
      closed_unreported += !channel.open && !channel.reported ? 1 : 0;
      if (!channel.open && incoming_.at(from).closed_through < id) {
        return broken(name + "a channel stopped below its sender's epoch");
      }
      if (channel.open && channel.reported) return broken(name + "reported an open channel");
      if (!channel.open && !channel.reported && r.full_report_sent) {
        return broken(name + "a closed late channel was not reported");
      }
      any_open |= channel.open;
      held_messages += channel.messages.size();
      std::uint64_t previous = 0;
      for (const auto& message : channel.messages) {
        // Only messages sent before their sender recorded this checkpoint are channel state.
        if (message.from != from || message.epoch >= id) {
          return broken(name + "recorded a message that is not in flight");
        }
        if (message.sequence <= previous) return broken(name + "recorded out of channel order");
        previous = message.sequence;
      }
    }
    if (open != r.open_channels || closed_unreported != r.closed_unreported) {
      return broken(name + "open / unreported channel counts out of step");
    }
    if (held_messages > r.messages) return broken(name + "message count below what is held");
    if (!r.full_report_sent && !any_open) return broken(name + "finished recording but unreported");
    for (auto to : r.markers_sent_to) {
      if (!outgoing_sequence_.contains(to)) return broken(name + "marker sent on unknown channel");
    }
  }
  return status::success();
}

}  // namespace troupe::checkpoint
