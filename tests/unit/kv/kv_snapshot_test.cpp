// kv_state_machine snapshot() / restore(): a restored replica is indistinguishable from the one that
// took the snapshot (data, revisions, history and its compaction horizon, sessions and their
// eviction order, evicted ids); equal states give equal bytes; a damaged, truncated or forged image is
// refused with errc::corrupt and changes nothing.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <random>

#include "examples/kv/kv_snapshot.hpp"
#include "examples/kv/kv_state_machine.hpp"
#include "runtime/base/crc32c.hpp"
#include "tests/unit/kv/kv_wire.hpp"

namespace troupe::kv {
namespace {

using namespace troupe::kv::test;
using wire::client_error;
using body_t = decltype(wire::client_request::body);

/// Small limits so that a short run compacts the history and evicts sessions.
kv_options small_options() {
  kv_options o;
  o.sessions.max_sessions = 5;
  o.sessions.remembered_evictions = 4;
  o.history.retention_revisions = 20;
  return o;
}

std::uint64_t seed_from_env() {
  const char* s = std::getenv("TROUPE_SEED");
  return s ? std::strtoull(s, nullptr, 10) : 20261126;
}

/// A deterministic command stream: puts, deletes, cas, txns, retries and new clients.
class workload {
 public:
  explicit workload(std::uint64_t seed) : rng_(seed) {}
  std::string next() {
    const std::uint64_t client = 1 + rng_() % 9;
    std::uint64_t& seq = sequences_[client];
    // Now and then retry the last request (a duplicate); otherwise a new one.
    if (seq == 0 || rng_() % 8 != 0) ++seq;
    const std::string key = "k" + std::to_string(rng_() % 12);
    body_t body;
    switch (rng_() % 4) {
      case 0: body = wire::kv_del{key}; break;
      case 1: body = wire::kv_cas{key, std::nullopt, "c" + std::to_string(rng_() % 100)}; break;
      case 2: {
        wire::kv_txn txn;
        txn.success.push_back(wire::kv_txn_op{wire::kv_put{key + "a", "t"}});
        txn.success.push_back(wire::kv_txn_op{wire::kv_del{key}});
        body = std::move(txn);
        break;
      }
      default: body = wire::kv_put{key, std::string(rng_() % 40, 'v')}; break;
    }
    return request_bytes(client, seq, std::move(body));
  }

 private:
  std::mt19937_64 rng_;
  std::uint64_t sequences_[10] = {};
};

/// Applies `n` commands of `w` to `sm` from its applied index on; returns the replies.
std::vector<std::string> drive(kv_state_machine& sm, workload& w, int n) {
  std::vector<std::string> replies;
  for (int i = 0; i < n; ++i) replies.push_back(sm.apply(sm.applied_index() + 1, w.next()));
  return replies;
}

std::string query(const kv_state_machine& sm, body_t body) { return sm.query(request_bytes(77, 1, std::move(body))); }

BOOST_AUTO_TEST_SUITE(kv_snapshot_tests)

BOOST_AUTO_TEST_CASE(a_restored_replica_answers_and_continues_exactly_like_the_original) {
  const auto seed = seed_from_env();
  BOOST_TEST_MESSAGE("seed " << seed << " (rerun: TROUPE_SEED=" << seed << ")");
  kv_state_machine original(small_options());
  workload w(seed);
  drive(original, w, 400);
  // The run reached what the image must carry: compaction and evictions.
  BOOST_REQUIRE(original.store().compacted_revision() > 0);
  BOOST_REQUIRE(original.sessions().evictions() > 0);
  BOOST_REQUIRE(original.store().size() > 0);

  const std::string image = original.snapshot();
  kv_state_machine replica(small_options());
  BOOST_REQUIRE(replica.restore(original.applied_index(), image).ok());
  BOOST_TEST(replica.applied_index() == original.applied_index());
  BOOST_TEST(replica.snapshot() == image);
  BOOST_TEST((replica.store().data() == original.store().data()));
  BOOST_TEST(replica.store().revision() == original.store().revision());
  BOOST_TEST(replica.store().compacted_revision() == original.store().compacted_revision());
  BOOST_TEST(replica.store().data_bytes() == original.store().data_bytes());
  BOOST_TEST(replica.store().history_bytes() == original.store().history_bytes());
  BOOST_TEST(replica.sessions().reply_bytes() == original.sessions().reply_bytes());

  // Reads agree: a range of everything, the history from just above the horizon, one that is compacted.
  BOOST_TEST(query(replica, wire::kv_range{"", true}) == query(original, wire::kv_range{"", true}));
  const auto from = original.store().compacted_revision() + 1;
  BOOST_TEST(query(replica, wire::kv_changes{"", true, from}) == query(original, wire::kv_changes{"", true, from}));
  BOOST_TEST(query(replica, wire::kv_changes{"", true, 1}) == query(original, wire::kv_changes{"", true, 1}));

  // And so do later commands, byte for byte: duplicates, expired sessions and later evictions
  // depend on the restored session table and its order.
  workload w1(seed + 1), w2(seed + 1);
  BOOST_TEST(drive(replica, w2, 300) == drive(original, w1, 300));
  BOOST_TEST(replica.snapshot() == original.snapshot());
}

BOOST_AUTO_TEST_CASE(equal_states_give_equal_bytes_and_different_states_different_bytes) {
  kv_state_machine a(small_options()), b(small_options());
  workload wa(7), wb(7);
  drive(a, wa, 150);
  drive(b, wb, 150);
  BOOST_TEST(a.snapshot() == b.snapshot());
  // A replica restored from an image and one that applied the log hold the same state: same bytes,
  // although their hash tables were built differently.
  kv_state_machine c(small_options());
  BOOST_REQUIRE(c.restore(a.applied_index(), a.snapshot()).ok());
  workload wc(8), wa2(8);
  drive(c, wc, 50);
  drive(a, wa2, 50);
  BOOST_TEST(c.snapshot() == a.snapshot());
  BOOST_TEST(a.snapshot() != b.snapshot());
  // An empty machine has an image too, and it restores.
  kv_state_machine empty;
  kv_state_machine empty2;
  BOOST_TEST(empty2.restore(0, empty.snapshot()).ok());
  BOOST_TEST(empty2.snapshot() == empty.snapshot());
}

BOOST_AUTO_TEST_CASE(every_truncation_and_every_flipped_byte_is_refused_as_corrupt_and_changes_nothing) {
  kv_state_machine source(small_options());
  workload w(3);
  drive(source, w, 60);
  const std::string image = source.snapshot();
  kv_state_machine target(small_options());
  workload wt(4);
  drive(target, wt, 30);
  const std::string before = target.snapshot();
  const auto at = source.applied_index();
  for (std::size_t n = 0; n < image.size(); ++n) {
    auto s = target.restore(at, std::string_view(image).substr(0, n));
    BOOST_REQUIRE_MESSAGE(!s.ok(), "a prefix of " << n << " bytes was accepted");
    BOOST_REQUIRE(s.err().code == errc::corrupt);
  }
  for (std::size_t i = 0; i < image.size(); ++i) {
    std::string damaged = image;
    damaged[i] = static_cast<char>(damaged[i] ^ (1 << (i % 8)));
    auto s = target.restore(at, damaged);
    BOOST_REQUIRE_MESSAGE(!s.ok(), "a flip at byte " << i << " was accepted");
    BOOST_REQUIRE(s.err().code == errc::corrupt);
  }
  BOOST_TEST(!target.restore(at, image + "x").ok());
  BOOST_TEST(target.snapshot() == before);
  BOOST_TEST(target.restore(at, image).ok());
  BOOST_TEST(target.snapshot() == image);
}

/// Rewrites the trailing checksum so that a forged body gets past it.
std::string reseal(std::string image) {
  image.resize(image.size() - 8);
  const std::uint64_t crc = crc32c(image);
  for (int i = 0; i < 8; ++i) image.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return image;
}

void put_u64_at(std::string& s, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

BOOST_AUTO_TEST_CASE(forged_images_with_a_valid_checksum_are_refused_without_allocating_their_claims) {
  kv_state_machine source(small_options());
  workload w(5);
  drive(source, w, 40);
  const std::string image = source.snapshot();
  kv_state_machine target(small_options());
  const auto at = source.applied_index();
  // Offsets from the format: magic 8, version 8, applied 8, revision 8, compacted 8, then n_keys.
  constexpr std::size_t version_at = 8, revision_at = 24, compacted_at = 32, n_keys_at = 40;
  {
    std::string f = image;
    f[version_at] = 2;
    auto s = target.restore(at, reseal(f));
    BOOST_REQUIRE(!s.ok());
    BOOST_TEST((s.err().code == errc::corrupt));
    BOOST_TEST(s.err().message.find("format version 2") != std::string::npos);
  }
  {
    std::string f = image;
    put_u64_at(f, n_keys_at, ~std::uint64_t{0} / 2);  // 2^63 keys: must not reserve or loop
    auto s = target.restore(at, reseal(f));
    BOOST_TEST((!s.ok() && s.err().code == errc::corrupt));
  }
  {
    std::string f = image;
    put_u64_at(f, revision_at, 0);  // records newer than the store's revision
    auto s = target.restore(at, reseal(f));
    BOOST_TEST((!s.ok() && s.err().code == errc::corrupt));
  }
  {
    std::string f = image;
    put_u64_at(f, compacted_at, source.store().revision() + 5);
    auto s = target.restore(at, reseal(f));
    BOOST_TEST((!s.ok() && s.err().code == errc::corrupt));
  }
  BOOST_TEST(target.applied_index() == 0u);
  BOOST_TEST(target.store().size() == 0u);
}

BOOST_AUTO_TEST_CASE(an_image_offered_for_another_index_is_refused) {
  kv_state_machine source;
  workload w(9);
  drive(source, w, 10);
  kv_state_machine target;
  auto s = target.restore(source.applied_index() + 1, source.snapshot());
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST((s.err().code == errc::invalid_argument));
  BOOST_TEST(target.applied_index() == 0u);
}

/// The documented format (kv_snapshot.hpp), written the plain way, one byte at a time: the oracle
/// the encoder, which writes in place with a reserved buffer and appends a record at a time, must
/// match byte for byte (the format did not change with that speed-up).
std::string plain_image(const kv_state_machine& sm) {
  std::string out;
  auto u64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  auto bytes = [&](std::string_view b) {
    u64(b.size());
    out.append(b);
  };
  const kv_store& store = sm.store();
  u64(0x504E53564B505254ULL);  // "TRPKVSNP"
  u64(1);
  u64(sm.applied_index());
  u64(store.revision());
  u64(store.compacted_revision());
  u64(store.data().size());
  for (const auto& [key, rec] : store.data()) {
    bytes(key);
    bytes(rec.value);
    u64(rec.create_revision);
    u64(rec.mod_revision);
    u64(rec.version);
  }
  u64(store.history().size());
  for (const auto& e : store.history()) {
    u64(e.revision);
    out.push_back(e.kind == change_kind::put ? '\0' : '\1');
    bytes(e.key);
    bytes(e.value);
    u64(e.create_revision);
    u64(e.version);
  }
  u64(sm.sessions().size());
  sm.sessions().for_each([&](const session_table::entry_view& e) {
    u64(e.client);
    u64(e.sequence);
    u64(e.last_index);
    bytes(e.reply);
  });
  u64(sm.sessions().evictions());
  u64(sm.sessions().evicted_order().size());
  for (std::uint64_t client : sm.sessions().evicted_order()) u64(client);
  u64(crc32c(out));
  return out;
}

BOOST_AUTO_TEST_CASE(the_image_is_the_documented_format_byte_for_byte_and_its_size_is_known_in_advance) {
  const auto seed = seed_from_env();
  BOOST_TEST_MESSAGE("seed " << seed << " (rerun: TROUPE_SEED=" << seed << ")");
  kv_state_machine sm(small_options());
  workload w(seed);
  std::uint64_t long_client = 1000, long_seq = 0;
  for (int round = 0; round < 40; ++round) {
    drive(sm, w, 10);
    // Records that fill the encoder's 1 KiB record buffer exactly (key + value = 984 bytes), miss it
    // by one byte, or are far beyond it (4 KB keys); empty values.
    const std::size_t key_bytes = std::size_t{60} + static_cast<std::size_t>(round) % 8 + (round % 5 == 0 ? 4000 : 0);
    const std::size_t fit = key_bytes < 984 ? 984 - key_bytes : 0;
    const std::size_t value_bytes[] = {0, 100, fit, fit + 1};
    (void)sm.apply(sm.applied_index() + 1,
                   request_bytes(long_client, ++long_seq,
                                 wire::kv_put{std::string(key_bytes, static_cast<char>('a' + round % 26)),
                                              std::string(value_bytes[round % 4], 'w')}));
    if (long_seq > 3) {  // a new session now and then: evictions
      long_seq = 0;
      ++long_client;
    }
    const std::string image = sm.snapshot();
    BOOST_REQUIRE_MESSAGE(image == plain_image(sm), "round " << round << ": the image differs from the format");
    BOOST_REQUIRE_EQUAL(sm.snapshot_size(), image.size());
    BOOST_REQUIRE_EQUAL(image.capacity(), image.size());  // allocated once, at its size
    // Appended behind other bytes: exactly the same image, its checksum over its own bytes only.
    std::string embedded = "prefix";
    sm.append_snapshot(embedded);
    BOOST_REQUIRE(embedded == "prefix" + image);
  }
  BOOST_TEST(sm.sessions().evictions() > 0u);
  BOOST_TEST(sm.store().compacted_revision() > 0u);
  const auto& data = sm.store().data();
  BOOST_TEST(std::any_of(data.begin(), data.end(), [](const auto& kv) { return kv.first.size() > 1000; }));
  // The empty machine too.
  kv_state_machine empty;
  BOOST_TEST(empty.snapshot() == plain_image(empty));
  BOOST_TEST(empty.snapshot_size() == empty.snapshot().size());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::kv
