// Shared helpers. Candidate text is hostile: it only ever reaches the page through
// textContent (el() below), never as markup.
"use strict";

const EF = {};

EF.el = function (tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = String(v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
};

EF.clear = function (node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
};

EF.token = function () {
  const m = document.cookie.match(/(?:^|;\s*)evoforge_token=([^;]+)/);
  return m ? m[1] : "";
};

EF.get = async function (path) {
  const r = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
};

EF.post = async function (path, body) {
  const r = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Evoforge-Token": EF.token() },
    body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({ ok: false, message: "HTTP " + r.status }));
  return data;
};

EF.fmt = function (v, digits) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  return v.toPrecision(digits || 4);
};

// Every declared hidden metric with its kind: "held-out acc 0.91 · gate auc 0.88".
EF.hidden = function (metrics, values, digits) {
  return metrics.map((m) => m.kind + " " + m.name + " " + EF.fmt(values[m.name], digits)).join(" · ");
};

EF.duration = function (s) {
  s = Math.max(0, Math.round(s || 0));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + "h " : "") + (h || m ? m + "m " : "") + sec + "s";
};

EF.when = function (t) {
  return t ? new Date(t * 1000).toLocaleString() : "–";
};

// A run page's address is /run/NAME[/candidate/ID].
EF.route = function () {
  const parts = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  return { run: parts[1] || "", candidate: parts[3] ? Number(parts[3]) : null };
};

EF.palette = ["#2563eb", "#16a34a", "#9333ea", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];

EF.table = function (headers, rows) {
  const head = EF.el("tr", {}, ...headers.map((h) => EF.el("th", { text: h })));
  const body = rows.map((r) => EF.el("tr", {}, ...r.map((c) => EF.el("td", {}, c))));
  return EF.el("table", {}, EF.el("thead", {}, head), EF.el("tbody", {}, ...body));
};

EF.kv = function (pairs) {
  const dl = EF.el("dl", { class: "kv" });
  for (const [k, v] of pairs) dl.append(EF.el("dt", { text: k }), EF.el("dd", {}, v));
  return dl;
};
