#pragma once
/// The log vocabulary every component shares: a level and the function a component is given to
/// log through, so that it needs no logger (the node's is runtime/node/log.hpp) and tests can
/// capture what it says.

#include <functional>
#include <string_view>

namespace troupe {

enum class log_level { trace, debug, info, warn, error };

/// "trace", "debug", "info", "warn", "error".
const char* to_string(log_level level) noexcept;

/// Must not throw; may be called from any thread the component documents.
using log_function =
    std::function<void(log_level level, std::string_view component, std::string_view text)>;

}  // namespace troupe
