// The /status page: a fixed HTML shell, the node's JSON embedded in it, and a script that renders
// the JSON and re-renders from /status.json every second. Rendering happens in the browser with
// textContent only, so nothing from the data is ever interpreted as HTML; the embedded JSON escapes
// < > & (json_escape), so it cannot close its <script> element.
#include "runtime/status/status_render.hpp"

namespace troupe::status_page {

namespace {

constexpr const char* page_head = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>)html";

constexpr const char* page_style = R"html(</title>
<style>
:root { --bg:#f4f6f9; --card:#fff; --ink:#1d2433; --muted:#6b7385; --line:#e3e7ee;
        --ok:#1f9d55; --warn:#d97706; --bad:#dc2626; --lead:#4f46e5; }
* { box-sizing:border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--ink); }
header { background:#161b2e; color:#fff; padding:14px 28px; display:flex; align-items:center; gap:18px; flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; font-weight:650; letter-spacing:.3px; }
header .sub { color:#aab1c5; }
.pill { padding:3px 10px; border-radius:999px; font-weight:600; font-size:12.5px; }
.pill.ok { background:#dcfce7; color:#166534; } .pill.bad { background:#fee2e2; color:#991b1b; }
.live { margin-left:auto; color:#aab1c5; font-size:12.5px; display:flex; align-items:center; gap:6px; }
.dot { width:9px; height:9px; border-radius:50%; display:inline-block; background:var(--muted); }
.dot.ok { background:var(--ok); } .dot.warn { background:var(--warn); } .dot.bad { background:var(--bad); }
main { max-width:1180px; margin:22px auto; padding:0 22px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(140px,1fr)); gap:12px; margin-bottom:18px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.5px; }
.card .v { font-size:22px; font-weight:650; margin-top:2px; font-variant-numeric:tabular-nums; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; margin-bottom:18px; }
section h2 { font-size:15px; margin:0 0 10px; }
.note { color:var(--muted); font-style:italic; }
table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
th { text-align:left; color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.4px; padding:6px 8px; border-bottom:1px solid var(--line); }
td { padding:8px; border-bottom:1px solid var(--line); }
tr:last-child td { border-bottom:0; }
tr.self td { background:#f8f9ff; }
.role { padding:2px 8px; border-radius:6px; font-size:12.5px; font-weight:600; background:#eef0f4; color:#374151; }
.role.leader { background:#e0e7ff; color:var(--lead); }
.mono { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:13px; white-space:nowrap; }
.cols { display:grid; grid-template-columns:1fr 1fr; gap:18px; }
@media (max-width:800px) { .cols { grid-template-columns:1fr; } }
footer { color:var(--muted); font-size:12.5px; text-align:center; margin:10px 0 28px; }
footer a { color:var(--muted); margin:0 6px; }
</style>
</head>
<body>
<header>
  <h1>Troupe</h1>
  <span class="sub" id="title"></span>
  <span class="pill" id="health"></span>
  <span class="live"><span class="dot" id="live-dot"></span><span id="live"></span></span>
</header>
<main>
  <div class="cards" id="cards"></div>
  <section>
    <h2>Cluster as node <span id="self-id"></span> sees it</h2>
    <p class="note" id="raft-note" hidden></p>
    <table id="members">
      <thead><tr><th>Node</th><th>Address</th><th>Role</th><th>Connection</th><th>Match</th><th>Next</th><th>Lag</th><th>Progress</th></tr></thead>
      <tbody></tbody>
    </table>
    <p class="note">Match, next, lag and progress are known on the leader only.</p>
  </section>
  <div class="cols">
    <section>
      <h2>Recent leader changes</h2>
      <table id="leader-changes">
        <thead><tr><th>Seen at (UTC)</th><th>Term</th><th>Leader</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="note" id="leader-changes-note" hidden>None seen since this node started.</p>
    </section>
    <section>
      <h2>Recent checkpoints</h2>
      <table id="checkpoints" hidden>
        <thead><tr><th>Id</th><th>Started (UTC)</th><th>Duration</th><th>Outcome</th><th>Bytes</th><th>Recorded</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="note" id="checkpoints-note" hidden></p>
    </section>
  </div>
</main>
<footer><a href="/metrics">/metrics</a><a href="/status.json">/status.json</a><a href="/status.txt">/status.txt</a><a href="/health">/health</a></footer>
<noscript><p style="text-align:center">This page needs JavaScript; <a href="/status.txt">/status.txt</a> has the same data as text.</p></noscript>
<script type="application/json" id="initial">)html";

constexpr const char* page_script = R"html(</script>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
const show = (v) => (v === null || v === undefined ? "\u2014" : v);
function time(ms) { return new Date(ms).toISOString().replace("T", " ").replace("Z", ""); }
function card(k, v, id) {
  const c = el("div", null, "card");
  c.append(el("div", k, "k"));
  const value = el("div", show(v), "v");
  if (id) value.id = id;
  c.append(value);
  return c;
}
let lastUpdate = Date.now();
function render(d) {
  document.title = "Troupe node " + d.node.id + (d.health.healthy ? "" : " (unhealthy)");
  $("title").textContent = "node " + d.node.id + " \u00b7 cluster " + d.node.cluster_id + " \u00b7 " + d.node.address;
  $("self-id").textContent = d.node.id;
  const h = $("health");
  h.textContent = d.health.healthy ? "healthy" : "unhealthy: " + d.health.reason;
  h.className = "pill " + (d.health.healthy ? "ok" : "bad");
  h.title = d.health.reason;
  const r = d.raft;
  const cards = $("cards");
  cards.replaceChildren();
  if (r) {
    cards.append(card("Role", r.role, "role"), card("Term", r.term, "term"),
                 card("Leader", r.leader === null ? "none" : r.leader, "leader"),
                 card("Commit", r.commit), card("Applied", r.applied),
                 card("Apply lag", r.apply_lag), card("Pending", r.pending_proposals));
    $("raft-note").hidden = true;
  } else {
    $("raft-note").textContent = d.raft_note;
    $("raft-note").hidden = false;
  }
  const body = $("members").tBodies[0];
  body.replaceChildren();
  for (const m of d.members) {
    const tr = el("tr", null, m.self ? "self" : "");
    tr.dataset.id = m.id;
    tr.append(el("td", m.id + (m.self ? " (this node)" : "")), el("td", m.address, "mono"));
    const role = el("td", m.role === null ? "\u2014" : null);
    if (m.role !== null) role.append(el("span", m.role, "role" + (m.role === "leader" ? " leader" : "")));
    tr.append(role);
    const conn = el("td");
    const state = m.connection;
    conn.append(el("span", null, "dot " + (state === "up" || state === "self" ? "ok" : state === "disconnected" ? "bad" : "warn")),
                document.createTextNode(" " + state));
    tr.append(conn, el("td", show(m.match)), el("td", show(m.next)), el("td", show(m.lag_entries)),
              el("td", m.progress === null ? "\u2014" : m.progress + (m.recently_active ? "" : " (inactive)")));
    body.append(tr);
  }
  const lc = $("leader-changes").tBodies[0];
  lc.replaceChildren();
  for (const c of d.leader_changes.slice().reverse()) {
    const tr = el("tr");
    tr.append(el("td", time(c.unix_ms), "mono"), el("td", c.term), el("td", c.leader === null ? "lost" : c.leader));
    lc.append(tr);
  }
  $("leader-changes").hidden = d.leader_changes.length === 0;
  $("leader-changes-note").hidden = d.leader_changes.length !== 0;
  const cp = $("checkpoints");
  if (d.checkpoints === null || d.checkpoints.length === 0) {
    cp.hidden = true;
    $("checkpoints-note").textContent = d.checkpoints === null ? d.checkpoints_note : "None yet.";
    $("checkpoints-note").hidden = false;
  } else {
    cp.hidden = false;
    $("checkpoints-note").hidden = true;
    const cb = cp.tBodies[0];
    cb.replaceChildren();
    for (const c of d.checkpoints.slice().reverse()) {
      const tr = el("tr");
      const started = el("td", time(c.started_unix_ms).slice(11), "mono");
      started.title = time(c.started_unix_ms);
      tr.append(el("td", c.id), started,
                el("td", c.duration_seconds === null ? "running" : (c.duration_seconds * 1000).toFixed(0) + " ms"),
                el("td", c.outcome), el("td", c.written_bytes), el("td", c.recorded_messages));
      cb.append(tr);
    }
  }
  lastUpdate = Date.now();
  document.body.dataset.updated = d.node.now_unix_ms;
}
function liveness() {
  const age = (Date.now() - lastUpdate) / 1000;
  $("live-dot").className = "dot " + (age < 3 ? "ok" : "bad");
  $("live").textContent = age < 3 ? "live" : "no answer for " + Math.round(age) + " s";
}
async function refresh() {
  try {
    const r = await fetch("/status.json", {cache: "no-store"});
    if (r.ok) render(await r.json());
  } catch (e) { /* the node is down or unreachable: liveness() shows it */ }
  liveness();
}
render(JSON.parse($("initial").textContent));
liveness();
setInterval(refresh, 1000);
</script>
</body>
</html>
)html";

}  // namespace

std::string render_html(const node_view& view) {
  std::string page = page_head;
  page += "Troupe node " + html_escape(std::to_string(view.id));
  page += page_style;
  page += render_json(view);
  page += page_script;
  return page;
}

}  // namespace troupe::status_page
