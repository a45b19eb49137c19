#pragma once
/// Makes wire::message a CAF 0.17 message type: it serializes as its stream-framed bytes and
/// deserializes through wire::message::parse, so a message that crossed a serializer is validated
/// again. Local sends never serialize (the buffer is shared by reference).

#include <cstring>
#include <type_traits>
#include <vector>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include "runtime/wire/message.hpp"

namespace troupe::wire {

template <class Inspector>
typename std::enable_if<Inspector::reads_state, typename Inspector::result_type>::type
inspect(Inspector& f, message& x) {
  const auto bytes = x.bytes();
  std::vector<char> buf(bytes.size());
  if (!bytes.empty())
    std::memcpy(buf.data(), bytes.data(), bytes.size());
  return f(caf::meta::type_name("troupe.wire.message"), buf);
}

template <class Inspector>
typename std::enable_if<Inspector::writes_state, typename Inspector::result_type>::type
inspect(Inspector& f, message& x) {
  std::vector<char> buf;
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (buf.empty()) {
      x = message{};
      return caf::none;
    }
    auto parsed = message::parse(std::as_bytes(std::span<const char>(buf.data(), buf.size())));
    if (!parsed)
      return caf::make_error(caf::sec::invalid_argument, parsed.err().message);
    x = std::move(parsed).value();
    return caf::none;
  });
  return f(caf::meta::type_name("troupe.wire.message"), buf, load);
}

}  // namespace troupe::wire
