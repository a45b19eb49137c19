// The status page's renderings (JSON, text, HTML) of a plain node_view, their escaping, and the
// /health verdict.
#define BOOST_TEST_MODULE status_render
#include <boost/test/unit_test.hpp>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <sstream>

#include "runtime/status/status_render.hpp"

using namespace troupe::status_page;
namespace pt = boost::property_tree;

namespace {

/// Node 1 leads group 7 of a three-node cluster: node 2 is caught up, node 3 is behind and
/// disconnected.
node_view leader_view() {
  node_view v;
  v.id = 1;
  v.cluster_id = "prod-eu";
  v.address = "10.0.0.1:7101";
  v.metrics_address = "10.0.0.1:8101";
  v.now_unix_ms = 1'764'169'445'123;  // 2025-11-26 15:04:05.123Z
  v.members = {{1, "10.0.0.1:7101", true, "self", {}, {}},
               {2, "10.0.0.2:7101", false, "up", 0, 0},
               {3, "10.0.0.3:7101", false, "disconnected", 12, 3}};
  v.raft_expected = true;
  troupe::raft::group_status g;
  g.node.id = 1;
  g.node.group = 7;
  g.node.term = 5;
  g.node.role = troupe::raft::role::leader;
  g.node.leader = 1;
  g.node.voted_for = 1;
  g.node.commit = 120;
  g.node.applied = 118;
  g.node.last_index = 121;
  g.peers = {{2, 121, 122, 0, "replicate", true}, {3, 40, 41, 81, "probe", false}};
  g.recent_leader_changes = {{1'764'169'400'000, 4, 2}, {1'764'169'430'000, 5, 0}, {1'764'169'431'000, 5, 1}};
  g.pending_proposals = 2;
  v.raft = g;
  v.raft_age_ms = 200;
  v.checkpoints_note = "this node runs no checkpoint runtime yet";
  return v;
}

pt::ptree parse(const std::string& json) {
  pt::ptree tree;
  std::istringstream in(json);
  pt::read_json(in, tree);  // throws on invalid JSON
  return tree;
}

std::vector<pt::ptree> members_of(const pt::ptree& tree) {
  std::vector<pt::ptree> out;
  for (auto& [_, m] : tree.get_child("members")) out.push_back(m);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(json_shows_the_leaders_view_of_every_member) {
  auto tree = parse(render_json(leader_view()));
  BOOST_TEST(tree.get<int>("node.id") == 1);
  BOOST_TEST(tree.get<std::string>("node.cluster_id") == "prod-eu");
  BOOST_TEST(tree.get<std::string>("health.healthy") == "true");
  BOOST_TEST(tree.get<std::string>("health.reason") == "ok: leader 1, term 5");
  BOOST_TEST(tree.get<std::string>("raft.role") == "leader");
  BOOST_TEST(tree.get<int>("raft.term") == 5);
  BOOST_TEST(tree.get<int>("raft.commit") == 120);
  BOOST_TEST(tree.get<int>("raft.apply_lag") == 2);
  auto m = members_of(tree);
  BOOST_REQUIRE_EQUAL(m.size(), 3u);
  BOOST_TEST(m[0].get<std::string>("role") == "leader");
  BOOST_TEST(m[0].get<std::string>("connection") == "self");
  BOOST_TEST(m[0].get<std::string>("match") == "null");
  BOOST_TEST(m[1].get<std::string>("role") == "follower");
  BOOST_TEST(m[1].get<int>("lag_entries") == 0);
  BOOST_TEST(m[2].get<std::string>("connection") == "disconnected");
  BOOST_TEST(m[2].get<int>("lag_entries") == 81);
  BOOST_TEST(m[2].get<int>("queued") == 12);
  BOOST_TEST(m[2].get<std::string>("progress") == "probe");
  BOOST_TEST(m[2].get<std::string>("recently_active") == "false");
  std::vector<std::string> leaders;
  for (auto& [_, c] : tree.get_child("leader_changes")) leaders.push_back(c.get<std::string>("leader"));
  BOOST_TEST(leaders == (std::vector<std::string>{"2", "null", "1"}));
  BOOST_TEST(tree.get<std::string>("checkpoints") == "null");
  BOOST_TEST(tree.get<std::string>("checkpoints_note") == "this node runs no checkpoint runtime yet");
}

BOOST_AUTO_TEST_CASE(a_follower_knows_only_its_leaders_role_and_no_progress) {
  auto v = leader_view();
  v.id = 2;
  for (auto& m : v.members) {
    m.self = m.id == 2;
    m.connection = m.self ? "self" : "up";
  }
  v.raft->node.id = 2;
  v.raft->node.role = troupe::raft::role::follower;
  v.raft->peers.clear();
  auto m = members_of(parse(render_json(v)));
  BOOST_TEST(m[0].get<std::string>("role") == "leader");
  BOOST_TEST(m[1].get<std::string>("role") == "follower");  // itself
  BOOST_TEST(m[2].get<std::string>("role") == "null");      // cannot tell
  BOOST_TEST(m[2].get<std::string>("lag_entries") == "null");
}

BOOST_AUTO_TEST_CASE(health_needs_a_leader_and_working_storage_when_the_node_runs_raft) {
  auto v = leader_view();
  BOOST_TEST(judge_health(v).healthy);

  auto no_leader = v;
  no_leader.raft->node.leader = troupe::raft::no_node;
  no_leader.raft->node.role = troupe::raft::role::candidate;
  auto h = judge_health(no_leader);
  BOOST_TEST(!h.healthy);
  BOOST_TEST(h.reason == "no leader known for group 7 (term 5)");

  auto broken = v;
  broken.raft->storage_ok = false;
  BOOST_TEST(!judge_health(broken).healthy);
  BOOST_TEST(judge_health(broken).reason == "log storage failed for group 7");

  auto stale = v;
  stale.raft_age_ms = raft_status_stale_ms + 1000;
  BOOST_TEST(!judge_health(stale).healthy);
  BOOST_TEST(judge_health(stale).reason == "raft status is 6 s old: the raft actor does not answer");

  auto waiting = v;
  waiting.raft.reset();
  waiting.raft_note = "waiting for the raft actor's first status";
  BOOST_TEST(!judge_health(waiting).healthy);
  BOOST_TEST(judge_health(waiting).reason == "waiting for the raft actor's first status");

  auto no_raft = waiting;
  no_raft.raft_expected = false;
  BOOST_TEST(judge_health(no_raft).healthy);
  // Reasons are one line: load balancers log them.
  for (auto* x : {&v, &no_leader, &broken, &stale, &waiting, &no_raft})
    BOOST_TEST(judge_health(*x).reason.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(hostile_strings_are_escaped_in_every_format) {
  auto v = leader_view();
  const std::string evil = "</script><script>alert(\"x\")</script>&'\n\x01\x1b[2J\xff\xc3";
  v.cluster_id = evil;
  v.members[1].address = evil;
  v.raft.reset();
  v.raft_note = evil;
  // JSON stays valid and round-trips the printable part; raw '<' never appears.
  const auto json = render_json(v);
  auto tree = parse(json);
  BOOST_TEST(tree.get<std::string>("node.cluster_id").starts_with("</script><script>alert(\"x\")"));
  BOOST_TEST(json.find('<') == std::string::npos);
  BOOST_TEST(json.find('\x01') == std::string::npos);
  BOOST_TEST(json.find("\\ufffd") != std::string::npos);  // the invalid UTF-8 bytes
  // HTML: the data sits only inside the JSON script element, which it cannot close.
  const auto html = render_html(v);
  BOOST_TEST(html.find("<script>alert") == std::string::npos);
  BOOST_TEST(html.find("alert(") != std::string::npos);  // present, as escaped JSON
  // Text: no control characters reach the terminal.
  const auto text = render_text(v);
  BOOST_TEST(text.find('\x1b') == std::string::npos);
  BOOST_TEST(text.find('\x01') == std::string::npos);
  BOOST_TEST(html_escape("<a href=\"x\">'&'</a>") ==
             "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

BOOST_AUTO_TEST_CASE(json_escape_keeps_valid_utf8_and_escapes_the_rest) {
  BOOST_TEST(json_escape("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");
  BOOST_TEST(json_escape("a\"b\\c") == "a\\\"b\\\\c");
  BOOST_TEST(json_escape("\xc3") == "\\ufffd");          // truncated sequence
  BOOST_TEST(json_escape("\xc0\xaf") == "\\ufffd\\ufffd");  // overlong
  BOOST_TEST(json_escape("\x7f") == "\\u007f");
}

BOOST_AUTO_TEST_CASE(text_is_a_table_of_members_with_the_latest_leader_change_first) {
  const auto text = render_text(leader_view());
  BOOST_TEST_MESSAGE(text);
  BOOST_TEST(text.find("health: healthy (ok: leader 1, term 5)") != std::string::npos);
  BOOST_TEST(text.find("raft group 7: leader, term 5, leader 1, commit 120, applied 118") !=
             std::string::npos);
  BOOST_TEST(text.find("ID  ADDRESS") != std::string::npos);
  BOOST_TEST(text.find("3   10.0.0.3:7101  follower  disconnected  40     41    81   probe (inactive)") !=
             std::string::npos);
  const auto newest = text.find("term 5  leader 1");
  const auto lost = text.find("term 5  leader lost");
  const auto oldest = text.find("term 4  leader 2");
  BOOST_TEST((newest < lost && lost < oldest));
  BOOST_TEST(text.find("this node runs no checkpoint runtime yet") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(checkpoints_render_once_the_runtime_reports_them) {
  auto v = leader_view();
  v.checkpoints = std::vector<checkpoint_view>{{9, 1'764'169'400'000, 1.5, "completed", 4096, 3},
                                               {10, 1'764'169'440'000, std::nullopt, "in_progress", 0, 0}};
  auto tree = parse(render_json(v));
  std::vector<std::string> outcomes;
  for (auto& [_, c] : tree.get_child("checkpoints")) outcomes.push_back(c.get<std::string>("outcome"));
  BOOST_TEST(outcomes == (std::vector<std::string>{"completed", "in_progress"}));
  BOOST_TEST(tree.count("checkpoints_note") == 0u);
  BOOST_TEST(render_text(v).find("1.500 s") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(times_are_utc_with_milliseconds) {
  BOOST_TEST(format_unix_ms(1'764'169'445'123) == "2025-11-26 15:04:05.123Z");
  BOOST_TEST(format_unix_ms(0) == "1970-01-01 00:00:00.000Z");
}
