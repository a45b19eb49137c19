// `troupe kv txn` (kv_command.hpp states the output and exit codes; kv_txn_script.hpp the script).
#include <ostream>

#include "runtime/client/kv_command.hpp"

namespace troupe::client {

int run_kv_txn(const wire::kv_txn& txn, kv_client& client, std::ostream& out, std::ostream& err) {
  auto r = client.txn(txn);
  auto* body = std::get_if<wire::kv_txn_result>(&r.body);
  if (r.outcome != kv_outcome::done || body == nullptr) {
    if (r.outcome == kv_outcome::unknown || r.outcome == kv_outcome::done) {
      err << "troupe kv txn: " << (r.message.empty() ? "no result in the answer" : r.message)
          << " (the transaction may or may not have been applied; read the keys to find out)\n";
      return exit_code_for(kv_outcome::unknown);
    }
    err << "troupe kv txn: " << (r.outcome == kv_outcome::invalid ? "the node rejected the transaction: " : "")
        << r.message << "\n";
    return exit_code_for(r.outcome);
  }
  const auto& ops = body->succeeded ? txn.success : txn.failure;
  out << (body->succeeded ? "succeeded" : "failed") << " revision=" << body->revision << "\n";
  for (std::size_t i = 0; i < body->results.size(); ++i) {
    const auto& res = body->results[i];
    if (auto* d = std::get_if<wire::del_result>(&res)) {
      const auto* op = i < ops.size() ? std::get_if<wire::kv_del>(&ops[i]) : nullptr;
      out << (d->existed ? "deleted " : "absent ") << (op ? op->key : std::string("?")) << "\n";
    } else if (auto* g = std::get_if<wire::kv_txn_get_result>(&res)) {
      const auto* op = i < ops.size() ? std::get_if<wire::kv_get>(&ops[i]) : nullptr;
      if (g->found) {
        out << g->entry.key << '\t' << g->entry.value << "\tcreate=" << g->entry.create_revision
            << " mod=" << g->entry.mod_revision << " version=" << g->entry.version << "\n";
      } else {
        out << "absent " << (op ? op->key : std::string("?")) << "\n";
      }
    } else {
      out << "OK\n";  // a put
    }
  }
  out.flush();
  // The failure branch ran: the compares did not hold, a definite "no" like a cas mismatch.
  return body->succeeded ? 0 : 1;
}

}  // namespace troupe::client
