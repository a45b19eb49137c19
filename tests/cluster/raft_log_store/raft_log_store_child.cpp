// raft_log_store_child PATH: opens the Raft log store at PATH (default options: real VFS,
// synchronous=FULL, background checkpointer) and appends until killed. Each round appends a few
// entries with wrong payloads, then overwrites the last of them with the right ones (a conflicting
// suffix replaced before the sync), then syncs and prints "synced <last index>". Prints
// "open last=<N>" first. Used by raft_log_store_sigkill_test, which kills it with SIGKILL.
#include <cstdio>
#include <vector>

#include "consensus/storage/sqlite_log_storage.hpp"
#include "tests/cluster/raft_log_store/child_log.hpp"

using namespace troupe;
using namespace troupe::raft;

namespace {

int fail(const char* what, const status& st) {
  std::fprintf(stderr, "%s: %s\n", what, st.err().message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PATH\n", argv[0]);
    return 2;
  }
  auto store = sqlite_log_storage::open(argv[1]);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.err().message.c_str());
    return 1;
  }
  auto& s = **store;
  std::printf("open last=%llu\n", static_cast<unsigned long long>(s.last_index()));
  std::fflush(stdout);
  for (std::uint64_t round = 0;; ++round) {
    const index_t first = s.last_index() + 1;
    const std::size_t count = 1 + round % 17;
    std::vector<log_entry> wrong;
    for (index_t i = first; i < first + count; ++i) {
      auto e = test::child_entry(i);
      e.data += "not-this-one";
      wrong.push_back(std::move(e));
    }
    const std::size_t keep = round % count;  // the first `keep` wrong ones are overwritten too
    std::vector<log_entry> right;
    for (index_t i = first + keep; i < first + count; ++i) right.push_back(test::child_entry(i));
    std::vector<log_entry> head;
    for (index_t i = first; i < first + keep; ++i) head.push_back(test::child_entry(i));
    // Append wrong entries, then replace them: the head is rewritten from `first`, the rest after.
    if (auto st = s.append(wrong); !st) return fail("append", st);
    if (auto st = s.append(head); !st) return fail("append", st);
    if (auto st = s.append(right); !st) return fail("append", st);
    const hard_state hs{test::child_term(s.last_index()), 1, first - 1};
    if (auto st = s.set_hard_state(hs); !st) return fail("set_hard_state", st);
    if (auto st = s.sync(); !st) return fail("sync", st);
    std::printf("synced %llu\n", static_cast<unsigned long long>(s.last_index()));
    std::fflush(stdout);
  }
}
