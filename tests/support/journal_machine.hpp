#pragma once
// A test state machine for the raft actor's tests (restart, restore, the in-process cluster): its
// state is the image it was restored from plus "<command>;" for each command applied since; a
// command's result is "ok <command>"; a query returns the state; it refuses images that start
// with "bad".

#include <cstdint>
#include <string>
#include <string_view>

#include "consensus/core/state_machine.hpp"

namespace troupe::raft::test_support {

class journal final : public state_machine {
 public:
  std::string apply(std::uint64_t index, std::string_view command) override {
    state_ += std::string(command) + ";";
    last_ = index;
    return "ok " + std::string(command);
  }
  std::string query(std::string_view) const override { return state_; }
  std::uint64_t applied_index() const override { return last_; }
  std::string snapshot() const override { return state_; }
  troupe::status restore(std::uint64_t index, std::string_view image) override {
    if (image.starts_with("bad")) return make_error(errc::corrupt, "undecodable");
    state_ = std::string(image);
    last_ = index;
    return {};
  }

 private:
  std::string state_;
  std::uint64_t last_ = 0;
};

}  // namespace troupe::raft::test_support
