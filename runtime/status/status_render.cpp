#include "runtime/status/status_render.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

#include "consensus/core/membership.hpp"
#include "consensus/core/types.hpp"

namespace troupe::status_page {

namespace {

/// What this node knows about one member beyond the configuration (leader only: progress).
const raft::peer_progress* progress_of(const node_view& v, std::uint64_t id) {
  if (!v.raft) return nullptr;
  for (auto& p : v.raft->peers)
    if (p.id == id) return &p;
  return nullptr;
}

/// A member's role as this node can tell it: its own role; the leader it follows; followers only
/// when this node leads (it tracks their progress). Empty when it cannot tell.
std::string role_of(const node_view& v, const member_view& m) {
  if (!v.raft) return {};
  const auto& conf = v.raft->node.membership;
  if (m.self && v.raft->removed) return "removed";
  if (m.self && v.raft->node.learner) return "learner";
  if (m.self) return raft::to_string(v.raft->node.role);
  if (v.raft->node.leader == m.id) return "leader";
  if (raft::is_learner_in(conf, m.id)) return "learner";
  // A voter of C_old only, while the configuration is joint (Raft thesis §4.3).
  if (raft::is_voter_in(conf, m.id) &&
      std::find(conf.voters.begin(), conf.voters.end(), m.id) == conf.voters.end()) {
    return "leaving";
  }
  if (v.raft->node.role == raft::role::leader && progress_of(v, m.id)) return "follower";
  return {};
}

/// Writes JSON values; strings are always escaped.
class json_writer {
 public:
  std::string str() const { return out_.str(); }
  json_writer& raw(std::string_view s) {
    out_ << s;
    return *this;
  }
  json_writer& key(std::string_view k) {
    comma();
    out_ << '"' << json_escape(k) << "\":";
    fresh_ = true;
    return *this;
  }
  json_writer& str(std::string_view s) {
    comma();
    out_ << '"' << json_escape(s) << '"';
    return *this;
  }
  json_writer& num(std::uint64_t n) {
    comma();
    out_ << n;
    return *this;
  }
  json_writer& num(std::int64_t n) {
    comma();
    out_ << n;
    return *this;
  }
  json_writer& real(double d) {
    comma();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", d);
    out_ << buf;
    return *this;
  }
  json_writer& boolean(bool b) {
    comma();
    out_ << (b ? "true" : "false");
    return *this;
  }
  json_writer& null() {
    comma();
    out_ << "null";
    return *this;
  }
  template <class T>
  json_writer& opt(const std::optional<T>& v) {
    return v ? num(*v) : null();
  }
  json_writer& open(char c) {
    comma();
    out_ << c;
    fresh_ = true;
    return *this;
  }
  json_writer& close(char c) {
    out_ << c;
    fresh_ = false;
    return *this;
  }

 private:
  void comma() {
    if (!fresh_) out_ << ',';
    fresh_ = false;
  }
  std::ostringstream out_;
  bool fresh_ = true;
};

void write_raft(json_writer& w, const raft::group_status& g, std::int64_t age_ms) {
  const auto& n = g.node;
  w.open('{');
  w.key("group").num(std::uint64_t{n.group});
  w.key("role").str(raft::to_string(n.role));
  w.key("term").num(std::uint64_t{n.term});
  w.key("leader");
  if (n.leader == raft::no_node) {
    w.null();
  } else {
    w.num(std::uint64_t{n.leader});
  }
  w.key("voted_for");
  if (n.voted_for == raft::no_node) {
    w.null();
  } else {
    w.num(std::uint64_t{n.voted_for});
  }
  w.key("commit").num(std::uint64_t{n.commit});
  w.key("applied").num(std::uint64_t{n.applied});
  w.key("last_index").num(std::uint64_t{n.last_index});
  w.key("first_index").num(std::uint64_t{n.first_index});
  w.key("apply_lag").num(std::uint64_t{n.commit >= n.applied ? n.commit - n.applied : 0});
  w.key("pending_proposals").num(g.pending_proposals);
  w.key("pending_reads").num(g.pending_reads);
  w.key("lease_valid").boolean(n.lease_valid);
  w.key("storage_ok").boolean(g.storage_ok);
  w.key("age_ms").num(age_ms);
  w.close('}');
}

/// Pads each column to its widest cell; two spaces between columns.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

/// Text for a terminal: control characters from the data must not move the cursor.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  return out;
}

}  // namespace

health_verdict judge_health(const node_view& v) {
  if (!v.raft_expected) return {true, "ok: this node runs no Raft group"};
  if (!v.raft) {
    return {false, v.raft_note.empty() ? "no Raft status yet" : printable(v.raft_note)};
  }
  const auto& g = *v.raft;
  if (!g.storage_ok) return {false, "log storage failed for group " + std::to_string(g.node.group)};
  if (v.raft_age_ms > raft_status_stale_ms) {
    return {false, "raft status is " + std::to_string(v.raft_age_ms / 1000) +
                       " s old: the raft actor does not answer"};
  }
  if (g.node.leader == raft::no_node) {
    return {false, "no leader known for group " + std::to_string(g.node.group) + " (term " +
                       std::to_string(g.node.term) + ")"};
  }
  return {true, "ok: leader " + std::to_string(g.node.leader) + ", term " +
                    std::to_string(g.node.term)};
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    auto u = [&](unsigned code) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", code);
      out += buf;
    };
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '<': case '>': case '&': case '\'': u(c); break;
        default:
          if (c < 0x20 || c == 0x7f) {
            u(c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Multi-byte UTF-8: copy a well-formed sequence, replace anything else with U+FFFD.
    std::size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    if (c >= 0xf5) len = 0;
    bool ok = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      u(0xfffd);
      ++i;
    }
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_unix_ms(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  if (::gmtime_r(&seconds, &tm) == nullptr) return std::to_string(unix_ms);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(((unix_ms % 1000) + 1000) % 1000));
  return buf;
}

std::string render_json(const node_view& v) {
  json_writer w;
  const auto health = judge_health(v);
  w.open('{');
  w.key("node").open('{');
  w.key("id").num(v.id);
  w.key("cluster_id").str(v.cluster_id);
  w.key("address").str(v.address);
  w.key("metrics_address").str(v.metrics_address);
  w.key("now_unix_ms").num(v.now_unix_ms);
  w.key("started_unix_ms").num(v.started_unix_ms);
  w.close('}');
  w.key("health").open('{');
  w.key("healthy").boolean(health.healthy);
  w.key("reason").str(health.reason);
  w.close('}');
  w.key("raft");
  if (v.raft) {
    write_raft(w, *v.raft, v.raft_age_ms);
  } else {
    w.null();
    w.key("raft_note").str(v.raft_note);
  }
  w.key("members").open('[');
  for (auto& m : v.members) {
    const auto* p = progress_of(v, m.id);
    const auto role = role_of(v, m);
    w.open('{');
    w.key("id").num(m.id);
    w.key("address").str(m.address);
    w.key("self").boolean(m.self);
    w.key("role");
    if (role.empty()) {
      w.null();
    } else {
      w.str(role);
    }
    w.key("connection").str(m.connection);
    w.key("queued").opt(m.queued);
    w.key("unacknowledged").opt(m.unacknowledged);
    w.key("match");
    p ? w.num(std::uint64_t{p->match}) : w.null();
    w.key("next");
    p ? w.num(std::uint64_t{p->next}) : w.null();
    w.key("lag_entries");
    p ? w.num(p->lag_entries) : w.null();
    w.key("progress");
    p ? w.str(p->state) : w.null();
    w.key("recently_active");
    p ? w.boolean(p->recently_active) : w.null();
    w.close('}');
  }
  w.close(']');
  w.key("leader_changes").open('[');
  if (v.raft) {
    for (auto& c : v.raft->recent_leader_changes) {
      w.open('{');
      w.key("unix_ms").num(c.unix_ms);
      w.key("term").num(std::uint64_t{c.term});
      w.key("leader");
      c.leader == raft::no_node ? w.null() : w.num(std::uint64_t{c.leader});
      w.close('}');
    }
  }
  w.close(']');
  w.key("checkpoints");
  if (v.checkpoints) {
    w.open('[');
    for (auto& c : *v.checkpoints) {
      w.open('{');
      w.key("id").num(c.id);
      w.key("started_unix_ms").num(c.started_unix_ms);
      w.key("duration_seconds");
      c.duration_seconds ? w.real(*c.duration_seconds) : w.null();
      w.key("outcome").str(c.outcome);
      w.key("written_bytes").num(c.written_bytes);
      w.key("recorded_messages").num(c.recorded_messages);
      w.close('}');
    }
    w.close(']');
  } else {
    w.null();
    w.key("checkpoints_note").str(v.checkpoints_note);
  }
  w.close('}');
  return w.str() + "\n";
}

std::string render_text(const node_view& v) {
  std::string out;
  const auto health = judge_health(v);
  out += "node " + std::to_string(v.id) + " of cluster " + printable(v.cluster_id) + " at " +
         printable(v.address) + " (" + format_unix_ms(v.now_unix_ms) + ")\n";
  out += std::string("health: ") + (health.healthy ? "healthy" : "UNHEALTHY") + " (" +
         health.reason + ")\n";
  if (v.raft) {
    const auto& n = v.raft->node;
    out += "raft group " + std::to_string(n.group) + ": " + raft::to_string(n.role) + ", term " +
           std::to_string(n.term) + ", leader " +
           (n.leader == raft::no_node ? std::string("none") : std::to_string(n.leader)) +
           ", commit " + std::to_string(n.commit) + ", applied " + std::to_string(n.applied) +
           ", last index " + std::to_string(n.last_index) + ", pending proposals " +
           std::to_string(v.raft->pending_proposals) + "\n";
  } else {
    out += "raft: " + printable(v.raft_note.empty() ? "no status" : v.raft_note) + "\n";
  }
  out += "\n";
  std::vector<std::vector<std::string>> rows{
      {"ID", "ADDRESS", "ROLE", "CONNECTION", "MATCH", "NEXT", "LAG", "PROGRESS"}};
  for (auto& m : v.members) {
    const auto* p = progress_of(v, m.id);
    auto role = role_of(v, m);
    rows.push_back({std::to_string(m.id) + (m.self ? "*" : ""), printable(m.address),
                    role.empty() ? "-" : role, printable(m.connection),
                    p ? std::to_string(p->match) : "-", p ? std::to_string(p->next) : "-",
                    p ? std::to_string(p->lag_entries) : "-",
                    p ? printable(p->state) + (p->recently_active ? "" : " (inactive)") : "-"});
  }
  out += table(rows);
  out += "(* this node; MATCH, NEXT, LAG and PROGRESS are known on the leader only)\n";
  out += "\nrecent leader changes (newest first):\n";
  if (!v.raft || v.raft->recent_leader_changes.empty()) out += "  none seen\n";
  if (v.raft) {
    const auto& changes = v.raft->recent_leader_changes;
    for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
      out += "  " + format_unix_ms(it->unix_ms) + "  term " + std::to_string(it->term) + "  " +
             (it->leader == raft::no_node ? std::string("leader lost")
                                          : "leader " + std::to_string(it->leader)) +
             "\n";
    }
  }
  out += "\nrecent checkpoints:\n";
  if (!v.checkpoints) {
    out += "  " + printable(v.checkpoints_note) + "\n";
  } else if (v.checkpoints->empty()) {
    out += "  none yet\n";
  } else {
    std::vector<std::vector<std::string>> cp{{"  ID", "STARTED", "DURATION", "OUTCOME", "BYTES",
                                              "RECORDED MESSAGES"}};
    for (auto it = v.checkpoints->rbegin(); it != v.checkpoints->rend(); ++it) {
      char d[32] = "-";
      if (it->duration_seconds) std::snprintf(d, sizeof d, "%.3f s", *it->duration_seconds);
      cp.push_back({"  " + std::to_string(it->id), format_unix_ms(it->started_unix_ms), d,
                    printable(it->outcome), std::to_string(it->written_bytes),
                    std::to_string(it->recorded_messages)});
    }
    out += table(cp);
  }
  return out;
}

}  // namespace troupe::status_page
