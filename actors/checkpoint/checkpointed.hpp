#pragma once
/// The participant API for application actors (issue 5): derive from `checkpointed`, say how to
/// capture and restore your state and how to handle a message, send with `send(to, payload)` to a
/// participant id, and the participant host (snapshot/actor/participant_host.hpp) makes you part of
/// every consistent global checkpoint (Chandy & Lamport 1985) without stopping you.
///
/// ```cpp
/// struct counter final : troupe::actors::checkpointed {
///   std::uint64_t n = 0;
///   bytes capture() const override { return encode(n); }
///   status restore(const bytes& b) override { return decode(b, n); }
///   void on_message(participant_id from, const bytes& payload) override { ++n; }
/// };
/// host_config c; c.make = troupe::actors::hosted([](participant_id) {
///   return std::make_unique<counter>(); });
/// ```
///
/// Contract: every hook runs on the host actor, one at a time, never concurrently with another hook
/// of any participant on that node; `capture` must return the state as of the last message handled
/// (it is called between two messages, at the instant of recording); `restore` replaces the whole
/// state. Messages are delivered in FIFO order per sender, exactly once while no process fails.

#include <functional>
#include <memory>

#include "runtime/base/result.hpp"
#include "snapshot/actor/participant_host.hpp"
#include "snapshot/core/message.hpp"

namespace troupe::actors {

using checkpoint::bytes;
using checkpoint::participant_id;

class checkpointed {
 public:
  virtual ~checkpointed() = default;

  /// The local state, encoded.
  virtual bytes capture() const = 0;
  /// Replaces the state with a captured one. An error refuses the restore (bad bytes).
  virtual status restore(const bytes& state) = 0;
  /// One application message from participant `from`.
  virtual void on_message(participant_id from, const bytes& payload) = 0;
  /// Called every host tick interval (optional): start traffic of one's own here.
  virtual void on_tick() {}

  participant_id self() const noexcept { return self_; }

 protected:
  /// Sends `payload` to participant `to` (any node). Only from inside a hook. Errors: unknown
  /// receiver, or the host still awaits this participant's restore.
  status send(participant_id to, bytes payload) const { return send_(to, std::move(payload)); }

 private:
  friend checkpoint::actor::participant_factory hosted(
      std::function<std::unique_ptr<checkpointed>(participant_id)> make);
  participant_id self_ = checkpoint::no_participant;
  checkpoint::actor::send_fn send_;
};

/// Adapts a factory of `checkpointed` objects to the host's participant factory.
checkpoint::actor::participant_factory hosted(
    std::function<std::unique_ptr<checkpointed>(participant_id)> make);

}  // namespace troupe::actors
