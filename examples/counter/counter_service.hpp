#pragma once
/// The replicated counter (examples/counter/README.md): named 64-bit counters, the smallest useful
/// service on the replicated actor API (actors/replicated/service.hpp). Commands and queries are
/// one line of text:
///   command `incr NAME BY`  -> the counter's new value, in decimal (BY may be negative)
///   query   `get NAME`      -> its value (0 for a counter never incremented)
/// An increment that would overflow int64 is refused (the same on every replica).
///
/// Thread-safety: none; the service host calls it.

#include <cstdint>
#include <map>
#include <string>

#include "actors/replicated/service.hpp"

namespace troupe::counter {

class counter_service final : public replicated::service {
 public:
  result<std::string> apply(const replicated::apply_context& at, std::string_view command) override;
  result<std::string> query(std::string_view request) const override;
  std::string snapshot() const override;
  status restore(std::string_view image) override;

  const std::map<std::string, std::int64_t, std::less<>>& counters() const { return counters_; }

 private:
  std::map<std::string, std::int64_t, std::less<>> counters_;
};

/// The payloads, for clients.
std::string incr_command(std::string_view name, std::int64_t by);
std::string get_query(std::string_view name);

}  // namespace troupe::counter
