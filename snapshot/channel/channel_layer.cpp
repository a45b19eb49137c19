#include "snapshot/channel/channel_layer.hpp"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>

#include "runtime/wire/checkpoint_codec.hpp"

namespace troupe::checkpoint::channel {

namespace {
std::string id_text(std::uint64_t id) { return std::to_string(id); }
}  // namespace

channel_layer::channel_layer(layer_config config) : config_(std::move(config)) {}

participant_config channel_layer::config_for(participant_id id,
                                             const participant_hooks& hooks) const {
  participant_config c = config_.limits;
  c.self = id;
  c.incoming = hooks.incoming;
  c.outgoing = hooks.outgoing;
  return c;
}

status channel_layer::add(participant_id id, participant_hooks hooks) {
  auto node = config_.members.node_of(id);
  if (!node || *node != config_.self) {
    return make_error(errc::invalid_argument,
                      "participant " + id_text(id) + " is not placed on node " + id_text(config_.self));
  }
  if (!hooks.capture || !hooks.restore || !hooks.deliver) {
    return make_error(errc::invalid_argument, "participant " + id_text(id) + ": missing hook");
  }
  if (hosted_.contains(id)) return make_error(errc::busy, "participant " + id_text(id) + " hosted twice");
  auto config = config_for(id, hooks);
  participant core(std::move(config), hooks.capture);
  hosted_.emplace(id, hosted{std::move(core), std::move(hooks), !config_.await_restore});
  if (config_.await_restore) ++awaiting_;
  return {};
}

status channel_layer::send(participant_id from, participant_id to, bytes payload) {
  auto it = hosted_.find(from);
  if (it == hosted_.end()) {
    return make_error(errc::invalid_argument, "participant " + id_text(from) + " is not hosted here");
  }
  if (!config_.members.contains(to) || to == from) {
    return make_error(errc::invalid_argument, "no participant " + id_text(to) + " to send to");
  }
  if (!started_) return make_error(errc::busy, "application traffic has not started");
  if (!it->second.restored) {
    return make_error(errc::busy, "participant " + id_text(from) + " awaits its restore");
  }
  envelope e;
  e.payload = std::move(payload);
  auto stamped = it->second.core.stamp(to, std::move(e));
  // Markers `stamp` returns go first: the channel's first envelope must not overtake them (the
  // marker sending rule, Chandy & Lamport section 3; snapshot/README.md "first use").
  for (auto& m : stamped.markers) {
    ++stats_.markers;
    if (auto node = config_.members.node_of(m.to)) queue_marker(*node, m);
  }
  ++stats_.sent;
  to_host(to, wire::encode(stamped.message));
  return {};
}

void channel_layer::to_host(participant_id to, wire::message frame) {
  auto node = config_.members.node_of(to);
  // Callers checked `to` against the directory (send) or the core only names known channels.
  if (!node) return;
  queue(*node, host_endpoint, std::move(frame));
}

void channel_layer::queue(node_id node, std::string_view endpoint, wire::message frame) {
  if (endpoint == host_endpoint) open_run_.erase(node);
  if (endpoint == coordinator_endpoint) open_report_run_.reset();
  outbox_.push_back({node, endpoint, std::move(frame), std::nullopt, std::nullopt});
}

void channel_layer::queue_report(participant_report report) {
  if (config_.batch_max_frames <= 1) {
    queue(config_.coordinator, coordinator_endpoint, wire::encode(report));
    return;
  }
  std::size_t bytes = 64 + report.local_state.size() + report.detail.size() +
                      8 * report.markers_sent_to.size();
  for (const auto& c : report.channels) {
    bytes += 16;
    for (const auto& m : c.messages) bytes += 64 + m.payload.size();
  }
  // Appended to the run that is the last frame queued for the coordinator: the order of the
  // host's frames to it is unchanged, only their encoding (README.md "report runs").
  if (open_report_run_ && open_report_run_bytes_ + bytes <= config_.batch_max_bytes &&
      report_runs_[*open_report_run_].reports.size() < config_.batch_max_frames) {
    report_runs_[*open_report_run_].reports.push_back(std::move(report));
    open_report_run_bytes_ += bytes;
    return;
  }
  report_runs_.push_back(report_run{});
  report_runs_.back().reports.push_back(std::move(report));
  outbox_.push_back({config_.coordinator, coordinator_endpoint, wire::message{}, std::nullopt,
                     report_runs_.size() - 1});
  open_report_run_ = report_runs_.size() - 1;
  open_report_run_bytes_ = bytes;
}

void channel_layer::queue_marker(node_id node, const marker& m) {
  if (config_.batch_max_frames <= 1) {
    queue(node, host_endpoint, wire::encode(m));
    return;
  }
  // Marker runs (README.md): a marker appended to the run that is the last frame queued for this
  // host stands exactly where a frame of its own would: after everything queued for that host
  // before it, before anything queued after it. Its channel's FIFO order is unchanged.
  if (auto open = open_run_.find(node); open != open_run_.end()) {
    auto& run = runs_[open->second];
    if (run.id == m.id && run.initiator == m.initiator && run.epoch == m.epoch &&
        run.from.size() * 16 < config_.batch_max_bytes) {
      run.from.push_back(m.from);
      run.to.push_back(m.to);
      return;
    }
  }
  runs_.push_back(marker_run{m.id, m.initiator, m.epoch, {m.from}, {m.to}});
  outbox_.push_back({node, host_endpoint, wire::message{}, runs_.size() - 1, std::nullopt});
  open_run_[node] = runs_.size() - 1;
}

void channel_layer::carry_out(participant_output out) {
  // The order the core demands (participant.hpp): markers, then reports; the caller delivers the
  // input envelope afterwards.
  for (auto& m : out.markers) {
    ++stats_.markers;
    // The core only names known channels, whose receivers the directory places.
    if (auto node = config_.members.node_of(m.to)) queue_marker(*node, m);
  }
  for (auto& r : out.reports) {
    ++stats_.reports;
    queue_report(std::move(r));
  }
}

result<channel_layer::hosted*> channel_layer::check_channel(node_id source, participant_id from,
                                                            participant_id to) {
  auto it = hosted_.find(to);
  if (it == hosted_.end()) {
    return make_error(errc::invalid_argument, "participant " + id_text(to) + " is not hosted here");
  }
  auto node = config_.members.node_of(from);
  if (!node || from == to) {
    return make_error(errc::invalid_argument, "unknown sender " + id_text(from));
  }
  if (*node != source) {
    return make_error(errc::invalid_argument, "participant " + id_text(from) + " lives on node " +
                                                  id_text(*node) + ", not on node " + id_text(source));
  }
  return &it->second;
}

status channel_layer::on_message(node_id source, const wire::message& frame) {
  if (!wire::is_checkpoint_batch(frame)) return on_frame(source, frame);
  auto frames = wire::decode_checkpoint_batch(frame);
  if (!frames) return frames.err();
  status first;
  for (auto& f : *frames) {
    if (auto st = on_frame(source, f); !st && first) first = st;
  }
  return first;
}

status channel_layer::on_frame(node_id source, const wire::message& frame) {
  auto decoded = wire::decode_checkpoint_message(frame);
  if (!decoded) return decoded.err();
  if (auto* order = std::get_if<restore_order>(&*decoded)) {
    if (source != config_.coordinator) {
      return make_error(errc::invalid_argument, "restore order from node " + id_text(source) +
                                                    ", not the coordinator's");
    }
    return on_restore(*order);
  }
  if (auto* command = std::get_if<checkpoint_command>(&*decoded)) {
    if (source != config_.coordinator) {
      return make_error(errc::invalid_argument,
                        "command from node " + id_text(source) + ", not the coordinator's");
    }
    if (command->id == 0) return make_error(errc::invalid_argument, "command for checkpoint 0");
    // One command per node stands for the same command to each participant hosted here: every
    // hosted participant belongs to every checkpoint (the coordinator asks all of them).
    for (auto& [id, h] : hosted_) carry_out(h.core.on_command(*command));
    return {};
  }
  if (std::holds_alternative<start_traffic>(*decoded)) {
    if (source != config_.coordinator) {
      return make_error(errc::invalid_argument,
                        "start from node " + id_text(source) + ", not the coordinator's");
    }
    started_ = true;
    if (rollback_unconfirmed_) {
      // The restore orders of this generation came before the start on the same FIFO link.
      rollback_unconfirmed_ = false;
      queue(config_.coordinator, coordinator_endpoint,
            wire::encode(rolled_back{config_.self, generation_, hosted_.size() - awaiting_}));
    }
    return {};
  }
  if (auto* order = std::get_if<rollback>(&*decoded)) {
    if (source != config_.coordinator) {
      return make_error(errc::invalid_argument,
                        "rollback from node " + id_text(source) + ", not the coordinator's");
    }
    return on_rollback(*order);
  }
  if (auto* fence = std::get_if<generation_fence>(&*decoded)) return on_fence(source, *fence);
  if (std::holds_alternative<participant_report>(*decoded) ||
      std::holds_alternative<report_run>(*decoded) ||
      std::holds_alternative<host_ready>(*decoded) || std::holds_alternative<rolled_back>(*decoded)) {
    return make_error(errc::invalid_argument, "a coordinator's message sent to a participant host");
  }
  // Envelope, marker or marker run. The generation gate (restore in place): traffic its source sent before
  // entering this node's generation belongs to the state rolled back and is discarded; traffic
  // from a source already in a later one waits until this node gets there.
  auto known = source_generation_.find(source);
  auto from_generation = known == source_generation_.end() ? 0 : known->second;
  if (from_generation < generation_) {
    ++stats_.discarded;
    return {};
  }
  if (from_generation > generation_) {
    if (held_count_ + ahead_.size() >= config_.held_max) {
      return make_error(errc::too_large, "over " + id_text(config_.held_max) +
                                             " frames held for a later generation");
    }
    ahead_.emplace_back(source, from_generation, frame);
    return {};
  }
  return on_traffic(source, *decoded, frame);
}

status channel_layer::on_traffic(node_id source, const wire::message& frame) {
  auto decoded = wire::decode_checkpoint_message(frame);
  if (!decoded) return decoded.err();
  return on_traffic(source, *decoded, frame);
}

status channel_layer::on_marker_run(node_id source, const marker_run& run) {
  if (run.id == 0) return make_error(errc::invalid_argument, "marker run for checkpoint 0");
  ++stats_.marker_runs;
  // Each marker in order, exactly as the run of frames it stands for (README.md "marker runs"):
  // one that is refused does not stop the others, as in a batch.
  status first;
  for (std::size_t i = 0; i < run.from.size(); ++i) {
    const marker m{run.id, run.initiator, run.from[i], run.to[i], run.epoch};
    auto checked = check_channel(source, m.from, m.to);
    if (!checked) {
      if (first) first = checked.err();
      continue;
    }
    auto& h = **checked;
    if (!h.restored) {
      auto frame = wire::encode(m);
      if (auto st = on_traffic(source, wire::checkpoint_message{m}, frame); !st && first) first = st;
      continue;
    }
    carry_out(h.core.on_marker(m));
  }
  return first;
}

status channel_layer::on_traffic(node_id source, const wire::checkpoint_message& decoded,
                                 const wire::message& frame) {
  if (auto* run = std::get_if<marker_run>(&decoded)) return on_marker_run(source, *run);
  participant_id from = 0;
  participant_id to = 0;
  if (auto* e = std::get_if<envelope>(&decoded)) {
    from = e->from;
    to = e->to;
  } else if (auto* m = std::get_if<marker>(&decoded)) {
    if (m->id == 0) return make_error(errc::invalid_argument, "marker for checkpoint 0");
    from = m->from;
    to = m->to;
  } else {
    return make_error(errc::invalid_argument, "not application traffic");
  }
  auto checked = check_channel(source, from, to);
  if (!checked) return checked.err();
  auto& h = **checked;
  if (!h.restored) {
    // Traffic from participants restored before this one: delivered after its restore, in order.
    if (held_count_ + ahead_.size() >= config_.held_max) {
      return make_error(errc::too_large, "over " + id_text(config_.held_max) +
                                             " frames held while awaiting restore");
    }
    held_[to].emplace_back(source, frame);
    ++held_count_;
    return {};
  }
  if (auto* e = std::get_if<envelope>(&decoded)) {
    carry_out(h.core.on_envelope(*e));
    ++stats_.delivered;
    // Delivered after the step's markers and reports, never held (DESIGN.md 6).
    h.hooks.deliver(e->from, e->payload);
  } else {
    carry_out(h.core.on_marker(std::get<marker>(decoded)));
  }
  return {};
}

status channel_layer::on_rollback(const rollback& order) {
  if (order.generation <= generation_) {
    return make_error(errc::invalid_argument, "rollback to generation " + id_text(order.generation) +
                                                  ", not above this node's " + id_text(generation_));
  }
  // A global rollback (Chandy & Lamport section 4: a recorded global state is one the system
  // could have passed through, so it may resume from it): every local participant waits for its
  // restore order (they follow on this FIFO link), nothing is sent until the next start, and
  // everything of the current generation still in flight or held is discarded.
  generation_ = order.generation;
  started_ = false;
  rollback_unconfirmed_ = true;
  ++stats_.rollbacks;
  for (auto& [id, h] : hosted_) {
    if (h.restored) {
      h.restored = false;
      ++awaiting_;
    }
  }
  for (auto& [id, frames] : held_) stats_.discarded += frames.size();
  held_.clear();
  held_count_ = 0;
  // The fence goes to every host, this one included (through its own mailbox, behind the local
  // frames already queued there): what this node sent before it is of the old generation.
  for (auto node : config_.members.nodes()) {
    queue(node, host_endpoint, wire::encode(generation_fence{config_.self, generation_}));
  }
  replay_ahead();
  return {};
}

status channel_layer::on_fence(node_id source, const generation_fence& fence) {
  if (fence.node != source || config_.members.on_node(source).empty()) {
    return make_error(errc::invalid_argument, "fence for node " + id_text(fence.node) +
                                                  " from node " + id_text(source));
  }
  auto& known = source_generation_[source];
  if (fence.generation <= known) {
    return make_error(errc::invalid_argument, "fence of node " + id_text(source) + " for generation " +
                                                  id_text(fence.generation) + ", not above " +
                                                  id_text(known));
  }
  known = fence.generation;
  return {};
}

void channel_layer::replay_ahead() {
  std::deque<std::tuple<node_id, std::uint64_t, wire::message>> later;
  auto frames = std::move(ahead_);
  ahead_.clear();
  for (auto& [source, generation, frame] : frames) {
    if (generation < generation_) {
      ++stats_.discarded;  // skipped generation: nothing of it survives
    } else if (generation > generation_) {
      later.emplace_back(source, generation, std::move(frame));
    } else {
      // Checked on arrival; its participant awaits its restore now, so it is held in order.
      (void)on_traffic(source, frame);
    }
  }
  ahead_ = std::move(later);
}

status channel_layer::on_restore(const restore_order& order) {
  auto it = hosted_.find(order.participant);
  if (it == hosted_.end()) {
    return make_error(errc::invalid_argument,
                      "restore order for participant " + id_text(order.participant) +
                          ", not hosted here");
  }
  auto& h = it->second;
  for (auto& e : order.deliveries) {
    if (e.to != order.participant || !config_.members.contains(e.from)) {
      return make_error(errc::invalid_argument, "restore order for participant " +
                                                    id_text(order.participant) +
                                                    " carries a misaddressed message");
    }
  }
  if (auto st = h.hooks.restore(order.local_state); !st) return st;
  // A fresh core: after a restore every channel starts again (epoch 0, sequence 1) on every
  // process, and the coordinator continues with ids above the restored one (restore.hpp).
  h.core = participant(config_for(order.participant, h.hooks), h.hooks.capture);
  // The recorded channel messages first, straight to the application (not through the core: their
  // sequence numbers belong to the old channels), before anything new (DESIGN.md 6).
  for (auto& e : order.deliveries) {
    ++stats_.delivered;
    h.hooks.deliver(e.from, e.payload);
  }
  ++stats_.restored;
  if (!h.restored) {
    h.restored = true;
    --awaiting_;
  }
  if (auto held = held_.find(order.participant); held != held_.end()) {
    auto frames = std::move(held->second);
    held_.erase(held);
    held_count_ -= frames.size();
    for (auto& [source, frame] : frames) {
      // Checked once already on arrival; the participant is restored now, so none is held again.
      (void)on_traffic(source, frame);
    }
  }
  return {};
}

void channel_layer::announce() {
  queue(config_.coordinator, coordinator_endpoint,
        wire::encode(host_ready{config_.self, config_.instance}));
}

void channel_layer::tick() {
  if (!started_) return;
  for (auto& [id, h] : hosted_) {
    if (h.restored && h.hooks.tick) h.hooks.tick();
  }
}

void channel_layer::on_peer_lost(node_id node) {
  auto lost = config_.members.on_node(node);
  for (auto& [id, h] : hosted_) {
    for (participant_id q : h.core.incoming_channels()) {
      if (config_.members.node_of(q) == node) carry_out(h.core.on_peer_lost(q));
    }
    if (!h.core.in_flight().empty() && !lost.empty()) {
      // No channel from that node yet, but checkpoints held here may count messages sent to it.
      carry_out(h.core.on_peer_lost(lost.front()));
    }
  }
}

std::vector<outgoing_frame> channel_layer::take_outbox() {
  std::vector<outgoing_frame> frames;
  frames.reserve(outbox_.size());
  for (auto& q : outbox_) {
    if (q.reports) {
      auto& run = report_runs_[*q.reports];
      frames.push_back({q.node, q.endpoint,
                        run.reports.size() == 1 ? wire::encode(run.reports.front())
                                                : wire::encode(run)});
      continue;
    }
    if (!q.run) {
      frames.push_back({q.node, q.endpoint, std::move(q.frame)});
      continue;
    }
    auto& run = runs_[*q.run];
    frames.push_back({q.node, q.endpoint,
                      run.from.size() == 1
                          ? wire::encode(marker{run.id, run.initiator, run.from.front(),
                                                run.to.front(), run.epoch})
                          : wire::encode(run)});
  }
  outbox_.clear();
  runs_.clear();
  open_run_.clear();
  report_runs_.clear();
  open_report_run_.reset();
  open_report_run_bytes_ = 0;
  if (config_.batch_max_frames <= 1 || frames.size() <= 1) return frames;
  // Group by destination in order of first appearance; each group keeps its own order.
  std::vector<std::pair<std::pair<node_id, std::string_view>, std::vector<wire::message>>> groups;
  for (auto& f : frames) {
    auto key = std::make_pair(f.node, f.endpoint);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) {
      groups.emplace_back(key, std::vector<wire::message>{});
      it = std::prev(groups.end());
    }
    it->second.push_back(std::move(f.frame));
  }
  std::vector<outgoing_frame> out;
  for (auto& [key, group] : groups) {
    std::vector<wire::message> chunk;
    std::size_t chunk_bytes = 0;
    auto emit = [&, node = key.first, endpoint = key.second] {
      if (chunk.size() == 1) {
        out.push_back({node, endpoint, std::move(chunk.front())});
      } else if (!chunk.empty()) {
        out.push_back({node, endpoint, wire::encode_checkpoint_batch(chunk)});
      }
      chunk.clear();
      chunk_bytes = 0;
    };
    for (auto& m : group) {
      if (!chunk.empty() && (chunk.size() >= config_.batch_max_frames ||
                             chunk_bytes + m.size_bytes() > config_.batch_max_bytes)) {
        emit();
      }
      chunk_bytes += m.size_bytes();
      chunk.push_back(std::move(m));
    }
    emit();
  }
  return out;
}

std::vector<participant_id> channel_layer::local() const {
  std::vector<participant_id> out;
  out.reserve(hosted_.size());
  for (auto& [id, h] : hosted_) out.push_back(id);
  return out;
}

const participant* channel_layer::core(participant_id id) const {
  auto it = hosted_.find(id);
  return it == hosted_.end() ? nullptr : &it->second.core;
}

status channel_layer::check_invariants() const {
  std::size_t held = 0;
  for (auto& [id, frames] : held_) {
    auto it = hosted_.find(id);
    if (it == hosted_.end() || it->second.restored) {
      return make_error(errc::internal, "frames held for a participant that awaits no restore");
    }
    held += frames.size();
  }
  if (held != held_count_) return make_error(errc::internal, "held frame count is off");
  std::size_t waiting = 0;
  for (auto& [id, h] : hosted_) {
    if (!h.restored) ++waiting;
    if (auto st = h.core.check_invariants(); !st) return st;
  }
  if (waiting != awaiting_) return make_error(errc::internal, "awaiting count is off");
  for (auto& [source, generation, frame] : ahead_) {
    if (generation <= generation_) {
      return make_error(errc::internal, "a frame held for a generation this node already entered");
    }
  }
  return {};
}

}  // namespace troupe::checkpoint::channel
