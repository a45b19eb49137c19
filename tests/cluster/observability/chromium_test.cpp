// The status page in headless Chromium (Debian `chromium`, driven by Debian's `chromedriver` over
// the WebDriver protocol): it renders every member of a running cluster with the leader marked, and
// updates itself, without a reload, when the leader is killed and another is elected. Screenshots
// go to <build>/test-artifacts/.
#define BOOST_TEST_MODULE chromium
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "runtime/metrics/http_client.hpp"
#include "tests/cluster/observability/cluster_harness.hpp"

using namespace troupe::test;
namespace pt = boost::property_tree;

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string base64_decode(const std::string& in) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (char c : in) {
    auto at = alphabet.find(c);
    if (at == std::string::npos) continue;  // '=' padding, line breaks
    value = (value << 6) | static_cast<unsigned>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xff);
    }
  }
  return out;
}

/// One chromedriver process and one headless Chromium session.
class browser {
 public:
  explicit browser(const std::string& profile_dir) : profile_dir_(profile_dir), port_(free_port()) {
    const auto driver = find_tool("chromedriver");
    const auto chromium = find_tool("chromium");
    BOOST_REQUIRE_MESSAGE(!driver.empty() && !chromium.empty(),
                          "chromium and chromedriver are needed: run scripts/install-deps.sh");
    driver_ = std::make_unique<child_process>(
        std::vector<std::string>{driver, "--port=" + std::to_string(port_)});
    BOOST_REQUIRE_MESSAGE(driver_->wait_for_line(std::regex("ChromeDriver was started successfully"),
                                                 hang_deadline),
                          "chromedriver did not start:\n" << driver_->transcript());
    auto reply = call("POST", "/session",
                      R"({"capabilities":{"alwaysMatch":{"goog:chromeOptions":{"binary":)" +
                          json_string(chromium) +
                          R"(,"args":["--headless=new","--no-sandbox","--disable-gpu",)"
                          R"("--disable-dev-shm-usage","--hide-scrollbars","--window-size=1280,900",)"
                          R"("--user-data-dir=)" + profile_dir + R"("]}}}})");
    session_ = reply.get<std::string>("value.sessionId");
    BOOST_REQUIRE(!session_.empty());
  }

  ~browser() {
    // Ends Chromium; if chromedriver cannot, stopping chromedriver below takes Chromium with it.
    if (!session_.empty()) {
      auto r = troupe::metrics::http_request("127.0.0.1", port_, "/session/" + session_,
                                             {"DELETE", "", "application/json"});
      if (!r || r->status != 200) {
        BOOST_TEST_MESSAGE("closing the browser session failed: "
                           << (r ? std::to_string(r->status) + " " + r->body : r.err().message));
      }
    }
    if (driver_) {
      driver_->signal(SIGTERM);
      driver_->wait_exit(std::chrono::seconds(10));
    }
    // Chromium must not outlive the test: whatever still runs with our (unique) profile directory
    // was started by this test and is ended by its pid.
    eventually([&] { return profile_processes().empty(); }, std::chrono::seconds(10));
    for (auto pid : profile_processes()) {
      BOOST_TEST_MESSAGE("killing leftover chromium process " << pid);
      ::kill(pid, SIGKILL);
    }
  }

  void open(const std::string& url) { call("POST", path("/url"), "{\"url\":" + json_string(url) + "}"); }

  /// Runs `script` in the page; it must return a string (we return JSON.stringify(...)).
  std::string run(const std::string& script) {
    return call("POST", path("/execute/sync"), "{\"script\":" + json_string(script) + ",\"args\":[]}")
        .get<std::string>("value");
  }

  void screenshot(const std::string& file) {
    auto png = base64_decode(call("GET", path("/screenshot"), "").get<std::string>("value"));
    BOOST_REQUIRE_GT(png.size(), 1000u);
    BOOST_TEST(png.compare(1, 3, "PNG") == 0);
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::ofstream(file, std::ios::binary) << png;
    BOOST_TEST_MESSAGE("screenshot: " << file);
  }

  /// Processes whose command line names our profile directory.
  std::vector<pid_t> profile_processes() const {
    std::vector<pid_t> pids;
    const std::string needle = "--user-data-dir=" + profile_dir_;
    for (auto& entry : std::filesystem::directory_iterator("/proc")) {
      const auto name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream in(entry.path() / "cmdline", std::ios::binary);
      std::string cmdline;
      std::getline(in, cmdline, '\x01');  // the whole file: arguments are NUL-separated
      for (auto& c : cmdline)
        if (c == '\0') c = ' ';
      if (cmdline.find(needle + " ") != std::string::npos ||
          cmdline.ends_with(needle + " ") || cmdline.ends_with(needle))
        pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return pids;
  }

 private:
  std::string path(const std::string& rest) const { return "/session/" + session_ + rest; }

  pt::ptree call(const std::string& method, const std::string& p, const std::string& body) {
    troupe::metrics::http_request_options o;
    o.method = method;
    o.body = body;
    o.timeout = std::chrono::seconds(60);
    auto r = troupe::metrics::http_request("127.0.0.1", port_, p, o);
    BOOST_REQUIRE_MESSAGE(r, method << " " << p << ": " << (r ? "" : r.err().message));
    BOOST_REQUIRE_MESSAGE(r->status == 200, method << " " << p << ": HTTP " << r->status << " " << r->body);
    return parse_json(r->body, "chromedriver " + p);
  }

  std::string profile_dir_;
  std::uint16_t port_;
  std::unique_ptr<child_process> driver_;
  std::string session_;
};

/// What the page shows: the members table's cells, the leader card and the health pill.
constexpr const char* read_page = R"js(
  const rows = [...document.querySelectorAll('#members tbody tr')].map(
      tr => [...tr.cells].map(c => c.textContent.trim()));
  const leader = document.getElementById('leader');
  return JSON.stringify({rows: rows, leader: leader ? leader.textContent : '',
                         health: document.getElementById('health').textContent,
                         changes: document.querySelectorAll('#leader-changes tbody tr').length});
)js";

struct page_state {
  std::vector<std::vector<std::string>> rows;  // node, address, role, connection, match, ...
  std::string leader;
  std::string health;
  int changes = 0;
};

page_state read(browser& b) {
  auto tree = parse_json(b.run(read_page), "page state");
  page_state s;
  for (auto& [_, row] : tree.get_child("rows")) {
    std::vector<std::string> cells;
    for (auto& [__, cell] : row) cells.push_back(cell.data());
    s.rows.push_back(cells);
  }
  s.leader = tree.get<std::string>("leader");
  s.health = tree.get<std::string>("health");
  s.changes = tree.get<int>("changes");
  return s;
}

/// The row of member `id` (its first cell starts with the id).
const std::vector<std::string>* row_of(const page_state& s, std::uint64_t id) {
  for (auto& r : s.rows)
    if (!r.empty() && (r[0] == std::to_string(id) || r[0].starts_with(std::to_string(id) + " ")))
      return &r;
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_status_page_renders_the_cluster_and_follows_a_leader_change) {
  three_node_cluster cluster;
  cluster.start_all();
  const auto leader = cluster.wait_for_agreed_leader();
  const int watched = leader == 1 ? 1 : 0;  // a follower's page: it outlives the leader
  const std::string artifacts = std::string(TROUPE_BINARY_DIR) + "/test-artifacts";

  browser b(cluster.dir().file("chromium-profile"));
  b.open("http://" + cluster.metrics_address(watched) + "/status");
  // The clean-up at the end finds Chromium by its profile directory: check that it can.
  BOOST_TEST(!b.profile_processes().empty());

  // Every member, the leader marked as such, the watched node healthy.
  page_state s;
  BOOST_REQUIRE_MESSAGE(eventually([&] {
                          s = read(b);
                          return s.rows.size() == 3 && s.leader == std::to_string(leader) &&
                                 s.health == "healthy";
                        }),
                        "the page never showed 3 members and leader " << leader);
  for (std::uint64_t id = 1; id <= 3; ++id) {
    auto* r = row_of(s, id);
    BOOST_REQUIRE_MESSAGE(r, "no row for node " << id);
    BOOST_REQUIRE_GE(r->size(), 4u);
    BOOST_TEST((*r)[1].find("127.0.0.1:") == 0u);
    if (id == leader) BOOST_TEST((*r)[2] == "leader");
    BOOST_TEST((*r)[3] == (id == cluster.id(watched) ? "self" : "up"));
  }
  b.screenshot(artifacts + "/status-page.png");

  // Kill the leader; the same page, never reloaded, shows the new leader and the old one gone.
  const int changes_before = s.changes;
  cluster.kill(static_cast<int>(leader - 1));
  const auto next = cluster.wait_for_agreed_leader();
  BOOST_REQUIRE_MESSAGE(eventually([&] {
                          s = read(b);
                          auto* old = row_of(s, leader);
                          return s.leader == std::to_string(next) && old && (*old)[3] != "up" &&
                                 s.changes > changes_before;
                        }),
                        "the page never showed the new leader " << next);
  BOOST_TEST((*row_of(s, next))[2] == "leader");
  b.screenshot(artifacts + "/status-page-after-leader-change.png");
}
