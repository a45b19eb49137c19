#pragma once
/// The config-center members of the client protocol (KvRange, KvTxn, KvChanges and their results):
/// the part of client_codec.cpp that converts them. For this folder's implementation files only;
/// everyone else uses client_codec.hpp. Readers return errors, never throw for a value they do not
/// know (an unknown union member or enumerant is errc::unsupported); kj::Exception from a getter is
/// caught by the caller's guarded_decode.

#include "runtime/base/result.hpp"
#include "runtime/wire/client.capnp.h"
#include "runtime/wire/client_types.hpp"

namespace troupe::wire::detail {

schema::ReadConsistency to_schema(read_consistency c);
result<read_consistency> from_schema(schema::ReadConsistency c);

void write(schema::KvRange::Builder b, const kv_range& v);
void write(schema::KvTxn::Builder b, const kv_txn& v);
void write(schema::KvChanges::Builder b, const kv_changes& v);
void write(schema::KvRangeResult::Builder b, const kv_range_result& v);
void write(schema::KvTxnResult::Builder b, const kv_txn_result& v);
void write(schema::KvChangesResult::Builder b, const kv_changes_result& v);

result<kv_range> read(schema::KvRange::Reader r);
result<kv_txn> read(schema::KvTxn::Reader r);
result<kv_changes> read(schema::KvChanges::Reader r);
result<kv_range_result> read(schema::KvRangeResult::Reader r);
result<kv_txn_result> read(schema::KvTxnResult::Reader r);
result<kv_changes_result> read(schema::KvChangesResult::Reader r);

}  // namespace troupe::wire::detail
