/// `troupe kv`: argument parsing (every usage error is exit 2 with one line) and the mapping from
/// outcomes to output and exit codes, run against the scripted cluster of fake_cluster.hpp.
#include <boost/test/unit_test.hpp>

#include <functional>
#include <sstream>

#include "runtime/client/kv_command.hpp"
#include "runtime/client/kv_txn_script.hpp"
#include "tests/unit/client/fake_cluster.hpp"

using namespace std::chrono_literals;
using troupe::client::kv_command;
using troupe::client::kv_op;
using troupe::client::parse_kv_command;
using troupe::test::fake_cluster;

namespace {

std::vector<std::string> words(std::initializer_list<const char*> w) {
  std::vector<std::string> v(w.begin(), w.end());
  v.push_back("--endpoints=n1:1,n2:2,n3:3");  // parsed as host:port; the fake maps by position
  return v;
}

std::string parse_error(std::vector<std::string> w) {
  auto c = parse_kv_command(w);
  BOOST_REQUIRE(!c);
  BOOST_TEST(c.err().message.find('\n') == std::string::npos);
  return c.err().message;
}

struct run_result {
  int code;
  std::string out, err;
};

run_result run(fake_cluster& c, std::initializer_list<const char*> w) {
  auto cmd = parse_kv_command(words(w));
  BOOST_REQUIRE_MESSAGE(cmd, (cmd ? std::string() : cmd.err().message));
  auto o = troupe::client::kv_options_for(cmd->common);
  o.endpoints = {"n1", "n2", "n3"};
  o.seed = 7;
  troupe::client::kv_client k(o, c.factory(), c.clock());
  std::ostringstream out, err;
  int code = troupe::client::run_kv_command(*cmd, k, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kv_command_parsing)

BOOST_AUTO_TEST_CASE(each_operation_takes_its_arguments_with_options_anywhere) {
  auto p = parse_kv_command({"put", "--timeout=2s", "k", "v", "--endpoints=127.0.0.1:7101"});
  BOOST_REQUIRE(p);
  BOOST_TEST((p->op == kv_op::put));
  BOOST_TEST(p->key == "k");
  BOOST_TEST(p->value == "v");
  BOOST_TEST(p->common.timeout.count() == 2000);
  BOOST_TEST(p->common.endpoints.size() == 1u);

  auto g = parse_kv_command(words({"get", "k", "--consistency=follower"}));
  BOOST_REQUIRE(g);
  BOOST_TEST((g->consistency == troupe::wire::read_consistency::follower));
  auto d = parse_kv_command(words({"get", "k"}));
  BOOST_TEST((d->consistency == troupe::wire::read_consistency::linearizable));

  auto c = parse_kv_command(words({"cas", "k", "old", "new"}));
  BOOST_REQUIRE(c);
  BOOST_TEST(*c->expected == "old");
  BOOST_TEST(c->value == "new");
  auto a = parse_kv_command(words({"cas", "--expect-absent", "k", "new"}));
  BOOST_REQUIRE(a);
  BOOST_TEST(!a->expected.has_value());
  BOOST_TEST(a->value == "new");

  auto dash = parse_kv_command({"put", "k", "--endpoints=127.0.0.1:1", "--", "-starts-with-dash"});
  BOOST_REQUIRE(dash);
  BOOST_TEST(dash->value == "-starts-with-dash");
}

BOOST_AUTO_TEST_CASE(usage_errors_name_the_problem) {
  BOOST_TEST(parse_error(words({})).find("missing operation") != std::string::npos);
  BOOST_TEST(parse_error(words({"frob", "k"})).find("unknown operation 'frob'") != std::string::npos);
  BOOST_TEST(parse_error(words({"put", "k"})).find("put KEY VALUE") != std::string::npos);
  BOOST_TEST(parse_error(words({"get", "k", "extra"})).find("get KEY") != std::string::npos);
  BOOST_TEST(parse_error(words({"cas", "--expect-absent", "k", "a", "b"})).find("cas") != std::string::npos);
  BOOST_TEST(parse_error(words({"get", ""})).find("empty") != std::string::npos);
  BOOST_TEST(parse_error(words({"get", "k", "--consistency=eventual"})).find("--consistency") != std::string::npos);
  BOOST_TEST(parse_error(words({"put", "k", "v", "--consistency=lease"})).find("consistency") != std::string::npos);
  // A kv request carries no session index: `session` would silently be `stale`, so it is refused.
  const auto session = parse_error(words({"get", "k", "--consistency=session"}));
  BOOST_TEST(session.find("session") != std::string::npos);
  BOOST_TEST(session.find("follower") != std::string::npos);  // names what to use instead
  BOOST_TEST(parse_error({"get", "k"}).find("--endpoints") != std::string::npos);
  BOOST_TEST(parse_error({"get", "k", "--endpoints=nohost"}).find("--endpoints") != std::string::npos);
  BOOST_TEST(parse_error(words({"get", "k", "--timeout=0"})).find("--timeout") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(kv_command_outcomes)

BOOST_AUTO_TEST_CASE(done_prints_ok_or_the_value_alone_and_exits_0) {
  fake_cluster c;
  c.leader = 1;
  auto p = run(c, {"put", "k", "hello world"});
  BOOST_TEST(p.code == 0);
  BOOST_TEST(p.out == "OK\n");
  BOOST_TEST(p.err.empty());
  auto g = run(c, {"get", "k"});
  BOOST_TEST(g.code == 0);
  BOOST_TEST(g.out == "hello world\n");
  BOOST_TEST(run(c, {"cas", "k", "hello world", "v2"}).code == 0);
  BOOST_TEST(run(c, {"del", "k"}).code == 0);
}

BOOST_AUTO_TEST_CASE(definite_failures_exit_1_with_a_message) {
  fake_cluster c;
  auto g = run(c, {"get", "absent"});
  BOOST_TEST(g.code == 1);
  BOOST_TEST(g.out.empty());
  BOOST_TEST(g.err == "troupe kv get: no such key 'absent'\n");
  BOOST_TEST(run(c, {"del", "absent"}).code == 1);
  BOOST_TEST(run(c, {"put", "k", "v"}).code == 0);
  auto m = run(c, {"cas", "k", "other", "x"});
  BOOST_TEST(m.code == 1);
  BOOST_TEST(m.err == "troupe kv cas: compare failed: 'k' holds 'v'\n");
  auto a = run(c, {"cas", "--expect-absent", "k", "x"});
  BOOST_TEST(a.code == 1);
  c.busy_replies = 1'000'000;
  auto b = run(c, {"put", "k", "v", "--timeout=1s"});
  BOOST_TEST(b.code == 1);
  BOOST_TEST(b.err.find("busy") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unknown_outcome_exits_3) {
  fake_cluster c;
  c.apply_nothing = true;
  auto r = run(c, {"put", "k", "v", "--timeout=2s"});
  BOOST_TEST(r.code == 3);
  BOOST_TEST(r.err.find("may or may not have been applied") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(outcomes_map_to_exit_codes) {
  using troupe::client::exit_code_for;
  using troupe::client::kv_outcome;
  BOOST_TEST(exit_code_for(kv_outcome::done) == 0);
  BOOST_TEST(exit_code_for(kv_outcome::failed) == 1);
  BOOST_TEST(exit_code_for(kv_outcome::invalid) == 2);
  BOOST_TEST(exit_code_for(kv_outcome::unknown) == 3);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(kv_list_and_watch)

namespace {

troupe::client::kv_client_options fake_options(const kv_command& cmd) {
  auto o = troupe::client::kv_options_for(cmd.common);
  o.endpoints = {"n1", "n2", "n3"};
  o.seed = 7;
  return o;
}

troupe::client::kv_client_options options_for_writer() {
  troupe::client::kv_client_options o;
  o.endpoints = {"n1", "n2", "n3"};
  o.seed = 11;
  return o;
}

struct watch_run {
  int code;
  std::string out, err;
  int polls;
};

/// Runs `troupe kv watch WORDS`; `between(poll)` runs at each pause (writes, failures to inject);
/// stops after `max_polls` pauses.
watch_run watch(fake_cluster& c, std::initializer_list<const char*> w, int max_polls,
                const std::function<void(int)>& between = {}) {
  auto cmd = parse_kv_command(words(w));
  BOOST_REQUIRE_MESSAGE(cmd, (cmd ? std::string() : cmd.err().message));
  troupe::client::kv_client k(fake_options(*cmd), c.factory(), c.clock());
  std::ostringstream out, err;
  int polls = 0;
  int code = troupe::client::run_kv_watch(
      *cmd, k, out, err, [&] { return polls >= max_polls; },
      [&](std::chrono::milliseconds d) {
        c.now += d;
        if (between) between(polls);
        ++polls;
      });
  return {code, out.str(), err.str(), polls};
}

}  // namespace

BOOST_AUTO_TEST_CASE(list_and_watch_take_a_prefix_and_their_options) {
  auto l = parse_kv_command(words({"list", "cfg/", "--limit=5", "--keys-only"}));
  BOOST_REQUIRE(l);
  BOOST_TEST((l->op == kv_op::list));
  BOOST_TEST(l->key == "cfg/");
  BOOST_TEST(l->limit == 5u);
  BOOST_TEST(l->keys_only);
  auto all = parse_kv_command(words({"list", ""}));  // the empty prefix: every key
  BOOST_REQUIRE(all);
  BOOST_TEST(all->limit == 0u);
  auto w = parse_kv_command(words({"watch", "--from=7", "cfg/", "--count=3"}));
  BOOST_REQUIRE(w);
  BOOST_TEST((w->op == kv_op::watch));
  BOOST_TEST(w->from == 7u);
  BOOST_TEST(w->count == 3u);
  BOOST_TEST(!w->exact_key);
  auto k = parse_kv_command(words({"watch", "cfg/mode", "--key"}));
  BOOST_REQUIRE(k);
  BOOST_TEST(k->exact_key);
  auto now = parse_kv_command(words({"watch", "cfg/"}));
  BOOST_REQUIRE(now);
  BOOST_TEST(now->from == 0u);  // from now
}

BOOST_AUTO_TEST_CASE(list_and_watch_usage_errors_name_the_problem) {
  BOOST_TEST(parse_error(words({"watch"})).find("watch PREFIX") != std::string::npos);
  BOOST_TEST(parse_error(words({"list", "a", "b"})).find("list PREFIX") != std::string::npos);
  BOOST_TEST(parse_error(words({"watch", "a", "--from=x"})).find("from") != std::string::npos);
  BOOST_TEST(parse_error(words({"watch", "a", "--limit=3"})).find("limit") != std::string::npos);
  BOOST_TEST(parse_error(words({"list", "a", "--count=3"})).find("count") != std::string::npos);
  BOOST_TEST(parse_error(words({"watch", "", "--key"})).find("--key") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(list_pages_through_every_key_of_the_prefix_and_stops_at_the_limit) {
  fake_cluster c;
  for (const char* k : {"a", "cfg/1", "cfg/2", "cfg/3", "cfg/4", "cfg/5", "d"}) c.store[k] = std::string("v") + k;
  auto cmd = parse_kv_command(words({"list", "cfg/"}));
  BOOST_REQUIRE(cmd);
  troupe::client::kv_client k(fake_options(*cmd), c.factory(), c.clock());
  std::ostringstream out, err;
  BOOST_TEST(troupe::client::run_kv_list(*cmd, k, out, err, 2) == 0);  // pages of 2: 3 pages
  BOOST_TEST(out.str() ==
             "cfg/1\tvcfg/1\tcreate=1 mod=1 version=1\ncfg/2\tvcfg/2\tcreate=1 mod=1 version=1\n"
             "cfg/3\tvcfg/3\tcreate=1 mod=1 version=1\ncfg/4\tvcfg/4\tcreate=1 mod=1 version=1\n"
             "cfg/5\tvcfg/5\tcreate=1 mod=1 version=1\n");
  BOOST_TEST(err.str().empty());
  BOOST_TEST(c.applied == 0);  // reads only

  auto limited = parse_kv_command(words({"list", "cfg/", "--limit=3", "--keys-only"}));
  BOOST_REQUIRE(limited);
  std::ostringstream out2, err2;
  BOOST_TEST(troupe::client::run_kv_list(*limited, k, out2, err2, 2) == 0);
  BOOST_TEST(out2.str() == "cfg/1\ncfg/2\ncfg/3\n");

  auto none = run(c, {"list", "nothing/"});
  BOOST_TEST(none.code == 0);  // an empty listing is not an error
  BOOST_TEST(none.out.empty());
}

BOOST_AUTO_TEST_CASE(watch_prints_each_change_once_in_order_across_lost_replies_and_outages) {
  fake_cluster c;
  troupe::client::kv_client writer(options_for_writer(), c.factory(), c.clock());
  BOOST_TEST(writer.put("other", "x").outcome == troupe::client::kv_outcome::done);  // revision 1
  BOOST_TEST(writer.put("cfg/a", "1").outcome == troupe::client::kv_outcome::done);  // 2
  auto r = watch(c, {"watch", "cfg/", "--from=1"}, 6, [&](int poll) {
    if (poll == 0) {
      writer.put("cfg/b", "2");  // 3
      c.drop_read_replies = 1;   // the next answer is lost: asked again from the same revision
    } else if (poll == 1) {
      writer.del("cfg/a");  // 4
      c.leader = -1;        // an election: no node answers for a while
    } else if (poll == 3) {
      c.leader = 1;
      writer.put("cfg/c", "3");  // 5
    }
  });
  BOOST_TEST(r.code == 0);
  BOOST_TEST(r.out == "2 PUT cfg/a 1\n3 PUT cfg/b 2\n4 DELETE cfg/a\n5 PUT cfg/c 3\n");
  BOOST_TEST(r.err.find("still trying from revision 4") != std::string::npos, r.err);
  BOOST_TEST(c.applied == 5);  // the watch wrote nothing
}

BOOST_AUTO_TEST_CASE(watch_from_now_skips_the_past_and_stops_after_count_events) {
  fake_cluster c;
  troupe::client::kv_client writer(options_for_writer(), c.factory(), c.clock());
  writer.put("cfg/old", "0");
  auto r = watch(c, {"watch", "cfg/", "--count=2"}, 100, [&](int poll) {
    writer.put("cfg/k" + std::to_string(poll), "v");
  });
  BOOST_TEST(r.code == 0);
  BOOST_TEST(r.out == "2 PUT cfg/k0 v\n3 PUT cfg/k1 v\n");
  BOOST_TEST(r.polls == 2);
}

BOOST_AUTO_TEST_CASE(watch_from_a_compacted_revision_exits_1_and_says_what_to_do) {
  fake_cluster c;
  c.compacted = 10;
  auto r = watch(c, {"watch", "cfg/", "--from=3"}, 100);
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(r.err.find("revision 3 was compacted away") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("troupe kv list") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(kv_txn_command)

BOOST_AUTO_TEST_CASE(the_script_parses_into_compares_and_branches) {
  namespace wire = troupe::wire;
  auto t = troupe::client::parse_txn_script(
      "# switch the mode\n"
      "compare value cfg/mode = blue sky\n"
      "compare version cfg/lock = 0\n"
      "\n"
      "compare mod cfg/x < 12\r\n"
      "success put cfg/mode green and gold\n"
      "success del cfg/old\n"
      "failure get cfg/mode\n");
  BOOST_REQUIRE_MESSAGE(t, (t ? std::string() : t.err().message));
  BOOST_REQUIRE(t->compares.size() == 3u);
  BOOST_TEST((t->compares[0] == wire::kv_compare{"cfg/mode", wire::compare_op::equal, wire::compare_target::value, "blue sky", 0}));
  BOOST_TEST((t->compares[1] == wire::kv_compare{"cfg/lock", wire::compare_op::equal, wire::compare_target::version, "", 0}));
  BOOST_TEST((t->compares[2] == wire::kv_compare{"cfg/x", wire::compare_op::less, wire::compare_target::mod_revision, "", 12}));
  BOOST_REQUIRE(t->success.size() == 2u);
  BOOST_TEST((std::get<wire::kv_put>(t->success[0]) == wire::kv_put{"cfg/mode", "green and gold"}));
  BOOST_TEST(std::get<wire::kv_del>(t->success[1]).key == "cfg/old");
  BOOST_REQUIRE(t->failure.size() == 1u);
  BOOST_TEST(std::get<wire::kv_get>(t->failure[0]).key == "cfg/mode");
}

BOOST_AUTO_TEST_CASE(script_errors_name_the_line_and_the_problem) {
  auto err = [](const std::string& script) {
    auto t = troupe::client::parse_txn_script(script);
    BOOST_REQUIRE(!t);
    return t.err().message;
  };
  BOOST_TEST(err("compare value k == v\n") == "line 1: compare: expected an operator = != < >, got '=='");
  BOOST_TEST(err("\ncompare size k = 1\n").find("line 2: compare: expected value, version") == 0u);
  BOOST_TEST(err("compare version k = one\n").find("expected one unsigned number") != std::string::npos);
  BOOST_TEST(err("success put\n") == "line 1: success put: missing KEY");
  BOOST_TEST(err("failure del a b\n") == "line 1: failure del: expected KEY alone");
  BOOST_TEST(err("success cas k v\n").find("expected put, del or get") != std::string::npos);
  BOOST_TEST(err("maybe put k v\n").find("expected compare, success or failure") != std::string::npos);
  BOOST_TEST(err("# nothing\n\n").find("empty") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(txn_prints_the_branch_results_and_exits_0_or_1) {
  fake_cluster c;
  c.store["cfg/mode"] = "blue";
  c.store["cfg/old"] = "x";
  auto cmd = parse_kv_command(words({"txn"}));
  BOOST_REQUIRE(cmd);
  cmd->script = "compare value cfg/mode = blue\nsuccess put cfg/mode green\nsuccess del cfg/old\n"
                "failure get cfg/mode\n";
  troupe::client::kv_client k(kv_list_and_watch::fake_options(*cmd), c.factory(), c.clock());
  std::ostringstream out, err;
  BOOST_TEST(troupe::client::run_kv_command(*cmd, k, out, err) == 0);
  BOOST_TEST(out.str() == "succeeded revision=1\nOK\ndeleted cfg/old\n");
  BOOST_TEST(c.store["cfg/mode"] == "green");
  std::ostringstream out2, err2;  // the same script again: the compare fails now
  BOOST_TEST(troupe::client::run_kv_command(*cmd, k, out2, err2) == 1);
  BOOST_TEST(out2.str() == "failed revision=1\ncfg/mode\tgreen\tcreate=1 mod=1 version=1\n");
  BOOST_TEST(c.sessions.begin()->second.first == 2u);  // a write: sequences 1 and 2

  cmd->script = "success put\n";
  std::ostringstream out3, err3;
  BOOST_TEST(troupe::client::run_kv_command(*cmd, k, out3, err3) == 2);
  BOOST_TEST(err3.str() == "troupe kv txn: line 1: success put: missing KEY\n");
  BOOST_TEST(parse_error(words({"txn", "extra"})).find("txn (the script on stdin)") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
