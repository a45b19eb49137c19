#include "runtime/wire/raft_codec.hpp"

#include <limits>
#include <string>

#include "runtime/wire/codec_support.hpp"
#include "runtime/wire/raft.capnp.h"

namespace troupe::wire {
namespace {

namespace s = schema;
using detail::as_data;
using detail::to_string;

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

// --- pieces --------------------------------------------------------------------------------------

s::EntryType to_schema(raft::entry_type t) {
  switch (t) {
    case raft::entry_type::normal: return s::EntryType::NORMAL;
    case raft::entry_type::no_op: return s::EntryType::NO_OP;
    case raft::entry_type::config: return s::EntryType::CONFIG;
  }
  return s::EntryType::NORMAL;
}

result<raft::entry_type> from_schema(s::EntryType t) {
  switch (t) {
    case s::EntryType::NORMAL: return raft::entry_type::normal;
    case s::EntryType::NO_OP: return raft::entry_type::no_op;
    case s::EntryType::CONFIG: return raft::entry_type::config;
  }
  // An entry we cannot interpret must not enter the log: applying it would diverge.
  return detail::unknown_enum("Entry.type", static_cast<unsigned>(t));
}

void write_ids(capnp::List<std::uint64_t>::Builder out, const std::vector<raft::node_id>& ids) {
  for (unsigned i = 0; i < out.size(); ++i) out.set(i, ids[i]);
}

std::vector<raft::node_id> read_ids(capnp::List<std::uint64_t>::Reader in) {
  std::vector<raft::node_id> ids;
  detail::require_list_fits(in, "id list");
  ids.reserve(in.size());
  for (auto id : in) ids.push_back(id);
  return ids;
}

void write(s::Membership::Builder b, const raft::membership& m) {
  write_ids(b.initVoters(static_cast<unsigned>(m.voters.size())), m.voters);
  write_ids(b.initLearners(static_cast<unsigned>(m.learners.size())), m.learners);
  write_ids(b.initVotersOutgoing(static_cast<unsigned>(m.voters_outgoing.size())),
            m.voters_outgoing);
  auto addresses = b.initAddresses(static_cast<unsigned>(m.addresses.size()));
  unsigned i = 0;
  for (const auto& a : m.addresses) {
    addresses[i].setNodeId(a.id);
    addresses[i].setAddress(a.address);
    ++i;
  }
}

raft::membership read(s::Membership::Reader r) {
  raft::membership m{read_ids(r.getVoters()), read_ids(r.getLearners()),
                     read_ids(r.getVotersOutgoing()), {}};
  auto addresses = r.getAddresses();
  detail::require_list_fits(addresses, "member address list");
  for (auto a : addresses) m.addresses.push_back({a.getNodeId(), to_string(a.getAddress())});
  return m;
}

void write(s::SnapshotMetadata::Builder b, const raft::snapshot_metadata& m) {
  b.setLastIndex(m.last_index);
  b.setLastTerm(m.last_term);
  write(b.initMembership(), m.membership);
}

raft::snapshot_metadata read(s::SnapshotMetadata::Reader r) {
  return raft::snapshot_metadata{r.getLastIndex(), r.getLastTerm(), read(r.getMembership())};
}

// --- encode --------------------------------------------------------------------------------------

void write_body(s::RaftMessage::Body::Builder b, const raft::raft_message_body& body) {
  std::visit(
      overloaded{
          [&](const raft::vote_request& m) {
            auto o = b.initVoteRequest();
            o.setPreVote(m.pre_vote);
            o.setLastLogIndex(m.last_log_index);
            o.setLastLogTerm(m.last_log_term);
            o.setLeadershipTransfer(m.leadership_transfer);
          },
          [&](const raft::vote_response& m) {
            auto o = b.initVoteResponse();
            o.setPreVote(m.pre_vote);
            o.setGranted(m.granted);
          },
          [&](const raft::append_entries& m) {
            auto o = b.initAppendEntries();
            o.setPrevLogIndex(m.prev_log_index);
            o.setPrevLogTerm(m.prev_log_term);
            o.setLeaderCommit(m.leader_commit);
            auto entries = o.initEntries(static_cast<unsigned>(m.entries.size()));
            for (unsigned i = 0; i < entries.size(); ++i) {
              const raft::log_entry& e = m.entries[i];
              auto out = entries[i];
              out.setTerm(e.term);
              out.setIndex(e.index);
              out.setType(to_schema(e.type));
              out.setData(as_data(e.data));
            }
          },
          [&](const raft::append_entries_response& m) {
            auto o = b.initAppendEntriesResponse();
            o.setSuccess(m.success);
            o.setMatchIndex(m.match_index);
            o.setRejectedIndex(m.rejected_index);
            o.setRejectHintIndex(m.reject_hint_index);
            o.setRejectHintTerm(m.reject_hint_term);
          },
          [&](const raft::heartbeat& m) {
            auto o = b.initHeartbeat();
            o.setLeaderCommit(m.leader_commit);
            o.setReadContext(m.read_context);
          },
          [&](const raft::heartbeat_response& m) {
            auto o = b.initHeartbeatResponse();
            o.setReadContext(m.read_context);
            o.setLastLogIndex(m.last_log_index);
          },
          [&](const raft::timeout_now&) { b.initTimeoutNow(); },
          [&](const raft::install_snapshot& m) {
            auto o = b.initInstallSnapshot();
            write(o.initMetadata(), m.metadata);
            o.setOffset(m.offset);
            o.setData(as_data(m.data));
            o.setDone(m.done);
          },
          [&](const raft::install_snapshot_response& m) {
            auto o = b.initInstallSnapshotResponse();
            o.setLastIndex(m.last_index);
            o.setNextOffset(m.next_offset);
            o.setLastTerm(m.last_term);
            o.setStatus(static_cast<std::uint8_t>(m.status));
            o.setMatchIndex(m.match_index);
          },
          [&](const raft::read_index_request& m) { b.initReadIndexRequest().setContext(m.context); },
          [&](const raft::read_index_response& m) {
            auto o = b.initReadIndexResponse();
            o.setContext(m.context);
            o.setReadIndex(m.read_index);
            o.setSuccess(m.success);
          },
      },
      body);
}

// --- decode --------------------------------------------------------------------------------------

result<raft::append_entries> read_append_entries(s::AppendEntries::Reader r, raft::group_id group) {
  raft::append_entries out;
  out.group = group;
  out.prev_log_index = r.getPrevLogIndex();
  out.prev_log_term = r.getPrevLogTerm();
  out.leader_commit = r.getLeaderCommit();
  auto entries = r.getEntries();
  detail::require_list_fits(entries, "AppendEntries.entries");
  out.entries.reserve(entries.size());
  for (auto e : entries) {
    // The core relies on entries following prev_log_index without gaps (Raft 5.3, log matching).
    const std::uint64_t position = out.entries.size();
    if (out.prev_log_index > std::numeric_limits<std::uint64_t>::max() - 1 - position ||
        e.getIndex() != out.prev_log_index + 1 + position) {
      return make_error(errc::malformed, "AppendEntries entry " + std::to_string(position) +
                                             " has index " + std::to_string(e.getIndex()) +
                                             ", not consecutive from prev_log_index " +
                                             std::to_string(out.prev_log_index));
    }
    auto type = from_schema(e.getType());
    if (!type) return type.err();
    out.entries.push_back(raft::log_entry{e.getTerm(), e.getIndex(), *type, to_string(e.getData())});
  }
  return out;
}

result<raft::raft_message> read_message(s::RaftMessage::Reader r) {
  raft::raft_message out;
  out.from = r.getFrom();
  out.to = r.getTo();
  out.term = r.getTerm();
  if (out.from == raft::no_node || out.to == raft::no_node) {
    return make_error(errc::malformed, "Raft message with node id 0 as sender or receiver");
  }
  const raft::group_id group = r.getGroupId();
  auto body = r.getBody();
  switch (body.which()) {
    case s::RaftMessage::Body::VOTE_REQUEST: {
      auto m = body.getVoteRequest();
      out.body.emplace<raft::vote_request>(group, m.getPreVote(), m.getLastLogIndex(),
                                           m.getLastLogTerm(), m.getLeadershipTransfer());
      break;
    }
    case s::RaftMessage::Body::VOTE_RESPONSE: {
      auto m = body.getVoteResponse();
      out.body.emplace<raft::vote_response>(group, m.getPreVote(), m.getGranted());
      break;
    }
    case s::RaftMessage::Body::APPEND_ENTRIES: {
      auto append = read_append_entries(body.getAppendEntries(), group);
      if (!append) return append.err();
      out.body.emplace<raft::append_entries>(std::move(*append));
      break;
    }
    case s::RaftMessage::Body::APPEND_ENTRIES_RESPONSE: {
      auto m = body.getAppendEntriesResponse();
      out.body.emplace<raft::append_entries_response>(group, m.getSuccess(), m.getMatchIndex(),
                                                      m.getRejectedIndex(), m.getRejectHintIndex(),
                                                      m.getRejectHintTerm());
      break;
    }
    case s::RaftMessage::Body::HEARTBEAT: {
      auto m = body.getHeartbeat();
      out.body.emplace<raft::heartbeat>(group, m.getLeaderCommit(), m.getReadContext());
      break;
    }
    case s::RaftMessage::Body::HEARTBEAT_RESPONSE: {
      auto m = body.getHeartbeatResponse();
      out.body.emplace<raft::heartbeat_response>(group, m.getReadContext(), m.getLastLogIndex());
      break;
    }
    case s::RaftMessage::Body::TIMEOUT_NOW: out.body.emplace<raft::timeout_now>(group); break;
    case s::RaftMessage::Body::INSTALL_SNAPSHOT: {
      auto m = body.getInstallSnapshot();
      out.body.emplace<raft::install_snapshot>(group, read(m.getMetadata()), m.getOffset(),
                                               to_string(m.getData()), m.getDone());
      break;
    }
    case s::RaftMessage::Body::INSTALL_SNAPSHOT_RESPONSE: {
      auto m = body.getInstallSnapshotResponse();
      if (m.getStatus() > static_cast<std::uint8_t>(raft::snapshot_reply::installed)) {
        return make_error(errc::malformed, "raft: install snapshot response with unknown status " +
                                               std::to_string(m.getStatus()));
      }
      out.body.emplace<raft::install_snapshot_response>(group, m.getLastIndex(), m.getLastTerm(), m.getNextOffset(),
                                                        static_cast<raft::snapshot_reply>(m.getStatus()),
                                                        m.getMatchIndex());
      break;
    }
    case s::RaftMessage::Body::READ_INDEX_REQUEST:
      out.body.emplace<raft::read_index_request>(group, body.getReadIndexRequest().getContext());
      break;
    case s::RaftMessage::Body::READ_INDEX_RESPONSE: {
      auto m = body.getReadIndexResponse();
      out.body.emplace<raft::read_index_response>(group, m.getContext(), m.getReadIndex(),
                                                  m.getSuccess());
      break;
    }
    default: return detail::unknown_tag("RaftMessage.body", static_cast<unsigned>(body.which()));
  }
  return out;
}

}  // namespace

message encode(const raft::raft_message& msg) {
  return detail::build<s::RaftMessage>([&](s::RaftMessage::Builder b) {
    b.setGroupId(raft::group_of(msg));
    b.setFrom(msg.from);
    b.setTo(msg.to);
    b.setTerm(msg.term);
    write_body(b.initBody(), msg.body);
  });
}

result<raft::raft_message> decode_raft_message(const message& msg) {
  return detail::guarded_decode<s::RaftMessage>(msg, "RaftMessage", read_message);
}

}  // namespace troupe::wire
