#include "snapshot/store/dot.hpp"

#include <algorithm>

namespace troupe::checkpoint::store {

namespace {

/// Escapes text for the inside of a DOT quoted string. `\n` is written as DOT's centered line
/// break; other backslashes are doubled so DOT does not read `\l`, `\N` etc. as escapes.
std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool printable(const bytes& b) {
  return std::all_of(b.begin(), b.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

/// "12 bytes" and, for short printable contents, the text in quotes; already escaped.
std::string describe(const bytes& b, const dot_options& opts) {
  std::string out = std::to_string(b.size()) + (b.size() == 1 ? " byte" : " bytes");
  if (!b.empty() && b.size() <= opts.text_bytes_max && printable(b)) {
    out += ": \\\"" + escape(std::string_view(b.data(), b.size())) + "\\\"";
  }
  return out;
}

std::string node_name(participant_id p) {
  return "p" + std::to_string(p);
}

}  // namespace

std::string to_dot(const global_state& state, const dot_options& opts) {
  std::string out = "digraph checkpoint_" + std::to_string(state.id) + " {\n";
  out += "  label=\"checkpoint " + std::to_string(state.id) + ", initiator " +
         std::to_string(state.initiator) + ", " + std::to_string(state.recorded_message_count()) +
         " messages in flight\";\n";
  out += "  node [shape=box];\n";
  for (const auto& [p, local] : state.local_states) {
    out += "  " + node_name(p) + " [label=\"participant " + std::to_string(p) + "\\n" +
           describe(local, opts) + "\"];\n";
  }
  for (const auto& [c, messages] : state.channels) {
    std::string label =
        std::to_string(messages.size()) + (messages.size() == 1 ? " message" : " messages");
    const std::size_t shown = std::min(messages.size(), opts.messages_shown);
    for (std::size_t i = 0; i < shown; ++i) {
      label +=
          "\\n#" + std::to_string(messages[i].sequence) + " " + describe(messages[i].payload, opts);
    }
    if (shown < messages.size()) {
      label += "\\n(" + std::to_string(messages.size() - shown) + " more)";
    }
    out += "  " + node_name(c.from) + " -> " + node_name(c.to) + " [label=\"" + label + "\"" +
           (messages.empty() ? ", style=dashed" : "") + "];\n";
  }
  out += "}\n";
  return out;
}

}  // namespace troupe::checkpoint::store
