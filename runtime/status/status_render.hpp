#pragma once
/// Renders a node_view for people and programs. Pure functions (no clock, no I/O); every string
/// that came from configuration or the network is escaped for the format it lands in.

#include <string>
#include <string_view>

#include "runtime/status/status_view.hpp"

namespace troupe::status_page {

/// /status.json: one object with "node", "health", "raft" (or null and "raft_note"), "members",
/// "leader_changes" (oldest first) and "checkpoints" (or null and "checkpoints_note"). Unknown values
/// are null. The layout is documented in runtime/status/README.md.
std::string render_json(const node_view& view);

/// /status.txt and `troupe status`: the same as readable text tables.
std::string render_text(const node_view& view);

/// /status: an HTML page with the JSON embedded; its script re-renders from /status.json every
/// second (with textContent only: nothing from the data is ever parsed as HTML).
std::string render_html(const node_view& view);

/// JSON string contents (without quotes): `"`, `\`, control characters and, so that JSON can sit
/// inside a <script> element, `<`, `>` and `&` as \u escapes. Invalid UTF-8 bytes become U+FFFD.
std::string json_escape(std::string_view s);
/// HTML text or attribute value: & < > " ' escaped.
std::string html_escape(std::string_view s);
/// "2026-11-26 15:04:05.123Z" for milliseconds since the Unix epoch (UTC).
std::string format_unix_ms(std::int64_t unix_ms);

}  // namespace troupe::status_page
