// The live view of a stream: the same chart as the stream's report (production metric
// per batch, drift triggers, round spans, promotions and rollbacks on one batch axis),
// drawn as SVG from /api/stream and redrawn as batches arrive. Archive text (batch
// names, reasons, details) only reaches the page as textContent, never as markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 3000;
const ROLE_COLOUR = { champion: "#111827", shadow: "#2563eb", predecessor: "#9ca3af" };
const ROLE_DASH = { champion: "", shadow: "6 4", predecessor: "2 3" };
const ROUND_FILL = { promoted: "#16a34a", declined: "#6b7280", rejected: "#6b7280", failed: "#dc2626" };
const LIVE_FILL = "#f59e0b";

function svg(tag, attrs, title) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  if (title) {
    const t = document.createElementNS(SVG, "title");
    t.textContent = title;
    node.append(t);
  }
  return node;
}

function drawChart(box, s) {
  EF.clear(box);
  if (!s.seq.length) { box.append(EF.el("p", { class: "muted", text: "waiting for the first batch…" })); return; }
  const w = Math.max(box.clientWidth || 1000, 400), h = 340;
  const m = { l: 56, r: 16, t: 24, b: 34 };
  const marks = s.promotions.concat(s.rollbacks).map((p) => p.seq);
  let lo = Math.min(s.seq[0], ...marks), hi = Math.max(s.seq[s.seq.length - 1], ...marks);
  if (lo === hi) { lo -= 1; hi += 1; }
  const vals = [];
  for (const role of s.roles) for (const v of s.metrics[role]) if (v !== null) vals.push(v);
  const [ylo, yhi] = niceRange(vals.length ? vals : [0, 1]);
  const X = (seq) => m.l + ((seq - lo) / (hi - lo)) * (w - m.l - m.r);
  const Y = (v) => m.t + (1 - (v - ylo) / (yhi - ylo)) * (h - m.t - m.b);
  const top = m.t, bottom = h - m.b, last = s.seq[s.seq.length - 1];
  const root = svg("svg", { viewBox: "0 0 " + w + " " + h, width: w, height: h, role: "img", "aria-label": "production metric per batch", id: "stream-chart" });
  for (const r of s.rounds) {
    const end = r.ended_seq === null ? last : r.ended_seq;
    const x0 = X(r.trigger_seq), x1 = X(Math.max(end, r.trigger_seq));
    root.append(svg("rect", {
      class: "round round-" + r.state, x: x0.toFixed(1), y: top, width: Math.max(x1 - x0, 2).toFixed(1),
      height: bottom - top, fill: ROUND_FILL[r.state] || LIVE_FILL, "fill-opacity": 0.13, "data-round": r.id,
    }, "round " + r.id + " " + r.state + ": batches " + r.trigger_seq + "–" + (r.ended_seq === null ? "" : r.ended_seq) + (r.why ? " (" + r.why + ")" : "")));
  }
  for (let i = 0; i <= 4; i++) {
    const v = ylo + ((yhi - ylo) * i) / 4;
    root.append(svg("line", { x1: m.l, x2: w - m.r, y1: Y(v).toFixed(1), y2: Y(v).toFixed(1), stroke: "#e5e7eb" }));
    const label = svg("text", { x: 4, y: (Y(v) + 4).toFixed(1), "font-size": 11, fill: "#6b7280" });
    label.textContent = EF.fmt(v, 3);
    root.append(label);
  }
  const step = Math.max(1, Math.ceil((hi - lo) / 10));
  for (let seq = lo; seq <= hi; seq += step) {
    const label = svg("text", { x: (X(seq) - 8).toFixed(1), y: h - 12, "font-size": 11, fill: "#6b7280" });
    label.textContent = String(seq);
    root.append(label);
  }
  for (const t of s.triggers) {
    root.append(svg("line", {
      class: "trigger", x1: X(t.seq).toFixed(1), x2: X(t.seq).toFixed(1), y1: top, y2: bottom,
      stroke: "#f59e0b", "stroke-width": 1.5, "stroke-dasharray": "4 3", "data-seq": t.seq,
    }, t.detector + " at batch " + t.seq + " (statistic " + EF.fmt(t.statistic) + ")" + (t.detail ? ": " + t.detail : "")));
  }
  const mark = (cls, seq, colour, text, tip) => {
    const g = svg("g", { class: cls, "data-seq": seq }, tip);
    const px = X(seq);
    g.append(svg("line", { x1: px.toFixed(1), x2: px.toFixed(1), y1: top, y2: bottom, stroke: colour, "stroke-width": 2 }));
    const label = svg("text", { x: (px + 4).toFixed(1), y: top - 6, "font-size": 12, fill: colour });
    label.textContent = text;
    g.append(label);
    root.append(g);
  };
  for (const p of s.promotions) {
    mark("promotion", p.seq, "#16a34a", "▼ #" + p.champion, "promotion after batch " + p.seq + ": champion #" + p.champion + " from round " + p.round);
  }
  for (const b of s.rollbacks) {
    mark("rollback", b.seq, "#dc2626", "↺ #" + b.champion, "rollback after batch " + b.seq + ": #" + b.rolled_back + " rolled back, #" + b.champion + " serves: " + b.reason);
  }
  for (const role of s.roles) {
    const g = svg("g", { class: "series series-" + role });
    let d = "", pen = false;
    s.seq.forEach((seq, i) => {
      const v = s.metrics[role][i];
      if (v === null) { pen = false; return; }
      d += (pen ? "L" : "M") + X(seq).toFixed(1) + " " + Y(v).toFixed(1);
      pen = true;
      if (s.seq.length <= 600) {
        g.append(svg("circle", { cx: X(seq).toFixed(1), cy: Y(v).toFixed(1), r: 2.5, fill: ROLE_COLOUR[role] || "#4b5563" },
          role + " on batch " + seq + ": " + EF.fmt(v)));
      }
    });
    if (!d) continue;
    g.prepend(svg("path", { d, fill: "none", stroke: ROLE_COLOUR[role] || "#4b5563", "stroke-width": role === "champion" ? 2 : 1.5, "stroke-dasharray": ROLE_DASH[role] || null }));
    root.append(g);
  }
  for (const role of s.roles) {
    for (const f of s.failed[role]) {
      const px = X(f.seq), py = bottom + 6;
      root.append(svg("path", { class: "failure failure-" + role, d: "M" + (px - 3).toFixed(1) + " " + (py - 3).toFixed(1) + "l6 6m0-6l-6 6", stroke: "#dc2626" },
        role + " failed on batch " + f.seq + ": " + f.failure));
    }
  }
  box.append(root);
}

function renderLegend(s) {
  const legend = EF.clear(document.getElementById("legend"));
  for (const role of s.roles) {
    const dot = EF.el("i");
    dot.style.background = ROLE_COLOUR[role] || "#4b5563";  // CSSOM: the page's CSP allows it
    legend.append(EF.el("span", { class: "key" }, dot, role));
  }
  legend.append(EF.el("span", { class: "key" }, EF.el("i", { class: "fail" }), "failed"),
    EF.el("span", { class: "key", text: "┆ drift trigger" }), EF.el("span", { class: "key", text: "▼ promotion" }),
    EF.el("span", { class: "key", text: "↺ rollback" }),
    EF.el("span", { class: "key", text: "▒ round (amber: live, green: promoted, grey: declined, red: failed)" }));
  document.getElementById("chart-title").textContent = "Production " + s.metric + " per batch";
  document.getElementById("chart-note").textContent = s.metric + ": " + (s.maximize ? "higher" : "lower") + " is better.";
}

function table(id, headers, rows, none) {
  const box = EF.clear(document.getElementById(id));
  box.append(rows.length ? EF.table(headers, rows) : EF.el("p", { class: "muted", text: none }));
}

function render(view) {
  const s = view.series;
  const rows = Object.fromEntries(view.rows);
  const st = document.getElementById("state");
  st.textContent = rows.state;
  st.className = "state state-" + (rows.state === "watching" ? "running" : rows.state.split(" ")[0]);
  document.getElementById("crumb").textContent = "stream · " + view.name;
  document.title = "evoforge · stream · " + view.name;
  drawChart(document.getElementById("chart"), s);
  renderLegend(s);
  EF.clear(document.getElementById("status")).append(EF.kv(view.rows));
  const dash = (v) => (v === null || v === undefined || v === "" ? "–" : String(v));
  table("rounds", ["round", "state", "trigger batch", "ended batch", "challenger", "shadow batches", "started", "ended", "why"],
    s.rounds.slice().reverse().map((r) => [String(r.id), EF.el("span", { class: "badge" + (r.state === "pending" ? " warn" : ""), text: r.state }),
      String(r.trigger_seq), dash(r.ended_seq), dash(r.challenger).slice(0, 12), String(r.shadow_done), EF.when(r.started_at), EF.when(r.ended_at), dash(r.why)]),
    "No round yet.");
  table("champions", ["champion", "code", "round", "parent", "serving after batch", "state", "reason", "since"],
    s.champions.slice().reverse().map((c) => ["#" + c.id, c.code_hash.slice(0, 12), dash(c.round), c.parent === null ? "–" : "#" + c.parent,
      String(c.since_seq), c.state, dash(c.reason), EF.when(c.at)]),
    "No champion yet.");
  table("triggers", ["batch", "detector", "statistic", "detail"],
    s.triggers.slice().reverse().map((t) => [String(t.seq), t.detector, EF.fmt(t.statistic), dash(t.detail)]), "No trigger yet.");
  table("quarantine", ["file", "sha256", "reason", "when"],
    s.quarantine.slice().reverse().map((q) => [q.name, q.sha256.slice(0, 12), q.reason, EF.when(q.at)]), "No batch was quarantined.");
}

let latest = null;
async function tick() {
  try {
    latest = await EF.get("/api/stream");
    render(latest);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.ready = "1";
  } catch (e) {
    document.getElementById("updated").textContent = "connection lost: " + e.message;
  }
}

tick();
setInterval(() => { if (document.hidden && latest && !Object.fromEntries(latest.rows).state.startsWith("watching")) return; tick(); }, POLL_MS);
window.addEventListener("resize", () => { if (latest) drawChart(document.getElementById("chart"), latest.series); });
