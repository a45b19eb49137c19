#include "tests/sim/replicated/register_service.hpp"

#include <sstream>

#include "actors/replicated/byte_codec.hpp"

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
  std::string out;
  put_u64(out, data_.size());
  for (const auto& [k, v] : data_) {
    put_bytes(out, k);
    put_bytes(out, v);
  }
  return out;
}

status register_service::restore(std::string_view image) {
  data_.clear();
  byte_reader in(image);
  auto n = in.count("registers", 16);
  if (!n) return n.err();
  for (std::uint64_t i = 0; i < *n; ++i) {
    auto k = in.bytes("a key");
    auto v = k ? in.bytes("a value") : result<std::string_view>(k.err());
    if (!v) return v.err();
    data_[std::string(*k)] = std::string(*v);
  }
  return {};
}

}  // namespace troupe::replicated::testing
