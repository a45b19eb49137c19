#define BOOST_TEST_MODULE cli_args
#include <boost/test/unit_test.hpp>

#include "cli/args.hpp"

using namespace troupe::cli;
using namespace std::chrono_literals;

namespace {

parsed_args parse_ok(const std::vector<std::string>& a) {
  auto p = parse_args(a);
  BOOST_REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.err().message));
  return *p;
}

template <class T>
std::string error_of(const troupe::result<T>& r) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected an error");
  BOOST_TEST(r.err().message.find('\n') == std::string::npos);
  return r.err().message;
}

std::string error_of(const troupe::status& s) {
  BOOST_REQUIRE_MESSAGE(!s.ok(), "expected an error");
  return s.err().message;
}

}  // namespace

BOOST_AUTO_TEST_CASE(options_may_come_before_between_and_after_positionals) {
  auto p = parse_ok({"--endpoints=a:1,b:2", "put", "--timeout=5s", "KEY", "VALUE", "--verbose"});
  BOOST_TEST((p.positionals() == std::vector<std::string>{"put", "KEY", "VALUE"}));
  BOOST_TEST(p.options().size() == 3u);
  BOOST_TEST(*p.get_string("endpoints") == "a:1,b:2");
  BOOST_TEST(*p.get_flag("verbose"));
  BOOST_TEST(!*p.get_flag("quiet"));
}

BOOST_AUTO_TEST_CASE(double_dash_ends_options) {
  auto p = parse_ok({"--a=1", "--", "--not-an-option", "-x"});
  BOOST_TEST((p.positionals() == std::vector<std::string>{"--not-an-option", "-x"}));
  BOOST_TEST(p.options().size() == 1u);
}

BOOST_AUTO_TEST_CASE(values_keep_equals_signs_and_may_be_empty) {
  auto p = parse_ok({"--peers=1=a:1,2=b:2", "--name="});
  BOOST_TEST(*p.get_string("peers") == "1=a:1,2=b:2");
  BOOST_TEST(*p.get_string("name") == "");
}

BOOST_AUTO_TEST_CASE(lone_dash_and_negative_numbers_are_positionals) {
  auto p = parse_ok({"-", "-5"});
  BOOST_TEST((p.positionals() == std::vector<std::string>{"-", "-5"}));
}

BOOST_AUTO_TEST_CASE(malformed_options_are_refused) {
  BOOST_TEST(error_of(parse_args({"--=x"})).find("malformed option '--=x'") != std::string::npos);
  BOOST_TEST(error_of(parse_args({"---x"})).find("malformed") != std::string::npos);
  BOOST_TEST(error_of(parse_args({"--a b=1"})).find("malformed") != std::string::npos);
  BOOST_TEST(error_of(parse_args({"-v"})).find("--name=value") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(check_names_unknown_and_repeated_options) {
  auto p = parse_ok({"--id=1", "--bogus=2"});
  BOOST_TEST(error_of(p.check({"id"})) == "unknown option --bogus");
  BOOST_TEST(p.check({"id", "bogus"}).ok());
  auto twice = parse_ok({"--id=1", "--id=2"});
  BOOST_TEST(error_of(twice.check({"id"})) == "--id: given more than once");
  BOOST_TEST(*twice.get_uint("id") == 2u);  // getters read the last occurrence
}

BOOST_AUTO_TEST_CASE(check_positionals_counts_arguments) {
  auto p = parse_ok({"a", "b", "c"});
  BOOST_TEST(p.check_positionals(1, 3).ok());
  BOOST_TEST(error_of(p.check_positionals(0, 2)) == "unexpected argument 'c'");
  BOOST_TEST(error_of(p.check_positionals(4, 5)) == "expected 4 arguments, got 3");
}

BOOST_AUTO_TEST_CASE(string_getters_name_the_option_when_missing_or_without_value) {
  auto p = parse_ok({"--bare"});
  BOOST_TEST(error_of(p.get_string("id")) == "missing required option --id=VALUE");
  BOOST_TEST(error_of(p.get_string("bare")) == "--bare: needs a value (write --bare=VALUE)");
  BOOST_TEST(*p.get_string("other", "fallback") == "fallback");
  BOOST_TEST(error_of(p.get_string("bare", "fallback")).find("--bare") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(uint_getter_accepts_only_decimal_digits) {
  auto p =
      parse_ok({"--runs=3", "--neg=-1", "--hex=0x10", "--huge=18446744073709551616", "--sp= 1"});
  BOOST_TEST(*p.get_uint("runs") == 3u);
  BOOST_TEST(*p.get_uint("absent", 9) == 9u);
  BOOST_TEST(error_of(p.get_uint("neg")) == "--neg: expected an unsigned integer, got '-1'");
  BOOST_TEST(error_of(p.get_uint("hex")).find("--hex") != std::string::npos);
  BOOST_TEST(error_of(p.get_uint("huge")).find("--huge") != std::string::npos);
  BOOST_TEST(error_of(p.get_uint("sp")).find("--sp") != std::string::npos);
  BOOST_TEST(error_of(p.get_uint("absent")).find("missing") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(flag_getter_accepts_bare_and_boolean_words) {
  auto p = parse_ok({"--a", "--b=false", "--c=yes", "--d=0", "--e=maybe"});
  BOOST_TEST(*p.get_flag("a"));
  BOOST_TEST(!*p.get_flag("b"));
  BOOST_TEST(*p.get_flag("c"));
  BOOST_TEST(!*p.get_flag("d"));
  BOOST_TEST(error_of(p.get_flag("e")) == "--e: expected true or false, got 'maybe'");
}

BOOST_AUTO_TEST_CASE(duration_getter_needs_a_unit) {
  auto p = parse_ok({"--a=250ms", "--b=5s", "--c=2m", "--d=1h", "--e=0", "--f=5", "--g=s", "--h=5x",
                     "--i=99999999999999999h"});
  BOOST_TEST((*p.get_duration("a", 1s) == 250ms));
  BOOST_TEST((*p.get_duration("b", 1s) == 5s));
  BOOST_TEST((*p.get_duration("c", 1s) == 120s));
  BOOST_TEST((*p.get_duration("d", 1s) == 3600s));
  BOOST_TEST((*p.get_duration("e", 1s) == 0ms));
  BOOST_TEST((*p.get_duration("absent", 7s) == 7s));
  BOOST_TEST(error_of(p.get_duration("f", 1s)).find("--f: expected a duration") !=
             std::string::npos);
  BOOST_TEST(error_of(p.get_duration("g", 1s)).find("--g") != std::string::npos);
  BOOST_TEST(error_of(p.get_duration("h", 1s)).find("--h") != std::string::npos);
  BOOST_TEST(error_of(p.get_duration("i", 1s)).find("too large") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(list_getter_splits_on_commas_and_refuses_empty_items) {
  auto p = parse_ok({"--endpoints=a:1,b:2", "--bad=a:1,,b:2", "--trailing=a,"});
  BOOST_TEST((*p.get_list("endpoints") == std::vector<std::string>{"a:1", "b:2"}));
  BOOST_TEST((*p.get_list("absent", {"x"}) == std::vector<std::string>{"x"}));
  BOOST_TEST(error_of(p.get_list("bad")).find("--bad: empty item") != std::string::npos);
  BOOST_TEST(error_of(p.get_list("trailing")).find("--trailing") != std::string::npos);
}
