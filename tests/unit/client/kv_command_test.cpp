/// `troupe kv`: argument parsing (every usage error is exit 2 with one line) and the mapping from
/// outcomes to output and exit codes, run against the scripted cluster of fake_cluster.hpp.
#include <boost/test/unit_test.hpp>

#include <sstream>

#include "runtime/client/kv_command.hpp"
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
