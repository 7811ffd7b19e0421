// One candidate: all text from the archive is shown with textContent only.
"use strict";

function diffInto(pre, text) {
  EF.clear(pre);
  if (!text) { pre.textContent = "(no change)"; return; }
  for (const line of text.split("\n")) {
    let cls = "";
    if (line.startsWith("+++") || line.startsWith("---")) cls = "file";
    else if (line.startsWith("+")) cls = "add";
    else if (line.startsWith("-")) cls = "del";
    else if (line.startsWith("@@")) cls = "hunk";
    pre.append(EF.el("span", { class: cls, text: line + "\n" }));
  }
}

async function load() {
  const { run, candidate } = EF.route();
  const c = await EF.get("/api/run/" + encodeURIComponent(run) + "/candidate/" + candidate);
  const runLink = document.getElementById("run-link");
  runLink.textContent = run;
  runLink.href = "/run/" + encodeURIComponent(run);
  document.getElementById("crumb").textContent = "#" + c.id;
  document.title = "evoforge · #" + c.id;
  const st = document.getElementById("status");
  st.textContent = c.status + (c.is_champion ? " · champion" : "");
  st.className = "state st-" + c.status;
  document.getElementById("title").textContent = "Candidate #" + c.id;
  const link = (id) => EF.el("a", { href: "/run/" + encodeURIComponent(run) + "/candidate/" + id, text: "#" + id });
  const links = (ids) => { if (!ids.length) return "–"; const s = EF.el("span"); ids.forEach((id, i) => { if (i) s.append(", "); s.append(link(id)); }); return s; };
  const pairs = [
    ["parents", links(c.parents)], ["children", links(c.children.slice(0, 50))],
    ["proposer", c.proposer + (c.operator ? " / " + c.operator : "")], ["generation", String(c.generation)],
    ["island", String(c.island)],
  ];
  for (const [k, v] of Object.entries(c.metrics)) pairs.push([k + (k === c.objective ? " (objective)" : ""), EF.fmt(v, 6)]);
  const kinds = Object.fromEntries(c.hidden_metrics.map((m) => [m.name, m.kind]));
  for (const [k, v] of Object.entries(c.heldout)) pairs.push([k + " (" + (kinds[k] || "held-out") + ")", EF.fmt(v, 6)]);
  pairs.push(["flags", c.flags.length ? EF.el("span", { class: "badge warn", text: c.flags.join(", ") }) : "none"]);
  pairs.push(["wall · cpu", c.wall_s.toFixed(2) + " s · " + c.cpu_s.toFixed(2) + " s"]);
  pairs.push(["max memory", (c.max_rss_kb / 1024).toFixed(0) + " MB"]);
  pairs.push(["exit code", c.exit_code === null ? "–" : String(c.exit_code)]);
  pairs.push(["attempts", String(c.attempts)]);
  if (c.note) pairs.push(["note", c.note]);
  if (c.llm.model) pairs.push(["LLM", c.llm.model + " · " + (c.llm.tokens_in || 0) + " in, " + (c.llm.tokens_out || 0) + " out · cost " + EF.fmt(c.llm.cost || 0)]);
  if (c.fallback) pairs.push(["LLM fallback", c.fallback]);
  for (const r of c.reruns) pairs.push(["re-run seed " + r.seed, r.ok ? [EF.fmt(r.metrics[c.objective], 6), EF.hidden(c.hidden_metrics, r.heldout, 6)].filter(Boolean).join(" · ") : "failed: " + r.failure]);
  if (c.approval) pairs.push(["approval", c.approval.state + (c.approval.why ? ": " + c.approval.why : "")]);
  for (const m of c.champion_moves) pairs.push(["champion move " + m.seq, m.action + " · " + EF.when(m.at) + " · " + m.reason]);
  document.getElementById("summary").append(EF.kv(pairs));
  if (c.failure) { document.getElementById("failure-panel").hidden = false; document.getElementById("failure").textContent = c.failure; }
  diffInto(document.getElementById("diff-parent"), c.diff_parent);
  diffInto(document.getElementById("diff-seed"), c.diff_seed);
  const code = document.getElementById("code");
  for (const [path, text] of Object.entries(c.code).sort()) {
    code.append(EF.el("h3", { text: path }), EF.el("pre", { class: "code", text: text }));
  }
  document.getElementById("stdout").textContent = c.stdout_tail || "(empty)";
  document.getElementById("stderr").textContent = c.stderr_tail || "(empty)";
  if (c.prompt !== undefined || c.response !== undefined) {
    document.getElementById("llm-panel").hidden = false;
    document.getElementById("prompt").textContent = c.prompt || "";
    document.getElementById("response").textContent = c.response || "";
  }
  document.body.dataset.ready = "1";
}

load().catch((e) => { document.getElementById("title").textContent = "Could not load: " + e.message; });
