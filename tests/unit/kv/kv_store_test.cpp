// kv_store: revisions per write batch, per-key create/mod revisions and versions, prefix listing,
// the bounded history and its compaction.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <random>

#include "examples/kv/kv_store.hpp"

namespace troupe::kv {
namespace {

write_op put(std::string k, std::string v) { return write_op{change_kind::put, std::move(k), std::move(v)}; }
write_op del(std::string k) { return write_op{change_kind::del, std::move(k), {}}; }

BOOST_AUTO_TEST_SUITE(kv_store_tests)

BOOST_AUTO_TEST_CASE(each_changing_batch_takes_the_next_revision) {
  kv_store s;
  BOOST_TEST(s.revision() == 0u);
  BOOST_TEST(*s.write({put("a", "1")}) == 1u);
  BOOST_TEST(*s.write({put("b", "2"), put("c", "3")}) == 2u);  // one batch, one revision
  BOOST_TEST(!s.write({del("absent")}).has_value());            // nothing changed
  BOOST_TEST(s.revision() == 2u);
  std::vector<bool> existed;
  BOOST_TEST(*s.write({del("a"), del("zz")}, &existed) == 3u);
  BOOST_TEST((existed == std::vector<bool>{true, false}));
  BOOST_TEST(s.find("a") == nullptr);
  BOOST_TEST(s.size() == 2u);
}

// find() answers from a hash index beside the ordered map: checked against the map itself after
// random puts and deletes, and in copies and moved stores (the index points into the map's nodes).
BOOST_AUTO_TEST_CASE(find_agrees_with_the_ordered_data_after_puts_deletes_copies_and_moves) {
  const unsigned seed = std::getenv("TROUPE_SEED") ? static_cast<unsigned>(std::atoi(std::getenv("TROUPE_SEED"))) : 7u;
  BOOST_TEST_MESSAGE("seed " << seed << " (rerun with TROUPE_SEED=" << seed << ")");
  std::mt19937 rng(seed);
  auto agree = [](const kv_store& st) {
    for (int k = 0; k < 64; ++k) {
      const auto key = "k" + std::to_string(k);
      auto it = st.data().find(key);
      const key_record* rec = st.find(key);
      BOOST_REQUIRE_MESSAGE((rec == nullptr) == (it == st.data().end()), key);
      if (rec != nullptr) BOOST_REQUIRE(rec == &it->second);
    }
  };
  kv_store s;
  for (int i = 0; i < 2000; ++i) {
    const auto key = "k" + std::to_string(rng() % 64);
    if (rng() % 3 == 0) {
      (void)s.write({del(key)});
    } else {
      (void)s.write({put(key, std::to_string(i))});
    }
    if (i % 100 == 0) agree(s);
  }
  agree(s);
  kv_store copy = s;  // its own index, into its own nodes
  (void)copy.write({put("k1", "copy only"), del("k2")});
  agree(copy);
  agree(s);
  BOOST_TEST((s.find("k1") == nullptr || s.find("k1")->value != "copy only"));
  kv_store moved = std::move(copy);
  agree(moved);
  BOOST_TEST(moved.find("k1")->value == "copy only");
  kv_store restored;
  BOOST_TEST(restored.assign(s.data(), s.history(), s.revision(), s.compacted_revision()).empty());
  agree(restored);
}

BOOST_AUTO_TEST_CASE(a_key_keeps_its_create_revision_and_counts_versions) {
  kv_store s;
  (void)s.write({put("x", "1")});
  (void)s.write({put("y", "1")});
  (void)s.write({put("x", "2")});
  const key_record* x = s.find("x");
  BOOST_REQUIRE(x != nullptr);
  BOOST_TEST(x->value == "2");
  BOOST_TEST(x->create_revision == 1u);
  BOOST_TEST(x->mod_revision == 3u);
  BOOST_TEST(x->version == 2u);
  (void)s.write({del("x")});
  (void)s.write({put("x", "3")});  // a new life: new create revision, version 1
  x = s.find("x");
  BOOST_TEST(x->create_revision == 5u);
  BOOST_TEST(x->version == 1u);
  BOOST_TEST(s.data_bytes() == 2u + 2u);  // "x"+"3", "y"+"1"
}

BOOST_AUTO_TEST_CASE(prefix_listing_is_in_key_order_and_paged) {
  kv_store s;
  (void)s.write({put("app/b", "2"), put("app/a", "1"), put("apq", "no"), put("ap", "no"), put("app/c", "3")});
  bool more = false;
  auto all = s.list({"app/", true}, "", 10, 1 << 20, false, more);
  BOOST_TEST(!more);
  BOOST_REQUIRE(all.size() == 3u);
  BOOST_TEST(all[0].first == "app/a");
  BOOST_TEST(all[2].first == "app/c");
  auto two = s.list({"app/", true}, "", 2, 1 << 20, false, more);
  BOOST_TEST(two.size() == 2u);
  BOOST_TEST(more);
  auto one = s.list({"app/b", false}, "", 10, 1 << 20, false, more);
  BOOST_REQUIRE(one.size() == 1u);
  BOOST_TEST(one[0].second.value == "2");
  auto everything = s.list({"", true}, "", 100, 1 << 20, false, more);
  BOOST_TEST(everything.size() == 5u);
  auto by_bytes = s.list({"app/", true}, "", 10, 7, false, more);  // each key+value is 6 bytes
  BOOST_TEST(by_bytes.size() == 1u);
  BOOST_TEST(more);
}

BOOST_AUTO_TEST_CASE(listing_pages_on_from_the_last_key_seen_and_can_leave_values_out) {
  kv_store s;
  (void)s.write({put("p/a", "1"), put("p/b", "2"), put("p/c", "3"), put("q", "4")});
  bool more = false;
  auto page1 = s.list({"p/", true}, "", 2, 1 << 20, false, more);
  BOOST_REQUIRE(page1.size() == 2u);
  BOOST_TEST(more);
  auto page2 = s.list({"p/", true}, page1.back().first, 2, 1 << 20, false, more);
  BOOST_REQUIRE(page2.size() == 1u);
  BOOST_TEST(page2[0].first == "p/c");
  BOOST_TEST(!more);
  auto keys = s.list({"p/", true}, "", 10, 1 << 20, true, more);
  BOOST_REQUIRE(keys.size() == 3u);
  BOOST_TEST(keys[1].second.value.empty());
  BOOST_TEST(keys[1].second.mod_revision == 1u);
  BOOST_TEST(s.list({"p/", true}, "a", 10, 1 << 20, false, more).size() == 3u);  // before the prefix
  BOOST_TEST(s.list({"p/", true}, "z", 10, 1 << 20, false, more).empty());       // past it
}

BOOST_AUTO_TEST_CASE(a_batch_is_one_revision_and_its_reads_see_its_own_writes) {
  kv_store s;
  (void)s.write({put("a", "0")});
  s.begin_batch();
  s.put("a", "1");
  BOOST_TEST(s.find("a")->value == "1");
  BOOST_TEST(s.find("a")->mod_revision == 2u);  // the revision the batch will take
  BOOST_TEST(s.erase("a"));
  BOOST_TEST(!s.erase("a"));
  s.put("b", "1");
  BOOST_TEST(s.revision() == 1u);  // not yet committed
  BOOST_TEST(*s.end_batch() == 2u);
  auto page = s.changes({"", true}, 2, 100, 1 << 20);
  BOOST_TEST(page.events.size() == 3u);
  s.begin_batch();
  BOOST_TEST(!s.erase("nothing"));
  BOOST_TEST(!s.end_batch().has_value());
}

BOOST_AUTO_TEST_CASE(changes_since_a_revision_come_in_order_filtered_by_key_or_prefix) {
  kv_store s;
  (void)s.write({put("cfg/a", "1")});           // 1
  (void)s.write({put("other", "x")});           // 2
  (void)s.write({put("cfg/b", "2"), del("cfg/a")});  // 3
  auto page = s.changes({"cfg/", true}, 1, 100, 1 << 20);
  BOOST_TEST(!page.compacted);
  BOOST_REQUIRE(page.events.size() == 3u);
  BOOST_TEST(page.events[0].revision == 1u);
  BOOST_TEST(page.events[1].key == "cfg/b");
  BOOST_TEST((page.events[2].kind == change_kind::del));
  BOOST_TEST(page.events[2].create_revision == 1u);
  BOOST_TEST(page.next_revision == 4u);
  BOOST_TEST(!page.more);
  auto one_key = s.changes({"cfg/a", false}, 2, 100, 1 << 20);
  BOOST_REQUIRE(one_key.events.size() == 1u);
  BOOST_TEST(one_key.events[0].revision == 3u);
  auto now = s.changes({"cfg/", true}, 0, 100, 1 << 20);  // from now: nothing yet
  BOOST_TEST(now.events.empty());
  BOOST_TEST(now.next_revision == 4u);
  auto future = s.changes({"cfg/", true}, 9, 100, 1 << 20);
  BOOST_TEST(future.events.empty());
  BOOST_TEST(future.next_revision == 9u);
}

BOOST_AUTO_TEST_CASE(a_page_never_splits_a_revision) {
  kv_store s;
  (void)s.write({put("a", "1")});                            // 1
  (void)s.write({put("b", "1"), put("c", "1"), put("d", "1")});  // 2
  (void)s.write({put("e", "1")});                            // 3
  auto page = s.changes({"", true}, 1, 2, 1 << 20);
  BOOST_REQUIRE(page.events.size() == 1u);  // revision 2 would exceed 2 events: stop before it
  BOOST_TEST(page.more);
  BOOST_TEST(page.next_revision == 2u);
  page = s.changes({"", true}, 2, 2, 1 << 20);
  BOOST_TEST(page.events.size() == 3u);  // a lone revision larger than the page is still returned
  BOOST_TEST(page.next_revision == 3u);
  page = s.changes({"", true}, 3, 2, 1 << 20);
  BOOST_TEST(page.events.size() == 1u);
  BOOST_TEST(!page.more);
  BOOST_TEST(page.next_revision == 4u);
}

BOOST_AUTO_TEST_CASE(history_is_compacted_by_retention_and_old_revisions_say_so) {
  kv_store s(history_limits{3, 1 << 20});
  for (int i = 1; i <= 5; ++i) (void)s.write({put("k", std::to_string(i))});
  BOOST_TEST(s.compacted_revision() == 2u);  // revisions 3, 4, 5 kept
  BOOST_TEST(s.history_events() == 3u);
  auto gone = s.changes({"k", false}, 2, 100, 1 << 20);
  BOOST_TEST(gone.compacted);
  BOOST_TEST(gone.compacted_revision == 2u);
  BOOST_TEST(gone.events.empty());
  auto kept = s.changes({"k", false}, 3, 100, 1 << 20);
  BOOST_TEST(!kept.compacted);
  BOOST_REQUIRE(kept.events.size() == 3u);
  BOOST_TEST(kept.events.front().value == "3");
}

BOOST_AUTO_TEST_CASE(history_is_compacted_by_bytes_whole_revisions_at_a_time) {
  kv_store s(history_limits{1000, 10});
  (void)s.write({put("a", "1234")});            // 5 bytes, revision 1
  (void)s.write({put("b", "12"), put("c", "12")});  // 6 bytes, revision 2: 11 > 10
  BOOST_TEST(s.compacted_revision() == 1u);
  BOOST_TEST(s.history_events() == 2u);
  BOOST_TEST(s.history_bytes() == 6u);
  (void)s.write({put("d", "123456789012")});  // 13 bytes alone: everything goes
  BOOST_TEST(s.compacted_revision() == 3u);
  BOOST_TEST(s.history_events() == 0u);
  BOOST_TEST(s.history_bytes() == 0u);
  BOOST_TEST(s.changes({"", true}, 3, 10, 100).compacted);
  auto next = s.changes({"", true}, 4, 10, 100);
  BOOST_TEST(!next.compacted);
  BOOST_TEST(next.events.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace troupe::kv
