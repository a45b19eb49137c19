#include "runtime/wire/client_codec.hpp"

#include "runtime/wire/client.capnp.h"
#include "runtime/wire/client_kv_codec.hpp"
#include "runtime/wire/codec_support.hpp"
#include "runtime/wire/common_codec.hpp"

namespace troupe::wire {
namespace {

namespace s = schema;
using detail::as_data;
using detail::as_text;
using detail::to_string;

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

// --- enums ---------------------------------------------------------------------------------------

using detail::from_schema;
using detail::to_schema;

s::ClientError to_schema(client_error e) {
  switch (e) {
    case client_error::ok: return s::ClientError::OK;
    case client_error::not_leader: return s::ClientError::NOT_LEADER;
    case client_error::no_such_key: return s::ClientError::NO_SUCH_KEY;
    case client_error::cas_mismatch: return s::ClientError::CAS_MISMATCH;
    case client_error::busy: return s::ClientError::BUSY;
    case client_error::timeout: return s::ClientError::TIMEOUT;
    case client_error::invalid_request: return s::ClientError::INVALID_REQUEST;
    case client_error::session_expired: return s::ClientError::SESSION_EXPIRED;
    case client_error::unavailable: return s::ClientError::UNAVAILABLE;
    case client_error::internal:
    case client_error::unknown: return s::ClientError::INTERNAL;
  }
  return s::ClientError::INTERNAL;
}

client_error from_schema(s::ClientError e) {
  switch (e) {
    case s::ClientError::OK: return client_error::ok;
    case s::ClientError::NOT_LEADER: return client_error::not_leader;
    case s::ClientError::NO_SUCH_KEY: return client_error::no_such_key;
    case s::ClientError::CAS_MISMATCH: return client_error::cas_mismatch;
    case s::ClientError::BUSY: return client_error::busy;
    case s::ClientError::TIMEOUT: return client_error::timeout;
    case s::ClientError::INVALID_REQUEST: return client_error::invalid_request;
    case s::ClientError::SESSION_EXPIRED: return client_error::session_expired;
    case s::ClientError::UNAVAILABLE: return client_error::unavailable;
    case s::ClientError::INTERNAL: return client_error::internal;
  }
  return client_error::unknown;  // a newer node's code: still an error, just not a known one
}

s::RaftRole to_schema(raft_role r) {
  switch (r) {
    case raft_role::follower: return s::RaftRole::FOLLOWER;
    case raft_role::candidate: return s::RaftRole::CANDIDATE;
    case raft_role::leader: return s::RaftRole::LEADER;
    case raft_role::learner: return s::RaftRole::LEARNER;
    case raft_role::pre_candidate: return s::RaftRole::PRE_CANDIDATE;
    case raft_role::unknown: break;
  }
  // No enumerant means "unknown" on the wire; follower is the least-privileged role to claim.
  return s::RaftRole::FOLLOWER;
}

raft_role from_schema(s::RaftRole r) {
  switch (r) {
    case s::RaftRole::FOLLOWER: return raft_role::follower;
    case s::RaftRole::CANDIDATE: return raft_role::candidate;
    case s::RaftRole::LEADER: return raft_role::leader;
    case s::RaftRole::LEARNER: return raft_role::learner;
    case s::RaftRole::PRE_CANDIDATE: return raft_role::pre_candidate;
  }
  return raft_role::unknown;  // status is informational: show it rather than refuse it
}

/// `out` with `body` as its body, or body's error.
template <class Message, class Body>
result<Message> with_body(Message out, result<Body> body) {
  if (!body) return body.err();
  out.body = std::move(*body);
  return out;
}

// --- request -------------------------------------------------------------------------------------

void write_body(s::ClientRequest::Body::Builder b, const client_request& request) {
  std::visit(overloaded{
                 [&](const kv_put& put) {
                   auto p = b.initPut();
                   p.setKey(as_data(put.key));
                   p.setValue(as_data(put.value));
                 },
                 [&](const kv_get& get) {
                   auto g = b.initGet();
                   g.setKey(as_data(get.key));
                   g.setConsistency(to_schema(get.consistency));
                 },
                 [&](const kv_cas& cas) {
                   auto c = b.initCas();
                   c.setKey(as_data(cas.key));
                   if (cas.expected) {
                     c.setExpected(as_data(*cas.expected));
                   } else {
                     c.setExpectAbsent(true);
                   }
                   c.setNewValue(as_data(cas.new_value));
                 },
                 [&](const kv_del& del) { b.initDel().setKey(as_data(del.key)); },
                 [&](const ping& p) { b.initPing().setNonce(p.nonce); },
                 [&](const status_query&) { b.initStatus(); },
                 [&](const kv_range& r) { detail::write(b.initRange(), r); },
                 [&](const kv_txn& t) { detail::write(b.initTxn(), t); },
                 [&](const kv_changes& c) { detail::write(b.initChanges(), c); },
                 [&](const checkpoint_request& c) {
                   auto out = b.initCheckpoint();
                   out.setVerb(static_cast<s::ClientVerb>(c.verb));
                   out.setCheckpointId(c.id);
                 },
                 [&](const app_request& a) {
                   auto out = b.initApp();
                   out.setService(as_text(a.service));
                   out.setCall(a.call == app_call::query ? s::AppCall::QUERY : s::AppCall::COMMAND);
                   out.setPayload(as_data(a.payload));
                   out.setConsistency(to_schema(a.consistency));
                   out.setMinIndex(a.min_index);
                 },
                 [&](const cluster_request& c) {
                   auto out = b.initCluster();
                   if (c.transfer_to != 0) {
                     out.setTransferLeader(c.transfer_to);
                     return;
                   }
                   auto list = out.initChangeMembers(static_cast<unsigned>(c.changes.size()));
                   for (unsigned i = 0; i < list.size(); ++i) {
                     list[i].setKind(static_cast<s::MemberChangeKind>(c.changes[i].kind));
                     list[i].setNodeId(c.changes[i].node_id);
                     list[i].setAddress(c.changes[i].address);
                   }
                 },
                 [&](const backup_request& r) {
                   auto out = b.initBackup();
                   out.setBackupId(r.backup_id);
                   out.setOffset(r.offset);
                   out.setMaxBytes(r.max_bytes);
                 },
             },
             request.body);
}

result<client_request> read_request(s::ClientRequest::Reader r) {
  client_request out;
  out.client_id = r.getClientId();
  out.sequence = r.getSequence();
  out.group_id = r.getGroupId();
  auto body = r.getBody();
  switch (body.which()) {
    case s::ClientRequest::Body::PUT: {
      auto p = body.getPut();
      out.body.emplace<kv_put>(to_string(p.getKey()), to_string(p.getValue()));
      break;
    }
    case s::ClientRequest::Body::GET: {
      auto g = body.getGet();
      auto consistency = from_schema(g.getConsistency());
      if (!consistency) return consistency.err();
      out.body.emplace<kv_get>(to_string(g.getKey()), *consistency);
      break;
    }
    case s::ClientRequest::Body::CAS: {
      auto c = body.getCas();
      kv_cas cas{to_string(c.getKey()), std::nullopt, to_string(c.getNewValue())};
      if (!c.getExpectAbsent()) cas.expected = to_string(c.getExpected());
      out.body.emplace<kv_cas>(std::move(cas));
      break;
    }
    case s::ClientRequest::Body::DEL: out.body.emplace<kv_del>(to_string(body.getDel().getKey())); break;
    case s::ClientRequest::Body::PING: out.body.emplace<ping>(body.getPing().getNonce()); break;
    case s::ClientRequest::Body::STATUS: out.body.emplace<status_query>(); break;
    case s::ClientRequest::Body::RANGE: return with_body(std::move(out), detail::read(body.getRange()));
    case s::ClientRequest::Body::TXN: return with_body(std::move(out), detail::read(body.getTxn()));
    case s::ClientRequest::Body::CHANGES: return with_body(std::move(out), detail::read(body.getChanges()));
    case s::ClientRequest::Body::CHECKPOINT: {
      auto c = body.getCheckpoint();
      auto verb = static_cast<unsigned>(c.getVerb());
      if (verb > static_cast<unsigned>(checkpoint_verb::export_dot)) {
        return detail::unknown_enum("ClientCommand.verb", verb);
      }
      out.body.emplace<checkpoint_request>(static_cast<checkpoint_verb>(verb), c.getCheckpointId());
      break;
    }
    case s::ClientRequest::Body::APP: {
      auto a = body.getApp();
      app_request app;
      app.service = to_string(a.getService());
      switch (a.getCall()) {
        case s::AppCall::COMMAND: app.call = app_call::command; break;
        case s::AppCall::QUERY: app.call = app_call::query; break;
        default: return detail::unknown_enum("AppRequest.call", static_cast<unsigned>(a.getCall()));
      }
      app.payload = to_string(a.getPayload());
      auto consistency = from_schema(a.getConsistency());
      if (!consistency) return consistency.err();
      app.consistency = *consistency;
      app.min_index = a.getMinIndex();
      out.body.emplace<app_request>(std::move(app));
      break;
    }
    case s::ClientRequest::Body::CLUSTER: {
      auto c = body.getCluster();
      cluster_request cr;
      switch (c.which()) {
        case s::ClusterCommand::TRANSFER_LEADER:
          cr.transfer_to = c.getTransferLeader();
          if (cr.transfer_to == 0) return make_error(errc::malformed, "ClusterCommand.transferLeader: node id 0");
          break;
        case s::ClusterCommand::CHANGE_MEMBERS: {
          auto list = c.getChangeMembers();
          detail::require_list_fits(list, "ClusterCommand.changeMembers");
          if (list.size() == 0 || list.size() > 64) {
            return make_error(errc::malformed, "ClusterCommand.changeMembers: 1 to 64 changes");
          }
          for (auto m : list) {
            const auto kind = static_cast<unsigned>(m.getKind());
            if (kind > static_cast<unsigned>(member_change_kind::remove)) {
              return detail::unknown_enum("MemberChange.kind", kind);
            }
            cr.changes.push_back({static_cast<member_change_kind>(kind), m.getNodeId(), to_string(m.getAddress())});
          }
          break;
        }
        default: return detail::unknown_tag("ClusterCommand", static_cast<unsigned>(c.which()));
      }
      out.body.emplace<cluster_request>(std::move(cr));
      break;
    }
    case s::ClientRequest::Body::BACKUP: {
      auto b = body.getBackup();
      out.body.emplace<backup_request>(b.getBackupId(), b.getOffset(), b.getMaxBytes());
      break;
    }
    default: return detail::unknown_tag("ClientRequest.body", static_cast<unsigned>(body.which()));
  }
  return out;
}

// --- reply ---------------------------------------------------------------------------------------

void write_body(s::ClientReply::Body::Builder b, const client_reply& reply) {
  std::visit(overloaded{
                 [&](const std::monostate&) { b.setNone(); },
                 [&](const kv_value& v) {
                   auto out = b.initValue();
                   out.setFound(v.found);
                   out.setValue(as_data(v.value));
                 },
                 [&](const cas_result& c) {
                   auto out = b.initCas();
                   out.setSucceeded(c.succeeded);
                   if (c.current) {
                     out.setCurrentFound(true);
                     out.setCurrent(as_data(*c.current));
                   }
                 },
                 [&](const del_result& d) { b.initDel().setExisted(d.existed); },
                 [&](const pong& p) { b.initPong().setNonce(p.nonce); },
                 [&](const status_info& st) {
                   auto out = b.initStatus();
                   out.setNodeId(st.node_id);
                   out.setGroupId(st.group_id);
                   out.setTerm(st.term);
                   out.setRole(to_schema(st.role));
                   out.setLeaderId(st.leader_id);
                   out.setCommitIndex(st.commit_index);
                   out.setAppliedIndex(st.applied_index);
                   out.setLastLogIndex(st.last_log_index);
                   auto members = out.initMembers(static_cast<unsigned>(st.members.size()));
                   for (unsigned i = 0; i < members.size(); ++i) write(members[i], st.members[i]);
                 },
                 [&](const kv_range_result& r) { detail::write(b.initRange(), r); },
                 [&](const kv_txn_result& t) { detail::write(b.initTxn(), t); },
                 [&](const kv_changes_result& c) { detail::write(b.initChanges(), c); },
                 [&](const checkpoint_result& c) {
                   auto out = b.initCheckpoint();
                   out.setCheckpointId(c.id);
                   out.setStatus(detail::as_text(c.status));
                   out.setText(detail::as_text(c.text));
                 },
                 [&](const app_reply& a) {
                   auto out = b.initApp();
                   out.setPayload(as_data(a.payload));
                   out.setIndex(a.index);
                 },
                 [&](const backup_chunk& c) {
                   auto out = b.initBackup();
                   out.setBackupId(c.backup_id);
                   out.setTotalBytes(c.total_bytes);
                   out.setOffset(c.offset);
                   out.setData(as_data(c.data));
                   out.setIndex(c.index);
                   out.setTerm(c.term);
                 },
             },
             reply.body);
}

result<client_reply> read_reply(s::ClientReply::Reader r) {
  client_reply out;
  out.client_id = r.getClientId();
  out.sequence = r.getSequence();
  out.error = from_schema(r.getError());
  out.error_message = to_string(r.getErrorMessage());
  if (r.hasLeaderHint()) out.leader_hint = read(r.getLeaderHint());
  auto body = r.getBody();
  switch (body.which()) {
    case s::ClientReply::Body::NONE: break;
    case s::ClientReply::Body::VALUE: {
      auto v = body.getValue();
      out.body.emplace<kv_value>(v.getFound(), to_string(v.getValue()));
      break;
    }
    case s::ClientReply::Body::CAS: {
      auto c = body.getCas();
      cas_result cas{c.getSucceeded(), std::nullopt};
      if (c.getCurrentFound()) cas.current = to_string(c.getCurrent());
      out.body.emplace<cas_result>(std::move(cas));
      break;
    }
    case s::ClientReply::Body::DEL: out.body.emplace<del_result>(body.getDel().getExisted()); break;
    case s::ClientReply::Body::PONG: out.body.emplace<pong>(body.getPong().getNonce()); break;
    case s::ClientReply::Body::STATUS: {
      auto st = body.getStatus();
      status_info info;
      info.node_id = st.getNodeId();
      info.group_id = st.getGroupId();
      info.term = st.getTerm();
      info.role = from_schema(st.getRole());
      info.leader_id = st.getLeaderId();
      info.commit_index = st.getCommitIndex();
      info.applied_index = st.getAppliedIndex();
      info.last_log_index = st.getLastLogIndex();
      auto members = st.getMembers();
      detail::require_list_fits(members, "StatusInfo.members");
      info.members.reserve(members.size());
      for (auto m : members) info.members.push_back(read(m));
      out.body.emplace<status_info>(std::move(info));
      break;
    }
    case s::ClientReply::Body::RANGE: return with_body(std::move(out), detail::read(body.getRange()));
    case s::ClientReply::Body::TXN: return with_body(std::move(out), detail::read(body.getTxn()));
    case s::ClientReply::Body::CHANGES: return with_body(std::move(out), detail::read(body.getChanges()));
    case s::ClientReply::Body::CHECKPOINT: {
      auto c = body.getCheckpoint();
      out.body.emplace<checkpoint_result>(c.getCheckpointId(), to_string(c.getStatus()),
                                          to_string(c.getText()));
      break;
    }
    case s::ClientReply::Body::APP: {
      auto a = body.getApp();
      out.body.emplace<app_reply>(to_string(a.getPayload()), a.getIndex());
      break;
    }
    case s::ClientReply::Body::BACKUP: {
      auto c = body.getBackup();
      out.body.emplace<backup_chunk>(c.getBackupId(), c.getTotalBytes(), c.getOffset(), to_string(c.getData()),
                                     c.getIndex(), c.getTerm());
      break;
    }
    default: return detail::unknown_tag("ClientReply.body", static_cast<unsigned>(body.which()));
  }
  return out;
}

}  // namespace

const char* to_string(read_consistency c) noexcept {
  switch (c) {
    case read_consistency::linearizable: return "linearizable";
    case read_consistency::lease: return "lease";
    case read_consistency::follower: return "follower";
    case read_consistency::session: return "session";
    case read_consistency::stale: return "stale";
  }
  return "unknown";
}

const char* to_string(client_error code) noexcept {
  switch (code) {
    case client_error::ok: return "ok";
    case client_error::not_leader: return "not_leader";
    case client_error::no_such_key: return "no_such_key";
    case client_error::cas_mismatch: return "cas_mismatch";
    case client_error::busy: return "busy";
    case client_error::timeout: return "timeout";
    case client_error::invalid_request: return "invalid_request";
    case client_error::session_expired: return "session_expired";
    case client_error::unavailable: return "unavailable";
    case client_error::internal: return "internal";
    case client_error::unknown: return "unknown";
  }
  return "unknown";
}

message encode(const client_request& request) {
  return detail::build<s::ClientRequest>([&](s::ClientRequest::Builder b) {
    b.setClientId(request.client_id);
    b.setSequence(request.sequence);
    b.setGroupId(request.group_id);
    write_body(b.initBody(), request);
  });
}

message encode(const client_reply& reply) {
  return detail::build<s::ClientReply>([&](s::ClientReply::Builder b) {
    b.setClientId(reply.client_id);
    b.setSequence(reply.sequence);
    b.setError(to_schema(reply.error));
    b.setErrorMessage(as_text(reply.error_message));
    if (reply.leader_hint) write(b.initLeaderHint(), *reply.leader_hint);
    write_body(b.initBody(), reply);
  });
}

result<client_request> decode_client_request(const message& msg) {
  return detail::guarded_decode<s::ClientRequest>(msg, "ClientRequest", read_request);
}

bool is_app_request(const message& msg) noexcept {
  if (msg.empty()) return false;
  try {
    return msg.root<s::ClientRequest>().getBody().which() == s::ClientRequest::Body::APP;
  } catch (const kj::Exception&) {
    return false;
  }
}

result<client_reply> decode_client_reply(const message& msg) {
  return detail::guarded_decode<s::ClientReply>(msg, "ClientReply", read_reply);
}

}  // namespace troupe::wire
