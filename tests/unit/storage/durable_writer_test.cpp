// durable_writer: group commit, admission control, batch isolation, shutdown, failure.
#define BOOST_TEST_MODULE storage_durable_writer
#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/storage/durable_writer.hpp"
#include "runtime/storage/fault_vfs.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/storage/printers.hpp"

using namespace troupe;
using namespace troupe::storage;
using seconds = std::chrono::duration<double>;

namespace {

/// Holds the writer thread inside a batch until the test opens it, so the test knows exactly
/// which batches wait in the queue together.
class gate {
 public:
  write_batch blocker() {
    return [this](database&) -> status {
      std::unique_lock<std::mutex> lock{mutex_};
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return open_; });
      return {};
    };
  }
  void wait_entered() {
    std::unique_lock<std::mutex> lock{mutex_};
    cv_.wait(lock, [this] { return entered_; });
  }
  void open() {
    std::lock_guard<std::mutex> guard{mutex_};
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

/// Collects completions; wait_for(n) returns once n have arrived.
class completions {
 public:
  batch_completion make(int id) {
    return [this, id](const status& s, seconds took) {
      std::lock_guard<std::mutex> guard{mutex_};
      order_.push_back(id);
      results_.emplace_back(id, s);
      // Checked by the test thread (Boost.Test is not thread-safe).
      if (s && took.count() <= 0.0) committed_without_duration_ = true;
      cv_.notify_all();
    };
  }
  void wait_for(std::size_t n) {
    std::unique_lock<std::mutex> lock{mutex_};
    cv_.wait(lock, [&] { return order_.size() >= n; });
  }
  std::vector<int> order() {
    std::lock_guard<std::mutex> guard{mutex_};
    return order_;
  }
  /// Every successful completion reported a positive commit duration.
  bool durations_positive() {
    std::lock_guard<std::mutex> guard{mutex_};
    return !committed_without_duration_;
  }
  status result_of(int id) {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& [i, s] : results_) {
      if (i == id) return s;
    }
    return make_error(errc::not_found, "no completion");
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<int> order_;
  std::vector<std::pair<int, status>> results_;
  bool committed_without_duration_ = false;
};

options with_table() {
  options opts;
  opts.migrations = {{1, {"CREATE TABLE t(x INTEGER PRIMARY KEY)"}}};
  return opts;
}

write_batch insert(int x) {
  return [x](database& db) -> status {
    auto stmt = db.prepare("INSERT INTO t(x) VALUES (?)");
    if (!stmt) return stmt.err();
    if (auto s = stmt->bind_int64(1, x); !s) return s;
    return stmt->run();
  };
}

std::vector<std::int64_t> rows(const std::string& path) {
  auto db = database::open(path, with_table());
  BOOST_REQUIRE_MESSAGE(db, why(db));
  auto select = db->prepare("SELECT x FROM t ORDER BY x");
  BOOST_REQUIRE(select);
  std::vector<std::int64_t> out;
  for (auto row = select->step(); row && *row; row = select->step()) {
    out.push_back(select->column_int64(0));
  }
  return out;
}

std::unique_ptr<durable_writer> start(const std::string& path, writer_options wopts = {},
                                      options opts = with_table()) {
  auto db = database::open(path, opts);
  BOOST_REQUIRE_MESSAGE(db, why(db));
  auto writer = durable_writer::start(std::move(*db), std::move(wopts));
  BOOST_REQUIRE(writer);
  return std::move(*writer);
}

}  // namespace

BOOST_AUTO_TEST_CASE(queued_batches_commit_together_in_one_transaction_in_submission_order) {
  test::temp_dir dir;
  std::mutex mutex;
  std::vector<commit_report> reports;
  writer_options wopts;
  wopts.on_commit = [&](const commit_report& r) {
    std::lock_guard<std::mutex> guard{mutex};
    reports.push_back(r);
  };
  auto writer = start(dir.file("g.db"), wopts);
  gate g;
  completions done;
  BOOST_REQUIRE(writer->submit(g.blocker(), done.make(0)));
  g.wait_entered();
  for (int i = 1; i <= 10; ++i) BOOST_REQUIRE(writer->submit(insert(i), done.make(i)));
  BOOST_TEST(writer->queued() == 10u);
  g.open();
  done.wait_for(11);
  writer->stop(shutdown_mode::drain);
  BOOST_TEST(done.order() == (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  BOOST_REQUIRE(reports.size() == 2u);
  BOOST_TEST(reports[0].batches == 1u);
  BOOST_TEST(reports[1].batches == 10u);  // one transaction, one fsync for ten batches
  BOOST_TEST(reports[1].ok);
  BOOST_TEST(reports[1].duration_seconds > 0.0);
  BOOST_TEST(done.durations_positive());
  BOOST_TEST(rows(dir.file("g.db")) == (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

BOOST_AUTO_TEST_CASE(submitting_to_a_full_queue_is_busy) {
  test::temp_dir dir;
  writer_options wopts;
  wopts.queue_capacity = 2;
  auto writer = start(dir.file("b.db"), wopts);
  gate g;
  completions done;
  BOOST_REQUIRE(writer->submit(g.blocker(), done.make(0)));
  g.wait_entered();  // the blocker left the queue
  BOOST_REQUIRE(writer->submit(insert(1), done.make(1)));
  BOOST_REQUIRE(writer->submit(insert(2), done.make(2)));
  auto s = writer->submit(insert(3), done.make(3));
  BOOST_REQUIRE(!s);
  BOOST_TEST(s.err().code == errc::busy);
  BOOST_TEST(s.err().message.find("queue full") != std::string::npos);
  g.open();
  done.wait_for(3);
  writer->stop(shutdown_mode::drain);
  BOOST_TEST(done.order() == (std::vector<int>{0, 1, 2}));  // the refused batch never completes
  BOOST_TEST(rows(dir.file("b.db")) == (std::vector<std::int64_t>{1, 2}));
}

BOOST_AUTO_TEST_CASE(a_failing_batch_is_undone_alone_and_the_others_commit) {
  test::temp_dir dir;
  auto writer = start(dir.file("i.db"));
  gate g;
  completions done;
  BOOST_REQUIRE(writer->submit(g.blocker(), done.make(0)));
  g.wait_entered();
  BOOST_REQUIRE(writer->submit(insert(1), done.make(1)));
  BOOST_REQUIRE(writer->submit(
      [](database& db) -> status {
        if (auto s = insert(2)(db); !s) return s;
        return make_error(errc::invalid_argument, "batch 2 changed its mind");
      },
      done.make(2)));
  BOOST_REQUIRE(writer->submit(
      [](database& db) -> status {
        (void)insert(3)(db);
        throw std::runtime_error("batch 3 threw");
      },
      done.make(3)));
  BOOST_REQUIRE(writer->submit(insert(1), done.make(4)));  // duplicate key: constraint error
  BOOST_REQUIRE(writer->submit(insert(5), done.make(5)));
  g.open();
  done.wait_for(6);
  writer->stop(shutdown_mode::drain);
  BOOST_TEST(done.result_of(1).ok());
  BOOST_TEST(done.result_of(2).err().message == "batch 2 changed its mind");
  BOOST_TEST(done.result_of(3).err().code == errc::internal);
  BOOST_TEST(done.result_of(4).err().code == errc::invalid_argument);
  BOOST_TEST(done.result_of(5).ok());
  BOOST_TEST(!writer->failure().has_value());
  BOOST_TEST(rows(dir.file("i.db")) == (std::vector<std::int64_t>{1, 5}));
}

BOOST_AUTO_TEST_CASE(stop_with_drain_commits_every_queued_batch) {
  test::temp_dir dir;
  auto writer = start(dir.file("d.db"));
  completions done;
  for (int i = 1; i <= 50; ++i) BOOST_REQUIRE(writer->submit(insert(i), done.make(i)));
  writer->stop(shutdown_mode::drain);
  BOOST_TEST(done.order().size() == 50u);
  BOOST_TEST(rows(dir.file("d.db")).size() == 50u);
  auto after = writer->submit(insert(51), done.make(51));
  BOOST_REQUIRE(!after);
  BOOST_TEST(after.err().code == errc::closed);
}

BOOST_AUTO_TEST_CASE(stop_with_fail_pending_completes_queued_batches_as_closed) {
  test::temp_dir dir;
  auto writer = start(dir.file("f.db"));
  gate g;
  completions done;
  BOOST_REQUIRE(writer->submit(g.blocker(), done.make(0)));
  g.wait_entered();
  for (int i = 1; i <= 3; ++i) BOOST_REQUIRE(writer->submit(insert(i), done.make(i)));
  std::thread stopper([&] { writer->stop(shutdown_mode::fail_pending); });
  // stop() has taken effect once submit says closed (it sets the mode under the same lock).
  for (;;) {
    auto s = writer->submit(insert(99), done.make(99));
    if (!s && s.err().code == errc::closed) break;
    std::this_thread::yield();
  }
  g.open();
  stopper.join();
  BOOST_TEST(done.result_of(0).ok());
  for (int i = 1; i <= 3; ++i) BOOST_TEST(done.result_of(i).err().code == errc::closed);
  BOOST_TEST(rows(dir.file("f.db")).empty());
}

BOOST_AUTO_TEST_CASE(after_a_failed_commit_the_writer_refuses_all_further_work) {
  test::temp_dir dir;
  auto vfs = fault_vfs::install("fault-writer-full", 3);
  BOOST_REQUIRE(vfs);
  options opts = with_table();
  opts.vfs = (*vfs)->name();
  auto writer = start(dir.file("x.db"), {}, opts);
  completions done;
  BOOST_REQUIRE(writer->submit(insert(1), done.make(1)));
  done.wait_for(1);
  (*vfs)->fail_writes(write_fault::disk_full);
  BOOST_REQUIRE(writer->submit(insert(2), done.make(2)));
  done.wait_for(2);
  const status failed = done.result_of(2);
  BOOST_REQUIRE(!failed);
  BOOST_TEST(failed.err().message.find("disk full") != std::string::npos);
  BOOST_TEST(failed.err().message.find(dir.file("x.db")) != std::string::npos);
  BOOST_REQUIRE(writer->failure().has_value());
  auto refused = writer->submit(insert(3), done.make(3));
  BOOST_REQUIRE(!refused);
  BOOST_TEST(refused.err().message == failed.err().message);
  (*vfs)->clear_faults();
  writer->stop(shutdown_mode::drain);
  writer.reset();
  BOOST_TEST(rows(dir.file("x.db")) == (std::vector<std::int64_t>{1}));
}
