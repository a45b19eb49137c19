// The Graphviz export of a global state: structure, escaping, and (when Debian's graphviz is
// installed) that `dot` parses it.
#define BOOST_TEST_MODULE checkpoint_dot
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "snapshot/store/dot.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/checkpoint_store/fixtures.hpp"

using namespace troupe;
using namespace troupe::checkpoint;
using namespace troupe::checkpoint::store;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// Quotes balance when every `"` not preceded by an odd run of backslashes is counted.
bool quotes_balance(const std::string& line) {
  int quotes = 0;
  std::size_t backslashes = 0;
  for (const char c : line) {
    if (c == '"' && backslashes % 2 == 0) ++quotes;
    backslashes = c == '\\' ? backslashes + 1 : 0;
  }
  return quotes % 2 == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

global_state tricky_state() {
  std::uint64_t rng = 23;
  auto g = store_test::make_state(6, rng, 3, 5);
  g.local_states[2] = store_test::text_bytes(R"(say "hi" \n back\slash)");
  g.channels[channel_id{2, 3}][0].payload = store_test::text_bytes(R"(quote " and \)");
  return g;
}

}  // namespace

BOOST_AUTO_TEST_CASE(participants_are_nodes_and_channels_are_labelled_edges) {
  const auto g = tricky_state();
  const auto text = to_dot(g);
  const auto lines = lines_of(text);
  BOOST_REQUIRE(lines.size() >= 3u);
  BOOST_TEST(lines.front() == "digraph checkpoint_6 {");
  BOOST_TEST(lines.back() == "}");
  int nodes = 0;
  int edges = 0;
  for (const auto& line : lines) {
    BOOST_TEST(quotes_balance(line), line);
    if (starts_with(line, "  p") && line.find(" -> ") == std::string::npos) ++nodes;
    if (line.find(" -> ") != std::string::npos) ++edges;
  }
  BOOST_TEST(nodes == 3);
  BOOST_TEST(edges == 3);  // 1->2, 2->3, and the empty 1->3
  // The text state is shown, its quotes and backslashes escaped; a binary one shows its size.
  BOOST_TEST(
      text.find(R"(p2 [label="participant 2\n22 bytes: \"say \"hi\" \\n back\\slash\""];)") !=
          std::string::npos,
      text);
  BOOST_TEST(text.find("p3 [label=\"participant 3\\n200 bytes\"];") != std::string::npos, text);
  // An edge shows the count, the first three messages and how many more.
  const auto seq = std::to_string(g.channels.at(channel_id{2, 3})[0].sequence);
  BOOST_TEST(text.find("p2 -> p3 [label=\"5 messages\\n#" + seq +
                       R"( 13 bytes: \"quote \" and \\\")") != std::string::npos,
             text);
  BOOST_TEST(text.find("(2 more)") != std::string::npos, text);
  BOOST_TEST(text.find("p1 -> p3 [label=\"0 messages\", style=dashed];") != std::string::npos,
             text);
}

BOOST_AUTO_TEST_CASE(equal_states_render_to_equal_text) {
  BOOST_TEST(to_dot(tricky_state()) == to_dot(tricky_state()));
}

BOOST_AUTO_TEST_CASE(graphviz_dot_parses_the_export) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    BOOST_TEST_MESSAGE("SKIPPED the parse check: graphviz's `dot` is not installed");
    return;
  }
  troupe::test::temp_dir dir;
  const auto file = dir.file("checkpoint.dot");
  std::ofstream(file) << to_dot(tricky_state());
  const auto command = "dot -Tsvg -o /dev/null '" + file + "'";
  BOOST_TEST(std::system(command.c_str()) == 0, command);
}
