// The live view of one run: polls the server for new candidates and the run's state
// and redraws without reloading the page.
"use strict";

const RUN = EF.route().run;
const BASE = "/api/run/" + encodeURIComponent(RUN);
const store = { rows: new Map(), stable: 0, overview: null, proposers: [] };
const POLL_MS = 1500;

function mergePoints(p) {
  for (let i = 0; i < p.id.length; i++) {
    store.rows.set(p.id[i], {
      id: p.id[i], parent: p.parent[i], parent2: p.parent2[i], status: p.status[i],
      proposer: p.proposer[i], score: p.score[i], heldout: p.heldout[i], flags: p.flags[i],
      hidden: Object.fromEntries(p.hidden_metrics.map((name, k) => [name, p.hidden[i][k]])),
      t: p.t[i], tokens: p.tokens[i], cost: p.cost[i],
    });
    if (!store.proposers.includes(p.proposer[i])) store.proposers.push(p.proposer[i]);
  }
  store.stable = p.stable;
}

function colourOf(proposer) {
  return EF.palette[store.proposers.indexOf(proposer) % EF.palette.length];
}

function tile(label, value, id, note) {
  return EF.el("div", { class: "tile" }, EF.el("div", { class: "label", text: label }),
    EF.el("div", { class: "value", id: id, text: value }), note ? EF.el("div", { class: "note", text: note }) : null);
}

function renderTiles(ov, rows) {
  const c = ov.counts;
  const evaluated = c.succeeded + c.failed + (c.stopped || 0);
  const budget = ov.budget.candidates;
  const minutes = ov.elapsed_s / 60;
  const recent = rows.filter((r) => r.t && r.t > ov.now - 300 && (r.status === "succeeded" || r.status === "failed")).length;
  const tokens = rows.reduce((a, r) => a + r.tokens, 0);
  const cost = rows.reduce((a, r) => a + r.cost, 0);
  const champ = ov.champion;
  const weak = Object.entries(ov.sandbox).filter(([, v]) => !String(v).startsWith("on")).map(([k]) => k);
  const box = EF.clear(document.getElementById("tiles"));
  box.append(
    tile("champion", champ ? "#" + champ.id : "–", "champion-id",
      champ ? [ov.objective + " " + EF.fmt(champ.score), EF.hidden(ov.hidden_metrics, champ.hidden)].filter(Boolean).join(" · ") : ""),
    tile("evaluated", evaluated + (budget ? " / " + budget : ""), "evaluated",
      budget ? Math.round((100 * evaluated) / budget) + "% of the candidate budget" : "no candidate budget"),
    tile("candidates / min", minutes > 0 ? (evaluated / minutes).toFixed(2) : "–", "rate",
      "last 5 min: " + (recent / 5).toFixed(2)),
    tile("elapsed", EF.duration(ov.elapsed_s), "elapsed",
      ov.budget.wall_minutes ? "of " + ov.budget.wall_minutes + " min" : ""),
    tile("candidates", "", "statuses",
      "✓ " + c.succeeded + "  ✗ " + c.failed + "  rejected " + c.rejected + "  dup " + c.duplicate +
      (c.stopped ? "  stopped early " + c.stopped : "") +
      "  running " + (c.running + c.pending)),
    tile("pending approvals", String(ov.approvals.filter((a) => a.state === "pending").length), "pending-count", ""),
    tile("sandbox", weak.length ? "weaker" : "all layers on", "sandbox",
      weak.length ? "missing: " + weak.join(", ") : (ov.allow_weak ? "weak allowed" : "")),
  );
  if (ov.portfolio && ov.portfolio.length) {
    const lead = ov.portfolio.reduce((a, m) => (m.improved > a.improved ? m : a));
    box.append(tile("search members", lead.member, "portfolio",
      ov.portfolio.map((m) => m.member + ": " + m.improved + " of " + m.proposals + " improved the best").join(" · ")));
  }
  if (tokens || ov.llm_budget.max_tokens) {
    box.append(tile("LLM tokens · cost", tokens + " · " + cost.toFixed(4), "llm",
      (ov.llm_budget.max_tokens ? "of " + ov.llm_budget.max_tokens + " tokens" : "") +
      (ov.llm_budget.max_cost ? " · of " + ov.llm_budget.max_cost : "")));
  }
  const status = document.getElementById("statuses");
  status.textContent = String(evaluated + c.rejected + c.duplicate + c.running + c.pending);
  const st = document.getElementById("state");
  st.textContent = ov.state;
  st.className = "state state-" + ov.state;
  document.getElementById("crumb").textContent = ov.name;
  document.title = "evoforge · " + ov.name;
}

function renderApprovals(ov) {
  const box = EF.clear(document.getElementById("approvals"));
  const pending = ov.approvals.filter((a) => a.state === "pending" || a.state === "confirming");
  if (!pending.length) box.append(EF.el("p", { class: "muted", text: "Nothing waiting for approval." }));
  for (const a of pending) {
    const show = (v) => (v !== null && typeof v === "object"
      ? (Array.isArray(v) ? (v.length ? v.map(show).join(", ") : "none") : Object.entries(v).map(([k, x]) => k + " " + show(x)).join(", "))
      : EF.fmt(v));
    const ev = Object.entries(a.evidence).filter(([k]) => k !== "flags").map(([k, v]) => [k.replace(/_/g, " "), show(v)]);
    const reruns = a.reruns.map((r) => "seed " + r.seed + ": " + (r.ok ? EF.fmt(r.metrics[ov.objective]) : "failed"));
    const card = EF.el("div", { class: "card approval", "data-candidate": a.candidate },
      EF.el("h3", {}, EF.el("a", { href: "/run/" + encodeURIComponent(RUN) + "/candidate/" + a.candidate, text: "#" + a.candidate }),
        " ", EF.el("span", { class: "badge", text: a.state })),
      EF.kv([
        [ov.objective, EF.fmt(a.figures.score)],
        ...ov.hidden_metrics.map((m) => [m.kind + " " + m.name, EF.fmt(a.figures.hidden[m.name])]),
        ["flags", a.flags.length ? a.flags.join(", ") : "none"],
        ["re-runs", reruns.length ? reruns.join("; ") : "none"],
        ...ev,
      ]));
    if (a.state === "pending") {
      card.append(EF.el("div", { class: "actions" },
        EF.el("button", { type: "button", class: "ok", "data-action": "approve", "data-candidate": a.candidate, text: "Approve", onclick: act }),
        EF.el("button", { type: "button", class: "danger", "data-action": "reject", "data-candidate": a.candidate, text: "Reject", onclick: act })));
    }
    box.append(card);
  }
  const decided = ov.approvals.filter((a) => !(a.state === "pending" || a.state === "confirming"));
  if (decided.length) {
    box.append(EF.el("h3", { text: "Decided" }), EF.table(["candidate", "state", "who", "reason", "when"],
      decided.slice(-20).reverse().map((a) => [candLink(a.candidate), a.state, a.who || "–", a.why || "–", EF.when(a.decided_at)])));
  }
  const history = ov.champion_history;
  const current = history.length ? history[history.length - 1].candidate : null;
  const rows = history.slice().reverse().map((m) => [
    String(m.seq), candLink(m.candidate), m.action, m.reason || "–", EF.when(m.at),
    m.candidate !== current
      ? EF.el("button", { type: "button", "data-action": "rollback", "data-candidate": m.candidate, text: "Roll back to #" + m.candidate, onclick: act })
      : EF.el("span", { class: "badge ok", text: "current" }),
  ]);
  EF.clear(document.getElementById("champions")).append(EF.table(["seq", "candidate", "move", "reason", "when", ""], rows));
}

function candLink(id) {
  return EF.el("a", { href: "/run/" + encodeURIComponent(RUN) + "/candidate/" + id, text: "#" + id });
}

function renderCandidates(rows, ov) {
  const newest = rows.slice(-25).reverse();
  EF.clear(document.getElementById("candidates")).append(EF.table(
    ["candidate", "parent", "status", "proposer", "objective", ...ov.hidden_metrics.map((m) => m.name + " (" + m.kind + ")"), "flags"],
    newest.map((r) => [candLink(r.id), r.parent ? "#" + r.parent : "–",
      EF.el("span", { class: "st st-" + r.status, text: r.status }), r.proposer, EF.fmt(r.score),
      ...ov.hidden_metrics.map((m) => EF.fmt(r.hidden[m.name])),
      r.flags.length ? EF.el("span", { class: "badge warn", text: r.flags.join(", ") }) : ""])));
  const table = document.querySelector("#candidates table");
  table.id = "candidates-table";
}

function renderAudit(audit) {
  const s = document.getElementById("audit-status");
  s.textContent = audit.ok ? "verified: " + audit.entries_total + " entries, chain intact" : "TAMPERED: " + audit.problems.join("; ");
  s.className = audit.ok ? "badge ok" : "badge bad";
  const rows = audit.entries.slice(-30).reverse().map((e) => [String(e.seq), EF.when(e.at), e.event,
    Object.entries(e.data).map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join(" ").slice(0, 300)]);
  const t = EF.table(["seq", "when", "event", "data"], rows);
  t.id = "audit-table";
  EF.clear(document.getElementById("audit")).append(t);
}

async function act(ev) {
  const button = ev.currentTarget;
  const action = button.dataset.action;
  const reason = document.getElementById("reason").value.trim();
  const msg = document.getElementById("message");
  if (!reason) { msg.textContent = action + " needs a reason (it is recorded in the audit trail)"; msg.className = "message bad"; return; }
  button.disabled = true;
  msg.textContent = action + " #" + button.dataset.candidate + "…";
  const res = await EF.post(BASE + "/" + action, {
    candidate: Number(button.dataset.candidate), reason, who: document.getElementById("who").value.trim(),
  });
  msg.textContent = res.message;
  msg.className = "message " + (res.ok ? "ok" : "bad");
  button.disabled = false;
  await tick();
}

let stopArmed = false;
async function stopRun() {
  const b = document.getElementById("stop");
  const msg = document.getElementById("message");
  if (!stopArmed) { stopArmed = true; b.textContent = "Click again to stop"; setTimeout(() => { stopArmed = false; b.textContent = "Stop run"; }, 4000); return; }
  stopArmed = false;
  b.disabled = true;
  msg.textContent = "stopping…";
  const res = await EF.post(BASE + "/stop", {});
  msg.textContent = res.message;
  msg.className = "message " + (res.ok ? "ok" : "bad");
  b.textContent = "Stop run";
  b.disabled = false;
  await tick();
}

function render() {
  const ov = store.overview;
  const rows = Array.from(store.rows.values());
  renderTiles(ov, rows);
  renderApprovals(ov);
  renderCandidates(rows, ov);
  renderAudit(ov.audit);
  const champions = new Set(ov.champion_history.map((m) => m.candidate));
  const current = ov.champion ? ov.champion.id : null;
  const open = (id) => { location.href = "/run/" + encodeURIComponent(RUN) + "/candidate/" + id; };
  EFCharts.score(document.getElementById("score-chart"), document.getElementById("score-tip"), rows,
    { maximize: ov.direction !== "minimize", colourOf, champions, current, onclick: open,
      objective: ov.objective, heldout: ov.heldout_metric, championLine: ov.champion_line });
  EFCharts.lineage(document.getElementById("lineage"), document.getElementById("lineage-tip"), rows,
    { colourOf, champions, current, onclick: open });
  const legend = EF.clear(document.getElementById("legend"));
  for (const p of store.proposers) {
    const dot = EF.el("i");
    dot.style.background = colourOf(p);  // CSSOM, which the page's CSP allows (style attributes it does not)
    legend.append(EF.el("span", { class: "key" }, dot, p));
  }
  legend.append(EF.el("span", { class: "key" }, EF.el("i", { class: "fail" }), "failed"),
    EF.el("span", { class: "key" }, EF.el("i", { class: "flag" }), "flagged"),
    EF.el("span", { class: "key" }, EF.el("i", { class: "line" }), "champion " + ov.objective),
    EF.el("span", { class: "key" }, EF.el("i", { class: "dash" }), "its " + heldoutKind(ov) + " " + ov.heldout_metric),
    EF.el("span", { class: "key" }, EF.el("i", { class: "raw" }), "best raw evaluation (before confirmation)"));
}

function heldoutKind(ov) {
  const m = ov.hidden_metrics.find((x) => x.name === ov.heldout_metric);
  return m ? m.kind : "held-out";
}

async function tick() {
  try {
    const [points, ov] = await Promise.all([EF.get(BASE + "/points?since=" + store.stable), EF.get(BASE + "/overview")]);
    mergePoints(points);
    store.overview = ov;
    render();
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    if (!document.body.dataset.ready) {
      document.body.dataset.ready = "1";
      window.evoforgeReadyMs = performance.now();
    }
  } catch (e) {
    document.getElementById("updated").textContent = "connection lost: " + e.message;
  }
}

async function importances() {
  // fANOVA over the run's scored candidates: refreshed every 30 s (a forest per call)
  try {
    const imp = await EF.get(BASE + "/importances");
    const box = EF.clear(document.getElementById("importances"));
    document.getElementById("importances-note").textContent = imp.importances.length
      ? "share of the variance of " + imp.objective + " over " + imp.trials + " scored candidates (Optuna's fANOVA)"
      : "";
    if (!imp.importances.length) {
      box.append(EF.el("p", { class: "muted", text: "no importances yet: " + imp.why_none }));
      return;
    }
    box.append(EF.table(["parameter", "importance", ""], imp.importances.map((p) => {
      const bar = EF.el("span", { class: "importance-bar" });
      bar.style.width = Math.round(200 * p.importance) + "px";  // CSSOM: allowed by the page's CSP
      return [p.name, p.importance.toFixed(3), bar];
    })));
  } catch (e) {
    document.getElementById("importances-note").textContent = "unavailable: " + e.message;
  }
}

document.getElementById("stop").addEventListener("click", stopRun);
importances();
setInterval(() => { if (!document.hidden) importances(); }, 30000);
window.evoforgeLoadedAt = Date.now();  // tests check that live updates never reload the page
tick();
setInterval(() => { if (store.overview && store.overview.state !== "running" && document.hidden) return; tick(); }, POLL_MS);
window.addEventListener("resize", () => { if (store.overview) render(); });
