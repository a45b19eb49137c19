#include "runtime/storage/durable_writer.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <system_error>
#include <vector>

namespace troupe::storage {
namespace {

using seconds = std::chrono::duration<double>;

/// Runs a batch, turning an escaped exception into an error (no exception leaves the writer).
status run_batch(const write_batch& batch, database& db) noexcept {
  try {
    return batch(db);
  } catch (const std::exception& e) {
    return make_error(errc::internal, db.path() + ": write batch threw: " + e.what());
  } catch (...) {
    return make_error(errc::internal, db.path() + ": write batch threw a non-exception");
  }
}

}  // namespace

result<std::unique_ptr<durable_writer>> durable_writer::start(database db, writer_options opts) {
  std::unique_ptr<durable_writer> writer{new durable_writer(std::move(db), std::move(opts))};
  try {
    writer->thread_ = std::thread([raw = writer.get()] { raw->run(); });
    writer->writer_id_ = writer->thread_.get_id();
  } catch (const std::system_error& e) {
    return make_error(errc::internal,
                      writer->path_ + ": cannot start the writer thread: " + e.what());
  }
  return writer;
}

durable_writer::durable_writer(database db, writer_options opts)
    : opts_(std::move(opts)), path_(db.path()), db_(std::move(db)) {
  if (opts_.queue_capacity == 0) opts_.queue_capacity = 1;
  if (opts_.max_batches_per_transaction == 0) opts_.max_batches_per_transaction = 1;
}

durable_writer::~durable_writer() {
  stop(shutdown_mode::drain);
}

status durable_writer::submit(write_batch batch, batch_completion done) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (stopping_) return make_error(errc::closed, path_ + ": the durable writer is stopped");
    if (failure_) return *failure_;
    if (queue_.size() >= opts_.queue_capacity) {
      return make_error(errc::busy, path_ + ": durable writer queue full (" +
                                        std::to_string(opts_.queue_capacity) + " batches)");
    }
    queue_.push_back(pending{std::move(batch), std::move(done)});
  }
  wake_.notify_one();
  return {};
}

void durable_writer::stop(shutdown_mode mode) {
  if (std::this_thread::get_id() == writer_id_) {
    std::fprintf(stderr, "troupe storage: %s: durable_writer::stop called from a completion\n",
                 path_.c_str());
    std::abort();
  }
  {
    std::lock_guard<std::mutex> guard{mutex_};
    // A later fail_pending may cut short a drain in progress; a drain never revives failed work.
    if (!stopping_ || mode == shutdown_mode::fail_pending) mode_ = mode;
    stopping_ = true;
  }
  wake_.notify_one();
  std::lock_guard<std::mutex> join_guard{join_mutex_};
  if (thread_.joinable()) thread_.join();
}

std::optional<error> durable_writer::failure() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return failure_;
}

std::size_t durable_writer::queued() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return queue_.size();
}

void durable_writer::run() noexcept {
  for (;;) {
    std::deque<pending> group;
    std::optional<error> refuse;
    {
      std::unique_lock<std::mutex> lock{mutex_};
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, nothing left
      if (stopping_ && mode_ == shutdown_mode::fail_pending) {
        refuse =
            make_error(errc::closed, path_ + ": the durable writer stopped before this batch ran");
        group.swap(queue_);
      } else if (failure_) {
        refuse = failure_;
        group.swap(queue_);
      } else {
        const std::size_t n = std::min(queue_.size(), opts_.max_batches_per_transaction);
        for (std::size_t i = 0; i < n; ++i) {
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
    }
    if (refuse) {
      fail_all(group, *refuse);
    } else {
      run_transaction(group);
    }
  }
  db_.reset();  // the connection is closed by the thread that used it
}

void durable_writer::fail_all(std::deque<pending>& group, const error& err) noexcept {
  const status failed{err};
  for (auto& p : group) p.done(failed, seconds{0});
}

void durable_writer::run_transaction(std::deque<pending>& group) noexcept {
  database& db = *db_;
  std::vector<status> outcomes(group.size());
  std::optional<error> lost;  // the whole transaction failed: nothing of the group is written
  seconds commit_duration{0};
  {
    auto tx = db.begin();
    if (!tx) {
      lost = tx.err();
    } else {
      auto savepoint = db.prepare("SAVEPOINT troupe_batch");
      auto release = db.prepare("RELEASE troupe_batch");
      auto undo = db.prepare("ROLLBACK TO troupe_batch");
      if (!savepoint) lost = savepoint.err();
      if (!lost && !release) lost = release.err();
      if (!lost && !undo) lost = undo.err();
      // Each batch runs under its own savepoint, so a batch that fails takes back only its writes.
      for (std::size_t i = 0; i < group.size() && !lost; ++i) {
        if (auto s = savepoint->run(); !s) {
          lost = s.err();
          break;
        }
        outcomes[i] = run_batch(group[i].batch, db);
        status closed = outcomes[i] ? release->run() : undo->run();
        if (closed && !outcomes[i]) closed = release->run();
        // SQLite rolls the whole transaction back after some errors (disk full, I/O error): then
        // the savepoint is gone and so is every batch before this one.
        if (!closed) {
          lost =
              make_error(closed.err().code,
                         closed.err().message + " (after a batch failed: " +
                             (outcomes[i] ? std::string{"none"} : outcomes[i].err().message) + ")");
        }
      }
      if (!lost) {
        const auto started = std::chrono::steady_clock::now();
        status committed = tx->commit();
        commit_duration = std::chrono::steady_clock::now() - started;
        if (!committed) lost = committed.err();
      }
    }
  }  // statements and the transaction (rolled back if still open) end here
  if (opts_.on_commit) {
    opts_.on_commit(commit_report{commit_duration.count(), group.size(), !lost.has_value()});
  }
  if (lost) {
    // Sticky: see failure(). Batches that failed on their own keep their own error.
    {
      std::lock_guard<std::mutex> guard{mutex_};
      failure_ = *lost;
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (outcomes[i]) outcomes[i] = status{*lost};
    }
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    group[i].done(outcomes[i], outcomes[i] ? commit_duration : seconds{0});
  }
}

}  // namespace troupe::storage
