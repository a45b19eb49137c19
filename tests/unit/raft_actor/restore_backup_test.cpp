// --restore-from (consensus/actor/restore_backup.hpp): a backup becomes a one-node cluster's group
// files; the node's usual start (recover_from_snapshot, node::create) then restores the state
// machine from the image, finds itself the only voter and elects itself in a term above the
// backup's. A data directory that holds anything, a backup of another group and a damaged file are
// refused before anything is written.
#define BOOST_TEST_MODULE raft_restore_backup
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include "consensus/actor/restore_backup.hpp"
#include "consensus/actor/snapshot_io.hpp"
#include "consensus/actor/snapshot_recovery.hpp"
#include "consensus/core/membership.hpp"
#include "consensus/core/node.hpp"
#include "tests/support/process.hpp"
#include "tests/support/journal_machine.hpp"
#include "tests/support/solo_core.hpp"

using namespace troupe;
using namespace troupe::raft;

namespace {

using test_support::journal;

std::string sample_backup(group_id group = 1) {
  snapshot_metadata m;
  m.last_index = 40;
  m.last_term = 3;
  m.membership.voters = {1, 2, 3};
  return encode_backup(group, m, "a=1;b=2;");
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_restored_node_holds_the_image_and_elects_itself_alone_in_a_new_term) {
  test::temp_dir dir("restore-backup");
  const std::string bytes = sample_backup();
  auto backup = decode_backup(bytes);
  BOOST_REQUIRE(backup.ok());
  const std::string log_path = dir.file("raft-1.db");
  auto r = restore_backup(log_path, 1, 7, "127.0.0.1:7107", *backup);
  BOOST_TEST_REQUIRE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_TEST(r->snapshot_index == 40u);
  BOOST_TEST(r->config_index == 41u);
  BOOST_TEST(r->term == 4u);

  // What troupe node does next (spawn_raft_actor): recover, then create the core.
  auto log = sqlite_log_storage::open(log_path);
  BOOST_REQUIRE(log.ok());
  BOOST_TEST((*log)->first_index() == 41u);
  BOOST_TEST((*log)->last_index() == 41u);
  journal sm;
  auto recovered = recover_from_snapshot(snapshot_path_for(log_path), **log, sm);
  BOOST_TEST_REQUIRE(recovered.ok(), (recovered.ok() ? "" : recovered.err().message));
  BOOST_TEST(recovered->applied == 40u);
  BOOST_TEST(sm.query("") == "a=1;b=2;");
  BOOST_TEST(((*recovered->snapshots->latest()).metadata.membership.voters == std::vector<node_id>{7}));

  config cfg = test_support::solo_config(7, recovered->applied);
  cfg.voters = {7};
  auto core = node::create(cfg, **log);
  BOOST_TEST_REQUIRE(core.ok(), (core.ok() ? "" : core.err().message));
  const membership& m = (*core)->current_membership();
  BOOST_TEST((m.voters == std::vector<node_id>{7}));
  BOOST_REQUIRE(address_of(m, 7) != nullptr);
  BOOST_TEST(*address_of(m, 7) == "127.0.0.1:7107");
  BOOST_REQUIRE(test_support::run_until_leader(**core, **log).ok());
  BOOST_TEST(((*core)->status().role == role::leader));
  BOOST_TEST((*core)->status().term > 4u);
  BOOST_TEST((*core)->status().commit >= 41u);
}

BOOST_AUTO_TEST_CASE(existing_group_files_another_group_and_a_bad_file_are_refused) {
  test::temp_dir dir("restore-backup");
  const std::string bytes = sample_backup();
  auto backup = decode_backup(bytes);
  BOOST_REQUIRE(backup.ok());
  const std::string log_path = dir.file("raft-1.db");
  { std::ofstream(log_path) << "x"; }
  auto r = restore_backup(log_path, 1, 7, "127.0.0.1:7107", *backup);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.err().message.find("already exists") != std::string::npos, r.err().message);
  BOOST_TEST(!std::filesystem::exists(snapshot_path_for(log_path)));  // nothing written

  const std::string other_bytes = sample_backup(2);
  auto other = decode_backup(other_bytes);
  BOOST_REQUIRE(other.ok());
  auto g = restore_backup(dir.file("raft-9.db"), 1, 7, "127.0.0.1:7107", *other);
  BOOST_REQUIRE(!g.ok());
  BOOST_TEST(g.err().message == "the backup is of group 2, this node runs group 1");

  // The node's own checks: a data directory with anything in it, and a damaged file.
  auto used = check_empty_directory(dir.path());
  BOOST_REQUIRE(!used.ok());
  BOOST_TEST(used.err().message.find("already holds data") != std::string::npos);
  BOOST_TEST(check_empty_directory(dir.file("not-created-yet")).ok());
  std::string damaged = bytes;
  damaged[damaged.size() / 2] ^= 1;
  const std::string damaged_path = dir.file("damaged.backup");
  { std::ofstream(damaged_path, std::ios::binary) << damaged; }
  auto read = read_backup_file(damaged_path);
  BOOST_REQUIRE(!read.ok());
  BOOST_TEST(read.err().message.find(damaged_path) != std::string::npos);
  BOOST_TEST(read.err().message.find("checksum mismatch") != std::string::npos, read.err().message);
  BOOST_TEST((read_backup_file(dir.file("missing.backup")).err().code == errc::io));
}

// A SIGKILL inside restore_backup after the image is durable and before the log is written leaves
// a snapshot of the backup's term and an empty log (term 0). Started again without the flag, the
// node must not campaign in a term below the snapshot's: its no-op would then be older than the
// entry before it (terms grow along a log, Raft §5.3). install_latest_in_log raises the term.
BOOST_AUTO_TEST_CASE(a_restore_cut_after_the_image_never_appends_below_the_backups_term) {
  test::temp_dir dir("restore-backup");
  const std::string log_path = dir.file("raft-1.db");
  membership alone;
  alone.voters = {7};
  const snapshot_metadata meta{40, 3, alone};
  {
    auto snaps = sqlite_snapshot_store::open(snapshot_path_for(log_path));
    BOOST_REQUIRE(snaps.ok());
    BOOST_REQUIRE((*snaps)->save(meta, "a=1;").ok());
  }
  auto log = sqlite_log_storage::open(log_path);  // what the cut left: an empty log
  BOOST_REQUIRE(log.ok());
  journal sm;
  auto recovered = recover_from_snapshot(snapshot_path_for(log_path), **log, sm);
  BOOST_TEST_REQUIRE(recovered.ok(), (recovered.ok() ? "" : recovered.err().message));
  auto installed = install_latest_in_log(**log, *recovered->snapshots);
  BOOST_REQUIRE(installed.ok());
  BOOST_TEST(*installed);
  BOOST_TEST((*log)->initial_hard_state()->term == 3u);
  BOOST_TEST((*log)->initial_hard_state()->voted_for == no_node);

  auto core = node::create(test_support::solo_config(7, recovered->applied), **log);
  BOOST_TEST_REQUIRE(core.ok(), (core.ok() ? "" : core.err().message));
  BOOST_REQUIRE(test_support::run_until_leader(**core, **log).ok());
  BOOST_TEST_REQUIRE(((*core)->status().role == role::leader));
  BOOST_REQUIRE((*log)->last_index() >= 41u);
  BOOST_TEST(*(*log)->term(41) > 3u);  // the leader's no-op, in a term above the snapshot's
}

// A path that is not a backup is refused after its first bytes: /dev/zero never ends, and was read
// whole into memory before it was checked (the node hung, then died of memory).
BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_backup_is_refused_without_reading_it_whole) {
  auto r = read_backup_file("/dev/zero");
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST((r.err().code == errc::malformed));
  BOOST_TEST(r.err().message.find("/dev/zero") != std::string::npos);
  BOOST_TEST(r.err().message.find("not a troupe backup file") != std::string::npos, r.err().message);
  // A valid backup with bytes after it: refused as trailing bytes, named.
  test::temp_dir dir("restore-backup");
  const std::string longer = dir.file("longer.backup");
  { std::ofstream(longer, std::ios::binary) << sample_backup() << "extra"; }
  auto t = read_backup_file(longer);
  BOOST_REQUIRE(!t.ok());
  BOOST_TEST(t.err().message.find("trailing bytes") != std::string::npos, t.err().message);
  // And a valid one is read back whole.
  const std::string good = dir.file("good.backup");
  { std::ofstream(good, std::ios::binary) << sample_backup(); }
  auto g = read_backup_file(good);
  BOOST_REQUIRE(g.ok());
  BOOST_TEST(*g == sample_backup());
}
