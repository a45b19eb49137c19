#include "runtime/node/identity.hpp"

#include <chrono>
#include <filesystem>
#include <system_error>

#include "runtime/metrics/storage_metrics.hpp"
#include "runtime/storage/statement.hpp"
#include "runtime/storage/transaction.hpp"

namespace troupe::node {

namespace {

/// Schema of node.db. Append migrations; never edit one that has shipped.
std::vector<storage::migration> migrations() {
  return {{1,
           {"CREATE TABLE node_identity ("
            "  id INTEGER PRIMARY KEY CHECK (id = 1),"
            "  cluster_id TEXT NOT NULL,"
            "  node_id INTEGER NOT NULL,"
            "  starts INTEGER NOT NULL,"
            "  created_at_unix_seconds INTEGER NOT NULL)"}},
          {2,
           {"CREATE TABLE bootstrap_configuration ("
            "  id INTEGER PRIMARY KEY CHECK (id = 1),"
            "  joined INTEGER NOT NULL,"
            "  members TEXT NOT NULL)"}}};
}

}  // namespace

result<std::pair<storage::database, node_identity>> open_data_dir(
    const std::string& data_dir, std::string_view cluster_id, std::uint64_t node_id,
    metrics::storage_metrics* metrics) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return make_error(errc::io, "data directory " + data_dir + ": cannot create: " + ec.message());
  }
  storage::options opts;
  opts.migrations = migrations();
  if (metrics != nullptr) opts.on_checkpoint = metrics->on_checkpoint();
  auto db = storage::database::open(data_dir + "/node.db", opts);
  if (!db) return db.err();

  node_identity ident;
  {
    auto tx = db->begin();
    if (!tx) return tx.err();
    auto select = db->prepare("SELECT cluster_id, node_id, starts FROM node_identity WHERE id = 1");
    if (!select) return select.err();
    auto row = select->step();
    if (!row) return row.err();
    const bool found = *row;
    if (found) {
      ident.cluster_id = std::string(select->column_text(0));
      ident.node_id = static_cast<std::uint64_t>(select->column_int64(1));
      ident.starts = static_cast<std::uint64_t>(select->column_int64(2)) + 1;
      select->reset();  // finish the read before writing in the same transaction
      if (ident.cluster_id != cluster_id || ident.node_id != node_id) {
        return make_error(errc::refused,
                          "data directory " + data_dir + " belongs to node " +
                              std::to_string(ident.node_id) + " of cluster '" + ident.cluster_id +
                              "', not node " + std::to_string(node_id) + " of cluster '" +
                              std::string(cluster_id) + "'");
      }
      auto update = db->prepare("UPDATE node_identity SET starts = ?1 WHERE id = 1");
      if (!update) return update.err();
      if (auto st = update->bind_int64(1, static_cast<std::int64_t>(ident.starts)); !st) return st.err();
      if (auto st = update->run(); !st) return st.err();
    } else {
      ident = {node_id, std::string(cluster_id), 1, true};
      auto insert = db->prepare(
          "INSERT INTO node_identity (id, cluster_id, node_id, starts, created_at_unix_seconds) "
          "VALUES (1, ?1, ?2, 1, strftime('%s','now'))");
      if (!insert) return insert.err();
      if (auto st = insert->bind_text(1, cluster_id); !st) return st.err();
      if (auto st = insert->bind_int64(2, static_cast<std::int64_t>(node_id)); !st) return st.err();
      if (auto st = insert->run(); !st) return st.err();
    }
    auto started = std::chrono::steady_clock::now();
    auto committed = tx->commit();
    if (metrics != nullptr) {
      metrics->observe_commit(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
          committed.ok());
    }
    if (!committed) return committed.err();
  }
  return std::pair{std::move(*db), std::move(ident)};
}

result<bootstrap_configuration> load_or_store_bootstrap(storage::database& db, const bootstrap_configuration& first,
                                                        bool& stored_now) {
  stored_now = false;
  auto tx = db.begin();
  if (!tx) return tx.err();
  auto select = db.prepare("SELECT joined, members FROM bootstrap_configuration WHERE id = 1");
  if (!select) return select.err();
  auto row = select->step();
  if (!row) return row.err();
  if (*row) {
    bootstrap_configuration stored{select->column_int64(0) != 0, std::string(select->column_text(1))};
    select->reset();
    return stored;
  }
  select->reset();
  auto insert = db.prepare("INSERT INTO bootstrap_configuration (id, joined, members) VALUES (1, ?1, ?2)");
  if (!insert) return insert.err();
  if (auto st = insert->bind_int64(1, first.joined ? 1 : 0); !st) return st.err();
  if (auto st = insert->bind_text(2, first.members); !st) return st.err();
  if (auto st = insert->run(); !st) return st.err();
  if (auto st = tx->commit(); !st) return st.err();
  stored_now = true;
  return first;
}

}  // namespace troupe::node
