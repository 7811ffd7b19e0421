"use strict";

async function refresh() {
  const data = await EF.get("/api/runs");
  const stream = EF.clear(document.getElementById("stream"));
  if (data.stream) {  // the experiment watches a stream (evoforge watch): its page first
    const s = data.stream;
    stream.append(EF.el("h2", {}, EF.el("a", { href: "/stream", id: "stream-link", text: "Stream" }),
      " ", EF.el("span", { class: "state", text: s.state })),
      EF.el("p", { class: "muted", text: s.batches + " batches · champion " + s.champion }),
      s.pending_approvals ? EF.el("span", { class: "badge warn", text: s.pending_approvals + " round(s) waiting for approval" }) : "");
  }
  const box = EF.clear(document.getElementById("runs"));
  if (!data.runs.length) {
    box.append(EF.el("p", { class: "muted", text: "No runs yet: they appear here as they start." }));
  } else {
    const rows = data.runs.map((r) => [
      EF.el("a", { href: "/run/" + encodeURIComponent(r.name), text: r.name }),
      EF.el("span", { class: "state state-" + r.state, text: r.state }),
      r.evaluated + (r.budget ? " / " + r.budget : ""),
      r.proposer,
      r.elapsed_s ? (r.elapsed_s < 120 ? r.elapsed_s.toFixed(0) + " s" : (r.elapsed_s / 60).toFixed(1) + " min") : "–",
      r.champion ? "#" + r.champion.id : "–",
      r.champion ? r.objective + " " + EF.fmt(r.champion.score) : "–",
      r.champion ? EF.hidden(r.hidden_metrics, r.champion.hidden) || "–" : "–",
      r.pending_approvals ? EF.el("span", { class: "badge warn", text: r.pending_approvals + " waiting" }) : "",
      EF.when(r.started_at),
    ]);
    box.append(EF.table(["run", "state", "evaluated", "proposer", "wall time", "champion", "objective", "hidden metrics", "approvals", "started"], rows));
  }
  document.body.dataset.ready = "1";
}

refresh();
setInterval(refresh, 3000);
