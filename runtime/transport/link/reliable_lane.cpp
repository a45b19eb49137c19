#include "runtime/transport/link/reliable_lane.hpp"

#include <algorithm>
#include <cassert>
#include <string>

namespace troupe::link {

// ---- reliable_sender ----------------------------------------------------------------------------

reliable_sender::reliable_sender(retransmit_limits limits) : limits_(limits) {
  assert(limits_.max_messages > 0 && limits_.max_bytes > 0);
}

bool reliable_sender::has_room(std::size_t bytes) const noexcept {
  return buffer_.size() < limits_.max_messages && bytes <= limits_.max_bytes &&
         buffered_bytes_ <= limits_.max_bytes - bytes;
}

result<std::uint64_t> reliable_sender::push(outbound_message&& m) {
  const std::size_t bytes = charged_bytes(m);
  if (bytes > limits_.max_bytes)
    return make_error(errc::too_large, "application message of " + std::to_string(bytes) +
                                           " bytes exceeds the retransmit buffer of " +
                                           std::to_string(limits_.max_bytes) + " bytes");
  if (!has_room(bytes))
    return make_error(errc::busy, "retransmit buffer full (" + std::to_string(buffer_.size()) +
                                      " messages, " + std::to_string(buffered_bytes_) + " bytes)");
  const std::uint64_t seq = next_seq_++;
  pending_message& p = buffer_.push_back_slot();
  p.seq = seq;
  p.message = std::move(m);
  p.bytes = bytes;
  buffered_bytes_ += bytes;
  return seq;
}

const pending_message* reliable_sender::peek_unsent() const noexcept {
  return sent_index_ < buffer_.size() ? &buffer_[sent_index_] : nullptr;
}

void reliable_sender::mark_sent() {
  assert(sent_index_ < buffer_.size());
  const std::uint64_t seq = buffer_[sent_index_].seq;
  if (seq <= highest_sent_) ++retransmitted_total_;
  highest_sent_ = std::max(highest_sent_, seq);
  ++sent_index_;
}

status reliable_sender::on_ack(std::uint64_t ack) {
  if (ack <= acked_) return status::success();  // stale or repeated: nothing new
  if (ack > highest_sent_)
    return make_error(errc::malformed, "ack " + std::to_string(ack) +
                                           " beyond the highest seq sent " +
                                           std::to_string(highest_sent_));
  while (!buffer_.empty() && buffer_.front().seq <= ack) {
    buffered_bytes_ -= buffer_.front().bytes;
    buffer_.pop_front();
    if (sent_index_ > 0) --sent_index_;
  }
  acked_ = ack;
  return status::success();
}

void reliable_sender::on_disconnect() noexcept {
  sent_index_ = 0;
}

std::vector<lost_message> reliable_sender::take_all_as_lost() {
  std::vector<lost_message> lost;
  lost.reserve(buffer_.size());
  for (std::size_t i = 0; i < buffer_.size(); ++i) {
    auto& p = buffer_[i];
    lost.push_back(lost_message{p.seq, std::move(p.message.destination),
                                std::move(p.message.source), p.message.message_id, p.message.tag,
                                p.message.payload.empty() ? 0 : p.message.payload.size_bytes()});
  }
  buffer_.clear();
  buffered_bytes_ = 0;
  sent_index_ = 0;
  return lost;
}

std::vector<lost_message> reliable_sender::abandon() {
  auto lost = take_all_as_lost();
  next_seq_ = 1;
  acked_ = 0;
  highest_sent_ = 0;
  bound_incarnation_ = 0;
  return lost;
}

result<std::vector<lost_message>> reliable_sender::attach(std::uint64_t self_incarnation,
                                                          std::uint64_t remote_incarnation,
                                                          const resume_info& remote_resume) {
  sent_index_ = 0;
  const bool remote_knows_us = remote_resume.peer_incarnation == self_incarnation;
  const std::uint64_t resume_at = remote_knows_us ? remote_resume.last_delivered_seq : 0;

  if (bound_incarnation_ == remote_incarnation && bound_incarnation_ != 0) {
    // A resume point can be stale: when both nodes dial each other at once, the remote computes it
    // for one connection while the other one still carries data and acks. A live receiver never
    // goes back (it keeps its state for as long as it lives), so anything we saw acknowledged was
    // delivered, and "does not know us" with acks seen is an older snapshot, not amnesia.
    // Resuming from the later of the two resends at most a few duplicates, which it drops.
    const std::uint64_t from = std::max(resume_at, acked_);
    if (from > highest_sent_)
      return make_error(errc::malformed, "impossible resume point " + std::to_string(resume_at) +
                                             " (sent up to " + std::to_string(highest_sent_) + ")");
    // Same incarnation on both ends (README.md "Resume rule"): the receiver delivered everything up
    // to `from`, so those are acknowledged; the rest goes out again, in order.
    while (!buffer_.empty() && buffer_.front().seq <= from) {
      buffered_bytes_ -= buffer_.front().bytes;
      buffer_.pop_front();
    }
    acked_ = from;
    return std::vector<lost_message>{};
  }

  // A receiver we have no sequence space with: it expects seq 1.
  if (resume_at != 0)
    return make_error(errc::malformed, "incarnation " + std::to_string(remote_incarnation) +
                                           " claims to have delivered seq " +
                                           std::to_string(resume_at) + " from us before we met");
  std::vector<lost_message> lost;
  if (bound_incarnation_ != 0) {
    // The peer restarted: what was addressed to the old process is lost to it.
    lost = take_all_as_lost();
    next_seq_ = 1;
  }
  // Else never bound: messages queued before the first connection keep their seqs 1, 2, ...
  acked_ = 0;
  highest_sent_ = 0;
  bound_incarnation_ = remote_incarnation;
  return lost;
}

status reliable_sender::check_invariants() const {
  auto broken = [](std::string what) {
    return status(make_error(errc::internal, "reliable_sender invariant: " + what));
  };
  if (buffer_.size() > limits_.max_messages) return broken("more messages than max_messages");
  if (buffered_bytes_ > limits_.max_bytes) return broken("more bytes than max_bytes");
  if (sent_index_ > buffer_.size()) return broken("sent index beyond the buffer");
  if (acked_ > highest_sent_) return broken("acked beyond the highest seq sent");
  if (highest_sent_ >= next_seq_) return broken("sent a seq never assigned");
  std::size_t bytes = 0;
  std::uint64_t expected = acked_ + 1;
  for (std::size_t i = 0; i < buffer_.size(); ++i) {
    const auto& p = buffer_[i];
    // After a resume, entries <= acked_ are gone; seqs stay contiguous up to next_seq_ - 1.
    if (p.seq != expected)
      return broken("seq " + std::to_string(p.seq) + " where " + std::to_string(expected) +
                    " was expected");
    ++expected;
    bytes += p.bytes;
  }
  if (!buffer_.empty() && expected != next_seq_)
    return broken("buffer does not end at the last seq");
  if (bytes != buffered_bytes_) return broken("byte count drifted");
  return status::success();
}

// ---- reliable_receiver --------------------------------------------------------------------------

reliable_receiver::reliable_receiver(std::uint32_t ack_every_deliveries)
    : ack_every_(std::max<std::uint32_t>(1, ack_every_deliveries)) {}

void reliable_receiver::attach(std::uint64_t remote_incarnation) noexcept {
  if (remote_incarnation == sender_incarnation_) return;
  // A new sender process starts its sequence space at 1 (README.md "Resume rule").
  sender_incarnation_ = remote_incarnation;
  last_delivered_ = 0;
  unacked_ = 0;
  duplicate_seen_ = false;
}

result<reliable_receiver::verdict> reliable_receiver::on_data(std::uint64_t seq) {
  if (seq == 0) return make_error(errc::malformed, "application frame with seq 0");
  if (seq <= last_delivered_) {
    ++duplicates_total_;
    duplicate_seen_ = true;
    return verdict::duplicate;
  }
  if (seq != last_delivered_ + 1)
    return make_error(errc::malformed, "application seq gap: expected " +
                                           std::to_string(last_delivered_ + 1) + ", got " +
                                           std::to_string(seq));
  last_delivered_ = seq;
  ++unacked_;
  return verdict::deliver;
}

std::uint64_t reliable_receiver::take_ack() noexcept {
  unacked_ = 0;
  duplicate_seen_ = false;
  return last_delivered_;
}

bool reliable_receiver::ack_due() const noexcept {
  return unacked_ >= ack_every_ || duplicate_seen_;
}

}  // namespace troupe::link
