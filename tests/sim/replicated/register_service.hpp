#pragma once
/// A test service for the simulation: registers (put, compare-and-swap, get) behind the service
/// host, so that reads at every consistency level can go through the linearizability checker,
/// whose model is a register per key. Commands: `put K V` -> `ok`; `cas K EXPECTED NEW` -> `1`
/// (swapped) or `0`. Query: `get K` -> `=V`, or `!` when absent. Keys and values hold no space.

#include <map>
#include <string>

#include "actors/replicated/service.hpp"

namespace troupe::replicated::testing {

class register_service final : public service {
 public:
  result<std::string> apply(const apply_context& at, std::string_view command) override;
  result<std::string> query(std::string_view request) const override;
  std::string snapshot() const override;
  status restore(std::string_view image) override;
  const std::map<std::string, std::string>& data() const { return data_; }

 private:
  std::map<std::string, std::string> data_;
};

}  // namespace troupe::replicated::testing
