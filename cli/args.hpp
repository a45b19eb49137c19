#pragma once
/// The subcommands' command-line parser. CAF's stops at the first positional word and takes only
/// `--name=value`; ours takes positional words and `--name=value` / `--flag` options in any order
/// (`troupe kv put KEY VALUE --endpoints=...`), and `--` ends the options. Pure, no CAF.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/result.hpp"

namespace troupe::cli {

/// One option as written: `--name=value` (value set, possibly empty) or `--name` (no value).
struct option {
  std::string name;
  std::optional<std::string> value;
};

/// The result of `parse_args`. Getters read the last occurrence of an option; `check` rejects
/// repeats. Errors are one line naming the option, e.g. "--runs: expected an unsigned integer, got
/// 'x'". Immutable after parsing, so safe to read from several threads.
class parsed_args {
 public:
  const std::vector<std::string>& positionals() const noexcept { return positionals_; }
  const std::vector<option>& options() const noexcept { return options_; }

  /// Whether `--name` appeared at all (with or without a value).
  bool has(std::string_view name) const noexcept { return find(name) != nullptr; }

  /// Rejects options outside `known` ("unknown option --foo") and options given more than once.
  status check(const std::vector<std::string_view>& known) const;
  /// Rejects more than `max` positional words, or fewer than `min`.
  status check_positionals(std::size_t min, std::size_t max) const;

  /// A required option's value: errors if missing or written without `=value`.
  result<std::string> get_string(std::string_view name) const;
  /// The value, or `fallback` when absent; errors if written without `=value`.
  result<std::string> get_string(std::string_view name, std::string fallback) const;
  /// Decimal unsigned integer; `fallback` when absent.
  result<std::uint64_t> get_uint(std::string_view name, std::uint64_t fallback) const;
  result<std::uint64_t> get_uint(std::string_view name) const;
  /// `--flag` alone or `--flag=true|false|yes|no|1|0`; false when absent.
  result<bool> get_flag(std::string_view name) const;
  /// "250ms", "5s", "2m" (an integer and a unit; a bare "0" is allowed); `fallback` when absent.
  result<std::chrono::milliseconds> get_duration(std::string_view name,
                                                 std::chrono::milliseconds fallback) const;
  /// A comma-separated list ("a,b,c"), empty items refused; `fallback` when absent.
  result<std::vector<std::string>> get_list(std::string_view name,
                                            std::vector<std::string> fallback = {}) const;

 private:
  friend result<parsed_args> parse_args(const std::vector<std::string>& args);
  const option* find(std::string_view name) const noexcept;

  std::vector<std::string> positionals_;
  std::vector<option> options_;
};

/// Splits `args` (without the program name and subcommand words) into positionals and options.
/// Option names are letters, digits, '-' and '_', starting with a letter or digit. `-` alone and
/// words starting with `-<digit>` (negative numbers) are positionals; other single-dash words are
/// refused, since every option is written `--name[=value]`.
result<parsed_args> parse_args(const std::vector<std::string>& args);

}  // namespace troupe::cli
