#include "runtime/wire/client_kv_codec.hpp"

#include "runtime/wire/codec_support.hpp"

namespace troupe::wire::detail {
namespace {

namespace s = schema;

s::CompareOp op_to_schema(compare_op op) {
  switch (op) {
    case compare_op::equal: return s::CompareOp::EQUAL;
    case compare_op::not_equal: return s::CompareOp::NOT_EQUAL;
    case compare_op::less: return s::CompareOp::LESS;
    case compare_op::greater: return s::CompareOp::GREATER;
  }
  return s::CompareOp::EQUAL;
}

result<compare_op> op_from_schema(s::CompareOp op) {
  switch (op) {
    case s::CompareOp::EQUAL: return compare_op::equal;
    case s::CompareOp::NOT_EQUAL: return compare_op::not_equal;
    case s::CompareOp::LESS: return compare_op::less;
    case s::CompareOp::GREATER: return compare_op::greater;
  }
  // A condition we cannot evaluate must not be guessed: the transaction would do the wrong thing.
  return unknown_enum("KvCompare.op", static_cast<unsigned>(op));
}

void write_entry(s::KvEntry::Builder b, const kv_entry& e) {
  b.setKey(as_data(e.key));
  b.setValue(as_data(e.value));
  b.setCreateRevision(e.create_revision);
  b.setModRevision(e.mod_revision);
  b.setVersion(e.version);
}

kv_entry read_entry(s::KvEntry::Reader r) {
  return kv_entry{to_string(r.getKey()), to_string(r.getValue()), r.getCreateRevision(), r.getModRevision(),
                  r.getVersion()};
}

void write_op(s::KvTxnOp::Builder b, const kv_txn_op& op) {
  if (const auto* put = std::get_if<kv_put>(&op)) {
    auto p = b.initPut();
    p.setKey(as_data(put->key));
    p.setValue(as_data(put->value));
  } else if (const auto* del = std::get_if<kv_del>(&op)) {
    b.initDel().setKey(as_data(del->key));
  } else {
    const auto& get = std::get<kv_get>(op);
    auto g = b.initGet();
    g.setKey(as_data(get.key));
    g.setConsistency(detail::to_schema(get.consistency));
  }
}

result<kv_txn_op> read_op(s::KvTxnOp::Reader r) {
  switch (r.which()) {
    case s::KvTxnOp::PUT: return kv_txn_op{kv_put{to_string(r.getPut().getKey()), to_string(r.getPut().getValue())}};
    case s::KvTxnOp::DEL: return kv_txn_op{kv_del{to_string(r.getDel().getKey())}};
    case s::KvTxnOp::GET: {
      auto consistency = detail::from_schema(r.getGet().getConsistency());
      if (!consistency) return consistency.err();
      return kv_txn_op{kv_get{to_string(r.getGet().getKey()), *consistency}};
    }
  }
  return unknown_tag("KvTxnOp", static_cast<unsigned>(r.which()));
}

void write_ops(capnp::List<s::KvTxnOp>::Builder out, const std::vector<kv_txn_op>& ops) {
  for (unsigned i = 0; i < out.size(); ++i) write_op(out[i], ops[i]);
}

result<std::vector<kv_txn_op>> read_ops(capnp::List<s::KvTxnOp>::Reader in) {
  std::vector<kv_txn_op> out;
  detail::require_list_fits(in, "KvTxnOp list");
  out.reserve(in.size());
  for (auto op : in) {
    auto v = read_op(op);
    if (!v) return v.err();
    out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace

s::ReadConsistency to_schema(read_consistency c) {
  switch (c) {
    case read_consistency::linearizable: return s::ReadConsistency::LINEARIZABLE;
    case read_consistency::lease: return s::ReadConsistency::LEASE;
    case read_consistency::follower: return s::ReadConsistency::FOLLOWER;
    case read_consistency::session: return s::ReadConsistency::SESSION;
    case read_consistency::stale: return s::ReadConsistency::STALE;
  }
  return s::ReadConsistency::LINEARIZABLE;
}

result<read_consistency> from_schema(s::ReadConsistency c) {
  switch (c) {
    case s::ReadConsistency::LINEARIZABLE: return read_consistency::linearizable;
    case s::ReadConsistency::LEASE: return read_consistency::lease;
    case s::ReadConsistency::FOLLOWER: return read_consistency::follower;
    case s::ReadConsistency::SESSION: return read_consistency::session;
    case s::ReadConsistency::STALE: return read_consistency::stale;
  }
  // A read mode we do not know cannot be served with the guarantee the client asked for.
  return unknown_enum("ReadConsistency", static_cast<unsigned>(c));
}

// --- requests ------------------------------------------------------------------------------------

void write(s::KvRange::Builder b, const kv_range& v) {
  b.setKey(as_data(v.key));
  b.setPrefix(v.prefix);
  b.setStartAfter(as_data(v.start_after));
  b.setLimit(v.limit);
  b.setKeysOnly(v.keys_only);
  b.setConsistency(to_schema(v.consistency));
}

result<kv_range> read(s::KvRange::Reader r) {
  auto consistency = from_schema(r.getConsistency());
  if (!consistency) return consistency.err();
  return kv_range{to_string(r.getKey()), r.getPrefix(), to_string(r.getStartAfter()), r.getLimit(),
                  r.getKeysOnly(), *consistency};
}

void write(s::KvTxn::Builder b, const kv_txn& v) {
  auto compares = b.initCompares(static_cast<unsigned>(v.compares.size()));
  for (unsigned i = 0; i < compares.size(); ++i) {
    const auto& c = v.compares[i];
    auto out = compares[i];
    out.setKey(as_data(c.key));
    out.setOp(op_to_schema(c.op));
    auto target = out.initTarget();
    switch (c.target) {
      case compare_target::value: target.setValue(as_data(c.value)); break;
      case compare_target::version: target.setVersion(c.number); break;
      case compare_target::create_revision: target.setCreateRevision(c.number); break;
      case compare_target::mod_revision: target.setModRevision(c.number); break;
    }
  }
  write_ops(b.initSuccess(static_cast<unsigned>(v.success.size())), v.success);
  write_ops(b.initFailure(static_cast<unsigned>(v.failure.size())), v.failure);
}

result<kv_txn> read(s::KvTxn::Reader r) {
  kv_txn out;
  detail::require_list_fits(r.getCompares(), "KvTxn.compares");
  out.compares.reserve(r.getCompares().size());
  for (auto c : r.getCompares()) {
    kv_compare cmp;
    cmp.key = to_string(c.getKey());
    auto op = op_from_schema(c.getOp());
    if (!op) return op.err();
    cmp.op = *op;
    auto target = c.getTarget();
    switch (target.which()) {
      case s::KvCompare::Target::VALUE:
        cmp.target = compare_target::value;
        cmp.value = to_string(target.getValue());
        break;
      case s::KvCompare::Target::VERSION:
        cmp.target = compare_target::version;
        cmp.number = target.getVersion();
        break;
      case s::KvCompare::Target::CREATE_REVISION:
        cmp.target = compare_target::create_revision;
        cmp.number = target.getCreateRevision();
        break;
      case s::KvCompare::Target::MOD_REVISION:
        cmp.target = compare_target::mod_revision;
        cmp.number = target.getModRevision();
        break;
      default: return unknown_tag("KvCompare.target", static_cast<unsigned>(target.which()));
    }
    out.compares.push_back(std::move(cmp));
  }
  auto success = read_ops(r.getSuccess());
  if (!success) return success.err();
  auto failure = read_ops(r.getFailure());
  if (!failure) return failure.err();
  out.success = std::move(*success);
  out.failure = std::move(*failure);
  return out;
}

void write(s::KvChanges::Builder b, const kv_changes& v) {
  b.setKey(as_data(v.key));
  b.setPrefix(v.prefix);
  b.setFromRevision(v.from_revision);
  b.setLimit(v.limit);
  b.setConsistency(to_schema(v.consistency));
}

result<kv_changes> read(s::KvChanges::Reader r) {
  auto consistency = from_schema(r.getConsistency());
  if (!consistency) return consistency.err();
  return kv_changes{to_string(r.getKey()), r.getPrefix(), r.getFromRevision(), r.getLimit(), *consistency};
}

// --- results -------------------------------------------------------------------------------------

void write(s::KvRangeResult::Builder b, const kv_range_result& v) {
  auto entries = b.initEntries(static_cast<unsigned>(v.entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) write_entry(entries[i], v.entries[i]);
  b.setMore(v.more);
  b.setRevision(v.revision);
}

result<kv_range_result> read(s::KvRangeResult::Reader r) {
  kv_range_result out;
  detail::require_list_fits(r.getEntries(), "KvRangeResult.entries");
  out.entries.reserve(r.getEntries().size());
  for (auto e : r.getEntries()) out.entries.push_back(read_entry(e));
  out.more = r.getMore();
  out.revision = r.getRevision();
  return out;
}

void write(s::KvTxnResult::Builder b, const kv_txn_result& v) {
  b.setSucceeded(v.succeeded);
  b.setRevision(v.revision);
  auto results = b.initResults(static_cast<unsigned>(v.results.size()));
  for (unsigned i = 0; i < results.size(); ++i) {
    const auto& res = v.results[i];
    if (const auto* del = std::get_if<del_result>(&res)) {
      results[i].initDel().setExisted(del->existed);
    } else if (const auto* get = std::get_if<kv_txn_get_result>(&res)) {
      auto g = results[i].initGet();
      g.setFound(get->found);
      write_entry(g.initEntry(), get->entry);
    } else {
      results[i].setPut();
    }
  }
}

result<kv_txn_result> read(s::KvTxnResult::Reader r) {
  kv_txn_result out;
  out.succeeded = r.getSucceeded();
  out.revision = r.getRevision();
  detail::require_list_fits(r.getResults(), "KvTxnResult.results");
  out.results.reserve(r.getResults().size());
  for (auto res : r.getResults()) {
    switch (res.which()) {
      case s::KvTxnOpResult::PUT: out.results.emplace_back(std::monostate{}); break;
      case s::KvTxnOpResult::DEL: out.results.emplace_back(del_result{res.getDel().getExisted()}); break;
      case s::KvTxnOpResult::GET:
        out.results.emplace_back(kv_txn_get_result{res.getGet().getFound(), read_entry(res.getGet().getEntry())});
        break;
      default: return unknown_tag("KvTxnOpResult", static_cast<unsigned>(res.which()));
    }
  }
  return out;
}

void write(s::KvChangesResult::Builder b, const kv_changes_result& v) {
  auto events = b.initEvents(static_cast<unsigned>(v.events.size()));
  for (unsigned i = 0; i < events.size(); ++i) {
    const auto& e = v.events[i];
    auto out = events[i];
    out.setRevision(e.revision);
    out.setKind(e.kind == kv_event_kind::put ? s::KvEventKind::PUT : s::KvEventKind::DELETE);
    out.setKey(as_data(e.key));
    out.setValue(as_data(e.value));
    out.setCreateRevision(e.create_revision);
    out.setVersion(e.version);
  }
  b.setNextRevision(v.next_revision);
  b.setMore(v.more);
  b.setRevision(v.revision);
  b.setCompacted(v.compacted);
  b.setCompactedRevision(v.compacted_revision);
}

result<kv_changes_result> read(s::KvChangesResult::Reader r) {
  kv_changes_result out;
  detail::require_list_fits(r.getEvents(), "KvChangesResult.events");
  out.events.reserve(r.getEvents().size());
  for (auto e : r.getEvents()) {
    kv_event ev;
    ev.revision = e.getRevision();
    switch (e.getKind()) {
      case s::KvEventKind::PUT: ev.kind = kv_event_kind::put; break;
      case s::KvEventKind::DELETE: ev.kind = kv_event_kind::del; break;
      default: return unknown_enum("KvEvent.kind", static_cast<unsigned>(e.getKind()));
    }
    ev.key = to_string(e.getKey());
    ev.value = to_string(e.getValue());
    ev.create_revision = e.getCreateRevision();
    ev.version = e.getVersion();
    out.events.push_back(std::move(ev));
  }
  out.next_revision = r.getNextRevision();
  out.more = r.getMore();
  out.revision = r.getRevision();
  out.compacted = r.getCompacted();
  out.compacted_revision = r.getCompactedRevision();
  return out;
}

}  // namespace troupe::wire::detail
