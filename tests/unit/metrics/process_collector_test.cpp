#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "runtime/metrics/process_collector.hpp"

using namespace troupe::metrics;

BOOST_AUTO_TEST_SUITE(process_collector_suite)

BOOST_AUTO_TEST_CASE(proc_stat_fields_are_counted_after_the_last_parenthesis) {
  // A command name with spaces and a ')' inside, as a process may name itself.
  const std::string text =
      "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 "
      "150 50 0 0 20 0 3 0 987654 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 "
      "0 0 0 0 0\n";
  auto f = parse_proc_pid_stat(text);
  BOOST_REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.err().message));
  BOOST_TEST(f->utime_ticks == 150u);
  BOOST_TEST(f->stime_ticks == 50u);
  BOOST_TEST(f->start_time_ticks == 987654u);
  BOOST_TEST(f->vsize_bytes == 123456789u);
  BOOST_TEST(f->rss_pages == 2048u);
}

BOOST_AUTO_TEST_CASE(truncated_proc_stat_is_an_error_naming_the_field) {
  auto f = parse_proc_pid_stat("4242 (x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150");
  BOOST_REQUIRE(!f.ok());
  BOOST_TEST(f.err().message.find("field 15") != std::string::npos);
  BOOST_TEST(!parse_proc_pid_stat("no parenthesis here").ok());
  BOOST_TEST(!parse_proc_pid_stat("1 (x) S 1 2 3 4 5 6 7 8 9 10 abc 1 2 3 4 5 6 7 8 9 10").ok());
}

BOOST_AUTO_TEST_CASE(boot_time_comes_from_the_btime_line) {
  auto b = parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1764150000\nprocesses 9\n");
  BOOST_REQUIRE(b.ok());
  BOOST_TEST(*b == 1764150000u);
  BOOST_TEST(!parse_boot_time("cpu 1 2 3\n").ok());
  BOOST_TEST(!parse_boot_time("btime soon\n").ok());
}

BOOST_AUTO_TEST_CASE(process_sample_of_this_process_is_sane) {
  auto s = read_process_sample();
  BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  BOOST_TEST(s->resident_memory_bytes > 0);
  BOOST_TEST(s->virtual_memory_bytes >= s->resident_memory_bytes);
  BOOST_TEST(s->open_fds >= 3);  // stdin, stdout, stderr
  BOOST_TEST(s->max_fds >= s->open_fds);
  BOOST_TEST(s->cpu_seconds >= 0);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // This test process started moments ago; allow for clock-tick rounding of the start time.
  BOOST_TEST(s->start_time_seconds <= now + 1);
  BOOST_TEST(s->start_time_seconds > now - 3600);
}

BOOST_AUTO_TEST_CASE(collector_emits_the_six_standard_families) {
  auto families = process_collector{}.Collect();
  std::vector<std::string> names;
  for (const auto& f : families) {
    names.push_back(f.name);
    BOOST_TEST(f.metric.size() == 1u);
    BOOST_TEST(!f.help.empty());
  }
  BOOST_TEST((names == std::vector<std::string>{"process_cpu_seconds_total", "process_open_fds",
                                                "process_max_fds", "process_virtual_memory_bytes",
                                                "process_resident_memory_bytes",
                                                "process_start_time_seconds"}));
  BOOST_TEST((families.front().type == prometheus::MetricType::Counter));
}

BOOST_AUTO_TEST_SUITE_END()
