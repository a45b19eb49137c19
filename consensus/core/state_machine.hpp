#pragma once
/// What a replicated service implements (the key-value store of examples/kv, the counter, ...). The
/// raft actor calls it on its own thread; the simulation calls it directly. Pure C++: no CAF, no I/O.
///
/// Determinism is the contract (Raft §5, "replicated state machines"): every replica applies the same
/// commands in the same order and must reach the same state and produce the same replies. So `apply`
/// may not read clocks, random numbers or anything outside the command and the state; bad input is
/// answered with an error reply (the same on every replica), never a throw.
///
/// Snapshots (Raft §7): `snapshot()` captures everything `apply` depends on, so that a replica that
/// `restore()`s it and then applies the entries after its index reaches the same state and replies
/// as one that applied the whole log. The shell takes snapshots for log compaction and installs the
/// ones a leader sends (consensus/README.md, "Snapshots").

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/base/result.hpp"

namespace troupe::raft {

class state_machine {
 public:
  virtual ~state_machine() = default;

  /// Applies the committed command at `index` (indexes increase by one, no-op entries are skipped by
  /// the caller, so they may have gaps). `command` holds the bytes the proposer passed to propose
  /// (for the key-value service: an encoded wire ClientRequest). Returns the reply for the proposer
  /// (for the key-value service: an encoded wire ClientReply).
  virtual std::string apply(std::uint64_t index, std::string_view command) = 0;

  /// Answers a read-only request against the applied state. The caller makes it linearizable by
  /// calling it only once the read's index (ReadIndex, thesis §6.4) has been applied.
  virtual std::string query(std::string_view request) const = 0;

  /// The index of the last command applied (0 before any).
  virtual std::uint64_t applied_index() const = 0;

  /// The whole applied state (including client sessions) as of applied_index(), as bytes that
  /// restore() on any replica accepts. Deterministic: equal states give equal bytes.
  virtual std::string snapshot() const = 0;
  /// The size of snapshot()'s image now, in bytes: exact where the machine can tell cheaply, else
  /// an estimate or 0 (unknown). A caller that embeds the image in a larger one (service_host)
  /// reserves its buffer once with it; a wrong value costs a reallocation, never wrong bytes.
  virtual std::size_t snapshot_size() const { return 0; }
  /// Appends exactly the bytes snapshot() returns to `out`. An image embedded in another one is
  /// then written in place: the raft actor takes a snapshot on its own thread, at about the same
  /// index on every node, so a copy of a large image there stalls the whole cluster (kv README,
  /// "Snapshots"). The default appends snapshot().
  virtual void append_snapshot(std::string& out) const { out += snapshot(); }
  /// Replaces the whole state with `image` (from snapshot()); afterwards applied_index() == index.
  /// Errors: errc::corrupt for an image it cannot decode (the state is then unchanged).
  virtual status restore(std::uint64_t index, std::string_view image) = 0;
};

}  // namespace troupe::raft
