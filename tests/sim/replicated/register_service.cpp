#include "tests/sim/replicated/register_service.hpp"

#include <sstream>

#include "consensus/core/snapshot_bytes.hpp"

namespace troupe::replicated::testing {

result<std::string> register_service::apply(const apply_context&, std::string_view command) {
  std::istringstream in{std::string(command)};
  std::string verb, key, a, b;
  in >> verb >> key >> a >> b;
  if (verb == "put" && !key.empty() && !a.empty()) {
    data_[key] = a;
    return std::string("ok");
  }
  if (verb == "cas" && !key.empty() && !b.empty()) {
    auto it = data_.find(key);
    if (it == data_.end() || it->second != a) return std::string("0");
    it->second = b;
    return std::string("1");
  }
  return make_error(errc::invalid_argument, "register: bad command");
}

result<std::string> register_service::query(std::string_view request) const {
  if (request.substr(0, 4) != "get ") return make_error(errc::invalid_argument, "register: bad query");
  auto it = data_.find(std::string(request.substr(4)));
  return it == data_.end() ? std::string("!") : "=" + it->second;
}

std::string register_service::snapshot() const {
  raft::snapshot_writer out;
  out.u64(data_.size());
  for (const auto& [k, v] : data_) {
    out.bytes(k);
    out.bytes(v);
  }
  return out.take();
}

status register_service::restore(std::string_view image) {
  raft::snapshot_reader in(image);
  std::map<std::string, std::string> data;
  const std::uint64_t n = in.count(16);
  for (std::uint64_t i = 0; i < n && in.ok(); ++i) {
    std::string k = in.bytes();
    data[std::move(k)] = in.bytes();
  }
  if (!in.ok() || !in.at_end()) return make_error(errc::corrupt, "register snapshot: damaged image");
  data_ = std::move(data);
  return {};
}

}  // namespace troupe::replicated::testing
