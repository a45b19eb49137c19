#define BOOST_TEST_MODULE cli_dispatch
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace support = troupe::test;

namespace {

struct outcome {
  int exit_code = -1;
  std::string output;
};

/// Runs `troupe args...` keeping only stdout or only stderr, so a test can tell which one got what.
outcome run(const std::vector<std::string>& args, bool keep_stderr) {
  std::string script =
      keep_stderr ? "exec \"$0\" \"$@\" 2>&1 >/dev/null" : "exec \"$0\" \"$@\" 2>/dev/null";
  std::vector<std::string> argv{"/bin/sh", "-c", script, support::binary_path("troupe")};
  argv.insert(argv.end(), args.begin(), args.end());
  support::child_process p(argv);
  auto status = p.wait_exit(std::chrono::seconds(20));
  BOOST_REQUIRE_MESSAGE(status.has_value(), "troupe did not exit");
  BOOST_REQUIRE(WIFEXITED(*status));
  return {WEXITSTATUS(*status), p.transcript()};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(help_prints_usage_on_stdout_and_succeeds) {
  for (const char* word : {"help", "--help"}) {
    auto out = run({word}, false);
    BOOST_TEST(out.exit_code == 0);
    BOOST_TEST(contains(out.output, "usage: troupe <command>"), out.output);
    BOOST_TEST(contains(out.output, "bench transport"));
  }
}

BOOST_AUTO_TEST_CASE(version_prints_the_project_version) {
  auto out = run({"--version"}, false);
  BOOST_TEST(out.exit_code == 0);
  BOOST_TEST(out.output.starts_with("troupe "), out.output);
}

BOOST_AUTO_TEST_CASE(missing_or_unknown_commands_print_usage_on_stderr_and_exit_2) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{}, "missing command"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"--node"}, "unknown command '--node'"},
      {{"bench"}, "'bench' needs a target"},
      {{"bench", "disk"}, "unknown benchmark 'disk'"},
      {{"cluster"}, "'cluster' needs a subcommand"},
  };
  for (const auto& [args, why] : cases) {
    auto err = run(args, true);
    BOOST_TEST(err.exit_code == 2, why);
    BOOST_TEST(contains(err.output, "troupe: " + why), err.output);
    BOOST_TEST(contains(err.output, "usage: troupe <command>"), err.output);
    BOOST_TEST(run(args, false).output.empty(), "stdout not empty for: " << why);
  }
}

BOOST_AUTO_TEST_CASE(cluster_subcommands_check_their_arguments_before_connecting) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"cluster", "add", "4", "127.0.0.1:7104"}, "--endpoints: required"},
      {{"cluster", "add", "4"}, "add: "},
      {{"cluster", "add", "0", "127.0.0.1:7104", "--endpoints=127.0.0.1:1"}, "node id 0 is not allowed"},
      {{"cluster", "add", "4", "nowhere", "--endpoints=127.0.0.1:1"}, "add: "},
      {{"cluster", "promote", "4", "--learner", "--endpoints=127.0.0.1:1"}, "--learner goes with add"},
      {{"cluster", "remove", "x", "--endpoints=127.0.0.1:1"}, "'x' is not a node id"},
      {{"cluster", "frob", "1"}, "unknown subcommand 'frob'"},
  };
  for (const auto& [args, why] : cases) {
    auto err = run(args, true);
    BOOST_TEST(err.exit_code == 2, why);
    BOOST_TEST(contains(err.output, "troupe cluster: "), err.output);
    BOOST_TEST(contains(err.output, why), err.output);
    BOOST_TEST(contains(err.output, "usage: troupe cluster"), err.output);
  }
}
