#include "runtime/client/kv_txn_script.hpp"

#include <charconv>

namespace troupe::client {

namespace {

/// Splits off the next space-separated word of `rest`; empty when none is left.
std::string next_word(std::string_view& rest) {
  auto start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  auto end = rest.find(' ');
  std::string word(rest.substr(0, end));
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  return word;
}

}  // namespace

result<wire::kv_txn> parse_txn_script(const std::string& text) {
  wire::kv_txn txn;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto fail = [&](const std::string& why) {
      return make_error(errc::invalid_argument, "line " + std::to_string(line_no) + ": " + why);
    };
    std::string_view rest = line;
    auto first = next_word(rest);
    if (first.empty() || first[0] == '#') continue;
    if (first == "compare") {
      wire::kv_compare cmp;
      auto target = next_word(rest);
      if (target == "value") {
        cmp.target = wire::compare_target::value;
      } else if (target == "version") {
        cmp.target = wire::compare_target::version;
      } else if (target == "create") {
        cmp.target = wire::compare_target::create_revision;
      } else if (target == "mod") {
        cmp.target = wire::compare_target::mod_revision;
      } else {
        return fail("compare: expected value, version, create or mod, got '" + target + "'");
      }
      cmp.key = next_word(rest);
      if (cmp.key.empty()) return fail("compare: missing KEY");
      auto op = next_word(rest);
      if (op == "=") {
        cmp.op = wire::compare_op::equal;
      } else if (op == "!=") {
        cmp.op = wire::compare_op::not_equal;
      } else if (op == "<") {
        cmp.op = wire::compare_op::less;
      } else if (op == ">") {
        cmp.op = wire::compare_op::greater;
      } else {
        return fail("compare: expected an operator = != < >, got '" + op + "'");
      }
      if (cmp.target == wire::compare_target::value) {
        cmp.value = std::string(rest);
      } else {
        auto n = next_word(rest);
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), cmp.number);
        if (n.empty() || ec != std::errc() || end != n.data() + n.size() || !next_word(rest).empty()) {
          return fail("compare " + target + ": expected one unsigned number, got '" + n + "'");
        }
      }
      txn.compares.push_back(std::move(cmp));
      continue;
    }
    if (first != "success" && first != "failure") {
      return fail("expected compare, success or failure, got '" + first + "'");
    }
    auto& branch = first == "success" ? txn.success : txn.failure;
    auto op = next_word(rest);
    auto key = next_word(rest);
    if (key.empty()) return fail(first + " " + op + ": missing KEY");
    if (op == "put") {
      branch.push_back(wire::kv_put{key, std::string(rest)});
    } else if (op == "del" || op == "get") {
      if (!next_word(rest).empty()) return fail(first + " " + op + ": expected KEY alone");
      if (op == "del") {
        branch.push_back(wire::kv_del{key});
      } else {
        branch.push_back(wire::kv_get{key});
      }
    } else {
      return fail(first + ": expected put, del or get, got '" + op + "'");
    }
  }
  if (txn.compares.empty() && txn.success.empty() && txn.failure.empty()) {
    return make_error(errc::invalid_argument, "the script is empty: expected compare, success and failure lines");
  }
  return txn;
}

}  // namespace troupe::client
