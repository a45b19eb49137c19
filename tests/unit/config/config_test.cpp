#define BOOST_TEST_MODULE node_config
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <string>
#include <vector>

#include "runtime/node/config.hpp"
#include "tests/support/process.hpp"

using namespace troupe::node;
namespace support = troupe::test;

namespace {

std::vector<setting> flags_of(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::vector<setting> out;
  for (const auto& [k, v] : kv) out.push_back({k, v, "--" + k});
  return out;
}

/// The required keys, valid; tests override one at a time.
std::vector<std::pair<std::string, std::string>> minimal() {
  return {{"id", "1"},
          {"listen", "127.0.0.1:7101"},
          {"data-dir", "/var/lib/troupe/1"},
          {"cluster-id", "demo"},
          {"secret-file", "/etc/troupe/secret"}};
}

std::vector<std::pair<std::string, std::string>> with(
    std::vector<std::pair<std::string, std::string>> base, const std::string& key,
    const std::string& value) {
  for (auto& kv : base) {
    if (kv.first == key) {
      kv.second = value;
      return base;
    }
  }
  base.emplace_back(key, value);
  return base;
}

std::vector<std::pair<std::string, std::string>> without(
    std::vector<std::pair<std::string, std::string>> base, const std::string& key) {
  std::erase_if(base, [&](const auto& kv) { return kv.first == key; });
  return base;
}

template <class T>
std::string error_of(const troupe::result<T>& r) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected an error");
  BOOST_TEST(r.err().message.find('\n') == std::string::npos, "not one line: " << r.err().message);
  return r.err().message;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string flag_error(const std::vector<std::pair<std::string, std::string>>& kv) {
  return error_of(make_node_config({}, flags_of(kv)));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(addresses)

BOOST_AUTO_TEST_CASE(ipv4_ipv6_and_names_parse) {
  auto a = parse_host_port("127.0.0.1:7101");
  BOOST_REQUIRE(a.ok());
  BOOST_TEST(a->host == "127.0.0.1");
  BOOST_TEST(a->port == 7101);
  auto b = parse_host_port("[::1]:7101");
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(b->host == "::1");
  BOOST_TEST(b->to_string() == "[::1]:7101");
  auto c = parse_host_port("node-1.example.org:65535");
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->to_string() == "node-1.example.org:65535");
  BOOST_TEST(parse_host_port("0.0.0.0:1")->is_wildcard());
  BOOST_TEST(parse_host_port("[::]:1")->is_wildcard());
  BOOST_TEST(!parse_host_port("[::1]:1")->is_wildcard());
}

BOOST_AUTO_TEST_CASE(bad_addresses_say_what_is_wrong) {
  BOOST_TEST(contains(error_of(parse_host_port("")), "empty"));
  BOOST_TEST(contains(error_of(parse_host_port("127.0.0.1")), "expected host:port"));
  BOOST_TEST(contains(error_of(parse_host_port("127.0.0.1:0")), "port must be 1..65535"));
  BOOST_TEST(contains(error_of(parse_host_port("127.0.0.1:65536")), "port must be 1..65535"));
  BOOST_TEST(contains(error_of(parse_host_port("127.0.0.1:http")), "port"));
  BOOST_TEST(contains(error_of(parse_host_port("127.0.0.1:-1")), "port"));
  BOOST_TEST(contains(error_of(parse_host_port(":7101")), "missing host"));
  BOOST_TEST(contains(error_of(parse_host_port("::1:7101")), "needs brackets"));
  BOOST_TEST(contains(error_of(parse_host_port("[::1:7101")), "missing ']'"));
  BOOST_TEST(contains(error_of(parse_host_port("[::1]7101")), "expected [ipv6]:port"));
  BOOST_TEST(contains(error_of(parse_host_port("[zz]:7101")), "not an IPv6 address"));
  BOOST_TEST(contains(error_of(parse_host_port("300.1.1.1:7101")), "not an IPv4 address"));
  BOOST_TEST(contains(error_of(parse_host_port("1.2.3:7101")), "not an IPv4 address"));
  BOOST_TEST(contains(error_of(parse_host_port("bad_host:7101")), "not a valid host name"));
  BOOST_TEST(contains(error_of(parse_host_port("-bad.example:7101")), "not a valid host name"));
  BOOST_TEST(contains(error_of(parse_host_port("a..b:7101")), "not a valid host name"));
  BOOST_TEST(parse_host_port("127.0.0.1:0", /*allow_port_zero=*/true).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(peers)

BOOST_AUTO_TEST_CASE(peer_list_parses_in_order) {
  auto p = parse_peers("2=127.0.0.1:7102, 3=[::1]:7103", 1);
  BOOST_REQUIRE(p.ok());
  BOOST_REQUIRE(p->size() == 2u);
  BOOST_TEST((*p)[0].id == 2u);
  BOOST_TEST((*p)[1].address.to_string() == "[::1]:7103");
  BOOST_TEST(parse_peers("", 1)->empty());
}

BOOST_AUTO_TEST_CASE(bad_peer_lists_are_refused) {
  BOOST_TEST(contains(error_of(parse_peers("2=a:1,2=b:2", 1)), "peer id 2 appears twice"));
  BOOST_TEST(contains(error_of(parse_peers("2=a:1,3=a:1", 1)), "address a:1 appears twice"));
  BOOST_TEST(contains(error_of(parse_peers("1=a:1", 1)), "this node's own id"));
  BOOST_TEST(contains(error_of(parse_peers("0=a:1", 1)), "expected a node id"));
  BOOST_TEST(contains(error_of(parse_peers("x=a:1", 1)), "expected a node id"));
  BOOST_TEST(contains(error_of(parse_peers("-2=a:1", 1)), "expected a node id"));
  BOOST_TEST(contains(error_of(parse_peers("a:1", 1)), "expected id=host:port"));
  BOOST_TEST(contains(error_of(parse_peers("2=a:1,", 1)), "expected id=host:port"));
  BOOST_TEST(contains(error_of(parse_peers("2=a", 1)), "in '2=a'"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(merged_config)

BOOST_AUTO_TEST_CASE(minimal_flags_give_documented_defaults) {
  auto c = make_node_config({}, flags_of(minimal()));
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  BOOST_TEST(c->id == 1u);
  BOOST_TEST(c->advertise.to_string() == "127.0.0.1:7101");
  BOOST_TEST(c->metrics.to_string() == "127.0.0.1:8101");
  BOOST_TEST(c->peers.empty());
  BOOST_TEST(!c->client_secret_file.has_value());
  BOOST_TEST((c->log_format == log_format::text));
  BOOST_TEST((c->log_level == log_level::info));
  BOOST_TEST(c->raft.tick_ms == 50u);
  BOOST_TEST(c->raft.election_ticks == 20u);
  BOOST_TEST(c->raft.heartbeat_ticks == 2u);
  BOOST_TEST(c->raft.max_pending == 10000u);
}

BOOST_AUTO_TEST_CASE(every_key_is_read) {
  auto kv = minimal();
  kv = with(kv, "listen", "0.0.0.0:7101");
  kv = with(kv, "advertise", "10.0.0.1:7101");
  kv = with(kv, "peers", "2=10.0.0.2:7101,3=10.0.0.3:7101");
  kv = with(kv, "metrics", "0.0.0.0:9100");
  kv = with(kv, "client-secret-file", "/etc/troupe/client");
  kv = with(kv, "log-format", "json");
  kv = with(kv, "log-level", "debug");
  kv = with(kv, "raft-tick-ms", "10");
  kv = with(kv, "election-ticks", "30");
  kv = with(kv, "heartbeat-ticks", "3");
  kv = with(kv, "raft-max-pending", "500");
  auto c = make_node_config({}, flags_of(kv));
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  BOOST_TEST(c->advertise.to_string() == "10.0.0.1:7101");
  BOOST_TEST(c->peers.size() == 2u);
  BOOST_TEST(c->metrics.to_string() == "0.0.0.0:9100");
  BOOST_TEST(*c->client_secret_file == "/etc/troupe/client");
  BOOST_TEST((c->log_format == log_format::json));
  BOOST_TEST((c->log_level == log_level::debug));
  BOOST_TEST((c->raft == raft_settings{10, 30, 3, 500}));
}

BOOST_AUTO_TEST_CASE(each_missing_required_key_is_named) {
  for (const char* key : {"id", "listen", "data-dir", "cluster-id", "secret-file"}) {
    auto e = flag_error(without(minimal(), key));
    BOOST_TEST(contains(e, std::string("missing required option --") + key), e);
  }
}

BOOST_AUTO_TEST_CASE(bad_values_name_the_option) {
  BOOST_TEST(contains(flag_error(with(minimal(), "id", "0")), "--id: expected a node id"));
  BOOST_TEST(contains(flag_error(with(minimal(), "id", "abc")), "--id: expected a node id"));
  BOOST_TEST(contains(flag_error(with(minimal(), "id", "18446744073709551616")), "--id:"));
  BOOST_TEST(
      contains(flag_error(with(minimal(), "listen", "nowhere")), "--listen: expected host:port"));
  BOOST_TEST(contains(flag_error(with(minimal(), "advertise", "x:0")), "--advertise: port"));
  BOOST_TEST(contains(flag_error(with(minimal(), "peers", "1=127.0.0.1:7102")), "--peers: peer 1"));
  BOOST_TEST(contains(flag_error(with(minimal(), "metrics", "127.0.0.1")), "--metrics:"));
  BOOST_TEST(
      contains(flag_error(with(minimal(), "cluster-id", "has space")), "--cluster-id: expected"));
  BOOST_TEST(
      contains(flag_error(with(minimal(), "cluster-id", std::string(65, 'a'))), "--cluster-id:"));
  BOOST_TEST(
      contains(flag_error(with(minimal(), "cluster-id", "")), "--cluster-id: must not be empty"));
  BOOST_TEST(
      contains(flag_error(with(minimal(), "data-dir", "")), "--data-dir: must not be empty"));
  BOOST_TEST(
      contains(flag_error(with(minimal(), "client-secret-file", "")), "--client-secret-file:"));
  BOOST_TEST(contains(flag_error(with(minimal(), "log-format", "xml")),
                      "--log-format: unknown log format"));
  BOOST_TEST(
      contains(flag_error(with(minimal(), "log-level", "loud")), "--log-level: unknown log level"));
  BOOST_TEST(contains(flag_error(with(minimal(), "raft-tick-ms", "0")),
                      "--raft-tick-ms: expected an integer from 1 to 10000, got '0'"));
  BOOST_TEST(contains(flag_error(with(minimal(), "election-ticks", "2")), "--election-ticks:"));
  BOOST_TEST(contains(flag_error(with(minimal(), "raft-max-pending", "x")), "--raft-max-pending:"));
  BOOST_TEST(contains(flag_error(with(minimal(), "max-clients", "0")), "--max-clients:"));
  BOOST_TEST(contains(flag_error(with(with(minimal(), "heartbeat-ticks", "5"), "election-ticks", "5")),
                      "--heartbeat-ticks: 5 must be below --election-ticks (5)"));
}

BOOST_AUTO_TEST_CASE(unusable_address_combinations_are_refused) {
  auto wildcard = with(minimal(), "listen", "0.0.0.0:7101");
  BOOST_TEST(contains(flag_error(wildcard),
                      "--listen: 0.0.0.0:7101 is a wildcard address: set --advertise"));
  BOOST_TEST(contains(flag_error(with(minimal(), "advertise", "[::]:7101")),
                      "--advertise: [::]:7101 is a wildcard"));
  BOOST_TEST(contains(flag_error(with(minimal(), "peers", "2=127.0.0.1:7101")),
                      "has this node's address"));
  BOOST_TEST(
      contains(flag_error(with(minimal(), "metrics", "127.0.0.1:7101")), "is the listen address"));
  BOOST_TEST(contains(flag_error(with(minimal(), "listen", "127.0.0.1:65000")), "set --metrics"));
  BOOST_TEST(make_node_config({}, flags_of(with(with(minimal(), "listen", "127.0.0.1:65000"),
                                                "metrics", "127.0.0.1:0")))
                 .ok());
}

BOOST_AUTO_TEST_CASE(unknown_bare_and_repeated_flags_are_refused) {
  auto flags = flags_of(minimal());
  flags.push_back({"bogus", std::string("1"), "--bogus"});
  BOOST_TEST(error_of(make_node_config({}, flags)) == "unknown option --bogus");

  flags = flags_of(minimal());
  flags.push_back({"peers", std::nullopt, "--peers"});
  BOOST_TEST(error_of(make_node_config({}, flags)) ==
             "--peers: needs a value (write --peers=VALUE)");

  flags = flags_of(minimal());
  flags.push_back({"id", std::string("2"), "--id"});
  BOOST_TEST(error_of(make_node_config({}, flags)) == "--id: given more than once");
}

BOOST_AUTO_TEST_CASE(force_new_cluster_is_a_switch_bare_or_true_or_false) {
  BOOST_TEST(!make_node_config({}, flags_of(minimal()))->force_new_cluster);
  auto flags = flags_of(minimal());
  flags.push_back({"force-new-cluster", std::nullopt, "--force-new-cluster"});
  auto bare = make_node_config({}, flags);
  BOOST_TEST_REQUIRE(bare.ok());
  BOOST_TEST(bare->force_new_cluster);
  BOOST_TEST(describe(*bare).find(" force-new-cluster") != std::string::npos);
  BOOST_TEST(make_node_config({}, flags_of(with(minimal(), "force-new-cluster", "true")))->force_new_cluster);
  BOOST_TEST(!make_node_config({}, flags_of(with(minimal(), "force-new-cluster", "false")))->force_new_cluster);
  BOOST_TEST(error_of(make_node_config({}, flags_of(with(minimal(), "force-new-cluster", "maybe")))) ==
             "--force-new-cluster: expected true or false (or the bare flag), got 'maybe'");
}

BOOST_AUTO_TEST_CASE(restore_from_names_a_file_and_starts_a_one_node_cluster_alone) {
  BOOST_TEST(!make_node_config({}, flags_of(minimal()))->restore_from);
  auto c = make_node_config({}, flags_of(with(minimal(), "restore-from", "/backups/b1")));
  BOOST_TEST_REQUIRE(c.ok());
  BOOST_TEST(c->restore_from.value_or("") == "/backups/b1");
  BOOST_TEST(describe(*c).find(" restore-from=/backups/b1") != std::string::npos);
  BOOST_TEST(error_of(make_node_config({}, flags_of(with(minimal(), "restore-from", "")))) ==
             "--restore-from: expected a backup file (troupe backup save)");
  const std::string alone =
      "--restore-from: a restore starts a one-node cluster: give neither --peers, --join nor --force-new-cluster "
      "(grow it afterwards with troupe cluster add)";
  BOOST_TEST(error_of(make_node_config(
                 {}, flags_of(with(with(minimal(), "restore-from", "b"), "peers", "2=127.0.0.1:7102")))) == alone);
  BOOST_TEST(error_of(make_node_config(
                 {}, flags_of(with(with(minimal(), "restore-from", "b"), "force-new-cluster", "true")))) == alone);
}

BOOST_AUTO_TEST_CASE(flags_override_the_file) {
  auto file = parse_config_text("id = 1\nlisten = 127.0.0.1:7101\nlog-level = debug\n", "n.conf");
  BOOST_REQUIRE(file.ok());
  auto c = make_node_config(
      *file, flags_of({{"id", "5"}, {"data-dir", "d"}, {"cluster-id", "c"}, {"secret-file", "s"}}));
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  BOOST_TEST(c->id == 5u);
  BOOST_TEST((c->log_level == log_level::debug));
}

BOOST_AUTO_TEST_CASE(bad_file_values_name_file_line_and_key) {
  auto file = parse_config_text("# node 1\n\nid = 1\nlisten = 127.0.0.1:99999\n", "n.conf");
  BOOST_REQUIRE(file.ok());
  auto e = error_of(make_node_config(*file, flags_of(without(without(minimal(), "id"), "listen"))));
  BOOST_TEST(contains(e, "n.conf:4: listen: port must be 1..65535"), e);
}

BOOST_AUTO_TEST_CASE(description_names_every_setting_on_one_line) {
  auto c = make_node_config(
      {}, flags_of(with(with(minimal(), "peers", "2=127.0.0.1:7102"), "client-secret-file", "/c")));
  BOOST_REQUIRE(c.ok());
  const auto d = describe(*c);
  BOOST_TEST(d ==
             "id=1 listen=127.0.0.1:7101 advertise=127.0.0.1:7101 peers=2=127.0.0.1:7102 "
             "data-dir=/var/lib/troupe/1 metrics=127.0.0.1:8101 cluster-id=demo client-auth=secret "
             "log-format=text log-level=info raft-tick-ms=50 election-ticks=20 heartbeat-ticks=2 "
             "raft-max-pending=10000 snapshot-entries=100000 snapshot-bytes=67108864 "
             "snapshot-rate=67108864 max-clients=4096");
}

BOOST_AUTO_TEST_CASE(snapshot_settings_take_counts_and_byte_amounts_with_binary_suffixes) {
  auto c = make_node_config({}, flags_of(with(with(with(minimal(), "snapshot-entries", "0"), "snapshot-bytes",
                                                   "512KiB"), "snapshot-rate", "3MiB")));
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->raft.snapshot_entries == 0u);
  BOOST_TEST(c->raft.snapshot_bytes == 512u * 1024);
  BOOST_TEST(c->raft.snapshot_rate == 3u * 1024 * 1024);
  auto plain = make_node_config({}, flags_of(with(minimal(), "snapshot-rate", "1000")));
  BOOST_REQUIRE(plain.ok());
  BOOST_TEST(plain->raft.snapshot_rate == 1000u);
  for (const char* bad : {"", "MiB", "1.5MiB", "-1", "1MB", "99999999999GiB"}) {
    BOOST_TEST(contains(flag_error(with(minimal(), "snapshot-bytes", bad)), "--snapshot-bytes:"), bad);
  }
  BOOST_TEST(contains(flag_error(with(minimal(), "snapshot-entries", "x")), "--snapshot-entries:"));
}

BOOST_AUTO_TEST_CASE(usage_mentions_every_key) {
  const std::string usage = node_config_usage();
  for (auto key : node_config_keys()) {
    BOOST_TEST(contains(usage, "--" + std::string(key) + "="), key);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(config_file)

BOOST_AUTO_TEST_CASE(comments_blank_lines_and_spaces_are_ignored) {
  auto s = parse_config_text(
      "# a comment\n\n   id=3  \n\tlisten =  127.0.0.1:7101\r\n   # indented\n", "n.conf");
  BOOST_REQUIRE(s.ok());
  BOOST_REQUIRE(s->size() == 2u);
  BOOST_TEST((*s)[0].key == "id");
  BOOST_TEST(*(*s)[0].value == "3");
  BOOST_TEST((*s)[0].origin == "n.conf:3");
  BOOST_TEST(*(*s)[1].value == "127.0.0.1:7101");
}

BOOST_AUTO_TEST_CASE(file_errors_name_file_and_line) {
  BOOST_TEST(error_of(parse_config_text("id = 1\nbogus = 2\n", "n.conf")) ==
             "n.conf:2: unknown key 'bogus'");
  BOOST_TEST(error_of(parse_config_text("id 1\n", "n.conf")) ==
             "n.conf:1: expected 'key = value', got 'id 1'");
  BOOST_TEST(error_of(parse_config_text("id = 1\n\nid = 2\n", "n.conf")) ==
             "n.conf:3: id: already set on line 1");
  BOOST_TEST(contains(error_of(parse_config_text("--id = 1\n", "n.conf")),
                      "n.conf:1: write keys without '--'"));
  BOOST_TEST(contains(error_of(parse_config_text("config = other.conf\n", "n.conf")),
                      "n.conf:1: config:"));
  BOOST_TEST(contains(error_of(parse_config_text(" = 1\n", "n.conf")), "n.conf:1: missing key"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(files_on_disk)

BOOST_AUTO_TEST_CASE(secret_files_must_be_private_and_long_enough) {
  support::temp_dir dir("troupe-config");
  const auto good = dir.file("good");
  support::write_file(good, "0123456789abcdef\n", 0600);  // 16 bytes once the newline is dropped
  auto s = read_secret_file(good, "secret-file");
  BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  BOOST_TEST(*s == "0123456789abcdef");

  support::write_file(dir.file("empty"), "", 0600);
  BOOST_TEST(contains(error_of(read_secret_file(dir.file("empty"), "secret-file")), "is empty"));
  support::write_file(dir.file("short"), "0123456789abcde", 0600);
  BOOST_TEST(contains(error_of(read_secret_file(dir.file("short"), "secret-file")),
                      "too short (15 bytes; at least 16 needed)"));
  support::write_file(dir.file("long"), std::string(max_secret_bytes + 1, 'x'), 0600);
  BOOST_TEST(contains(error_of(read_secret_file(dir.file("long"), "secret-file")), "too long"));
  support::write_file(dir.file("open"), "0123456789abcdef", 0600);
  ::chmod(dir.file("open").c_str(), 0644);  // write_file's mode is filtered by the umask
  auto e = error_of(read_secret_file(dir.file("open"), "client-secret-file"));
  BOOST_TEST(contains(e, "client-secret-file " + dir.file("open") +
                             ": is accessible by other users (mode 0644)"),
             e);
  BOOST_TEST(
      contains(error_of(read_secret_file(dir.file("missing"), "secret-file")), "cannot open"));
  BOOST_TEST(contains(error_of(read_secret_file(dir.path(), "secret-file")), "not a regular file"));
}

BOOST_AUTO_TEST_CASE(load_reads_the_config_file_and_checks_secrets) {
  support::temp_dir dir("troupe-config");
  support::write_file(dir.file("secret"), "cluster-secret-0123456789", 0600);
  support::write_file(dir.file("node.conf"),
                      "# node 2 of the demo\n"
                      "id = 2\n"
                      "listen = 127.0.0.1:7102\n"
                      "peers = 1=127.0.0.1:7101,3=127.0.0.1:7103\n"
                      "data-dir = " +
                          dir.file("data") +
                          "\n"
                          "cluster-id = demo\n"
                          "secret-file = " +
                          dir.file("secret") + "\n");
  auto c = load_node_config({{"config", dir.file("node.conf")}, {"log-format", "json"}});
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.err().message));
  BOOST_TEST(c->id == 2u);
  BOOST_TEST(c->peers.size() == 2u);
  BOOST_TEST((c->log_format == log_format::json));

  auto missing = load_node_config({{"config", dir.file("nope.conf")}});
  BOOST_TEST(contains(error_of(missing), "--config: cannot open " + dir.file("nope.conf")));
  BOOST_TEST(
      contains(error_of(load_node_config({{"config", std::nullopt}})), "--config: needs a file"));
  BOOST_TEST(contains(error_of(load_node_config({{"config", dir.path()}})),
                      "--config: " + dir.path() + ": cannot read: Is a directory"));

  auto short_secret = dir.file("short");
  support::write_file(short_secret, "tiny", 0600);
  auto e = error_of(
      load_node_config({{"config", dir.file("node.conf")}, {"secret-file", short_secret}}));
  BOOST_TEST(contains(e, "secret-file " + short_secret + ": is too short"), e);
  e = error_of(
      load_node_config({{"config", dir.file("node.conf")}, {"client-secret-file", short_secret}}));
  BOOST_TEST(contains(e, "client-secret-file " + short_secret), e);
}

BOOST_AUTO_TEST_SUITE_END()
