#pragma once
/// The portable, table-driven CRC-32C that crc32c() falls back to on a CPU without SSE 4.2. Its
/// own declaration so that the unit test holds it to the definition on a machine whose crc32c()
/// takes the instruction (this one); nothing else should call it. Pure; thread-safe.

#include <cstdint>
#include <span>

namespace troupe::detail {

/// CRC-32C of `data`, continuing from `crc` (0 to start), exactly as crc32c() computes it.
std::uint32_t crc32c_portable(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;

}  // namespace troupe::detail
